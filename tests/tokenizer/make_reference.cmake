# Writes ${NPM_DIR}/reference_ids.json: token ids from the tokenizers' own JavaScript
# implementation, which tests/core/tst_tokenizer.cpp compares against.
# Run by ctest (fixture tokenizer_reference_ids) as
#   cmake -DNPM_DIR=... -DSHARED_DIR=... -DSCRIPT_DIR=... -P make_reference.cmake
# Without node or without the WikiText-2 test split it writes nothing and succeeds; the C++
# test then skips with a message. A failing npm or node is an error.
cmake_minimum_required(VERSION 3.16)

foreach(var NPM_DIR SHARED_DIR SCRIPT_DIR)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "make_reference.cmake: -D${var}=... is required")
    endif()
endforeach()

set(wiki "${SHARED_DIR}/data/wikitext-2-raw/wiki.test.raw")
set(out "${NPM_DIR}/reference_ids.json")
find_program(NODE_EXE NAMES node nodejs)
find_program(NPM_EXE NAMES npm)

if(NOT NODE_EXE OR NOT NPM_EXE)
    message(STATUS "node/npm not found: no reference ids, tst_tokenizer will skip them")
    file(REMOVE "${out}")
    return()
endif()
if(NOT EXISTS "${wiki}")
    message(STATUS "${wiki} not found: no reference ids, tst_tokenizer will skip them")
    file(REMOVE "${out}")
    return()
endif()

file(MAKE_DIRECTORY "${NPM_DIR}")
foreach(f package.json package-lock.json)
    configure_file("${SCRIPT_DIR}/${f}" "${NPM_DIR}/${f}" COPYONLY)
endforeach()

# Reinstall when the lock file changed since the last install.
file(SHA256 "${SCRIPT_DIR}/package-lock.json" lock_hash)
set(stamp "${NPM_DIR}/node_modules/.ptq-lock-sha256")
set(installed_hash "")
if(EXISTS "${stamp}")
    file(READ "${stamp}" installed_hash)
endif()
if(NOT EXISTS "${NPM_DIR}/node_modules" OR NOT installed_hash STREQUAL lock_hash)
    message(STATUS "npm ci in ${NPM_DIR}")
    execute_process(COMMAND "${NPM_EXE}" ci --no-audit --no-fund
                    WORKING_DIRECTORY "${NPM_DIR}"
                    RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "npm ci failed in ${NPM_DIR} (exit ${rc})")
    endif()
    file(WRITE "${stamp}" "${lock_hash}")
endif()

execute_process(COMMAND "${NODE_EXE}" "${SCRIPT_DIR}/reference.js" "${NPM_DIR}" "${wiki}"
                        "${SCRIPT_DIR}/hard_cases.txt" "${out}.tmp"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    file(REMOVE "${out}.tmp")
    message(FATAL_ERROR "node reference.js failed (exit ${rc})")
endif()
file(RENAME "${out}.tmp" "${out}")
