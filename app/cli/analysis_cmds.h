#pragma once
// ptqbench pareto and ptqbench export: read the results store, print Pareto fronts and the
// budget / iso-size queries, or write run and per-layer tables as CSV, JSON or LaTeX.

#include <string>
#include <vector>

namespace ptq::cli {

int runPareto(const std::vector<std::string>& args);
int runExport(const std::vector<std::string>& args);

} // namespace ptq::cli
