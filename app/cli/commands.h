#pragma once
// ptqbench subcommands. Each takes the arguments after its name and returns the exit
// status; ptq::Error and UsageError propagate to main(), which prints them and exits 1/2.

#include <string>
#include <vector>

namespace ptq::cli {

int runInfo(const std::vector<std::string>& args);
int runEval(const std::vector<std::string>& args);
int runMakeDefault(const std::vector<std::string>& args);
int runDemo(const std::vector<std::string>& args);
int runTrain(const std::vector<std::string>& args);
int runTrainTokenizer(const std::vector<std::string>& args);
int runCorpus(const std::vector<std::string>& args);
int runQuantize(const std::vector<std::string>& args);

} // namespace ptq::cli
