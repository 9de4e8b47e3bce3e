#pragma once
// Whole-file reads with the project's error convention: every failure is a ptq::Error that
// names the file, the object read from it and the problem.

#include <nlohmann/json.hpp>

#include <string>

namespace ptq {

// The file's bytes. Throws ptq::Error(path, object, "cannot open it for reading") or
// (path, object, "read error").
std::string readFileBytes(const std::string& path, const std::string& object = "");

// The file parsed as JSON. Throws as readFileBytes does, or
// ptq::Error(path, object, "not valid JSON: <the parser's message>").
nlohmann::json readJsonFile(const std::string& path, const std::string& object = "");

} // namespace ptq
