# Shared build settings for every PTQ Workbench target.
add_library(ptq_build_flags INTERFACE)
add_library(Ptq::build_flags ALIAS ptq_build_flags)
target_compile_options(ptq_build_flags INTERFACE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wno-unused-parameter>)
if(PTQ_SANITIZE)
    target_compile_options(ptq_build_flags INTERFACE
        -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(ptq_build_flags INTERFACE -fsanitize=address,undefined)
endif()

# ptq_add_test(name SOURCES a.cpp ... [LIBS lib ...] [LABELS l ...] [QT])
# One executable per tested unit; GoogleTest unless QT is given (Qt Test).
function(ptq_add_test name)
    cmake_parse_arguments(ARG "QT" "" "SOURCES;LIBS;LABELS" ${ARGN})
    add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE Ptq::build_flags ${ARG_LIBS})
    target_compile_definitions(${name} PRIVATE
        PTQ_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
        PTQ_BINARY_DIR="${PROJECT_BINARY_DIR}")
    if(ARG_QT)
        target_link_libraries(${name} PRIVATE Qt6::Test)
        set_target_properties(${name} PROPERTIES AUTOMOC ON)
        add_test(NAME ${name} COMMAND ${name})
        set_tests_properties(${name} PROPERTIES ENVIRONMENT "QT_QPA_PLATFORM=offscreen")
    else()
        target_link_libraries(${name} PRIVATE GTest::gtest GTest::gtest_main)
        add_test(NAME ${name} COMMAND ${name})
    endif()
    if(ARG_LABELS)
        set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
    endif()
endfunction()
