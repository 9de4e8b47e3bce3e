#pragma once
// ptqbench subcommands. Each takes the arguments after its name and returns the exit
// status; ptq::Error and UsageError propagate to main(), which prints them and exits 1/2.

#include <set>
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
int runMakeTasks(const std::vector<std::string>& args);
int runZeroShot(const std::vector<std::string>& args);
int runSweepCommand(const std::vector<std::string>& args);
int runRunsCommand(const std::vector<std::string>& args);
int runMerge(const std::vector<std::string>& args);
int runList(const std::vector<std::string>& args);

// Removes the arguments that are not options (nor the value of one of valueOptions) from
// argv and returns them in order; "-o" becomes "--out".
std::vector<std::string> takePositionals(std::vector<std::string>& argv,
                                         const std::set<std::string>& valueOptions);

} // namespace ptq::cli
