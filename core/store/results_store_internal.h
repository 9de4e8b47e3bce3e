#pragma once
// Internals shared by the files of ResultsStore (results_store*.cpp): how errors name a run.
// Not part of the public API.

#include <cstdint>
#include <string>

namespace ptq::store {

inline std::string runObject(int64_t id)
{
    return "run " + std::to_string(id);
}

} // namespace ptq::store
