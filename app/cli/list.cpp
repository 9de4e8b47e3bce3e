// ptqbench list: the engine's tables as they are compiled in: architectures and what they
// offer, weight quantizers and transforms with what they need and their relative cost, and
// the built-in strategies (the same table the GUI's strategy picker shows).

#include "cli/args.h"
#include "cli/commands.h"
#include "engine/job.h"
#include "quant/registry.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace ptq::cli {

namespace {

using json = nlohmann::json;

std::string shortFeature(ArchFeature f)
{
    const std::string name = archFeatureName(f);
    return name.substr(0, name.find(" ("));
}

std::string featureList(const std::vector<ArchFeature>& features)
{
    std::string out;
    for (ArchFeature f : features)
        out += (out.empty() ? "" : ", ") + shortFeature(f);
    return out.empty() ? "-" : out;
}

json featureJson(const std::vector<ArchFeature>& features)
{
    json out = json::array();
    for (ArchFeature f : features)
        out.push_back(shortFeature(f));
    return out;
}

json tablesJson()
{
    json out;
    for (const auto& a : architectures())
        out["architectures"].push_back({{"model_type", a.modelType},
                                        {"class", a.hfClass},
                                        {"offers", featureJson(a.features)},
                                        {"description", a.description}});
    for (const auto& m : weightQuantizers())
        out["weight_quantizers"].push_back({{"name", m.name},
                                            {"class", m.taxonomyClass},
                                            {"needs_hessian", m.needsHessian},
                                            {"relative_cost", m.relativeCost},
                                            {"needs", featureJson(m.needs)},
                                            {"description", m.description}});
    for (const auto& t : blockTransforms())
        out["transforms"].push_back({{"name", t.name},
                                     {"class", t.taxonomyClass},
                                     {"relative_cost", t.relativeCost},
                                     {"needs", featureJson(t.needs)},
                                     {"description", t.description}});
    for (const auto& s : strategyCatalog())
        out["strategies"].push_back({{"name", s.name},
                                     {"class", s.taxonomyClass},
                                     {"methods", s.methods},
                                     {"description", s.description}});
    return out;
}

void printTables()
{
    std::printf("Architectures (config.json model_type):\n");
    for (const auto& a : architectures())
        std::printf("  %-12s %-20s %s\n  %-12s offers: %s\n", a.modelType.c_str(),
                    a.hfClass.c_str(), a.description.c_str(), "", featureList(a.features).c_str());
    std::printf("\nWeight quantizers:\n");
    for (const auto& m : weightQuantizers())
        std::printf("  %-12s %-13s cost %4.1f  %s  needs: %s\n  %-12s %s\n", m.name.c_str(),
                    m.taxonomyClass.c_str(), m.relativeCost,
                    m.needsHessian ? "Hessian" : "no calibration statistics",
                    featureList(m.needs).c_str(), "", m.description.c_str());
    std::printf("\nTransforms (recipe steps before the weight quantizer):\n");
    for (const auto& t : blockTransforms())
        std::printf("  %-12s %-13s cost %4.1f  needs: %s\n  %-12s %s\n", t.name.c_str(),
                    t.taxonomyClass.c_str(), t.relativeCost, featureList(t.needs).c_str(), "",
                    t.description.c_str());
    std::printf("\nStrategies (built-in recipes; --recipe NAME):\n");
    for (const auto& s : strategyCatalog())
        std::printf("  %-18s %-13s %s\n", s.name.c_str(), s.taxonomyClass.c_str(),
                    s.description.c_str());
}

} // namespace

int runList(const std::vector<std::string>& args)
{
    Args a(args, {}, {"json"});
    if (a.flag("json"))
        std::cout << tablesJson().dump(2) << "\n";
    else
        printTables();
    return 0;
}

} // namespace ptq::cli
