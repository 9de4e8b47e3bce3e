// The object model of the R data reader: RObject's accessors, character vectors (factors
// included) and data-frame row counts.

#include "family/rdata.h"

#include "util/error.h"

#include <algorithm>
#include <cstdlib>

namespace ptq::rdata {

size_t RObject::length() const
{
    switch (type) {
    case RType::Logical:
    case RType::Integer:
        return integers.size();
    case RType::Real:
        return reals.size();
    case RType::String:
        return strings.size();
    case RType::List:
    case RType::PairList:
        return elements.size();
    default:
        return 0;
    }
}

const RObject* RObject::attribute(std::string_view name) const
{
    for (const auto& [key, value] : attributes) {
        if (key == name)
            return value.get();
    }
    return nullptr;
}

std::vector<std::string> RObject::names() const
{
    if (type == RType::PairList)
        return tags;
    std::vector<std::string> out;
    if (const RObject* n = attribute("names"); n && n->type == RType::String) {
        for (const auto& s : n->strings)
            out.push_back(s.value_or(""));
    }
    return out;
}

const RObject* RObject::element(std::string_view name) const
{
    const std::vector<std::string> keys = names();
    for (size_t i = 0; i < keys.size() && i < elements.size(); ++i) {
        if (keys[i] == name)
            return elements[i].get();
    }
    return nullptr;
}

bool RObject::inherits(std::string_view cls) const
{
    const RObject* c = attribute("class");
    if (!c || c->type != RType::String)
        return false;
    return std::any_of(c->strings.begin(), c->strings.end(),
                       [&](const auto& s) { return s && *s == cls; });
}

std::vector<std::optional<std::string>> characterVector(const RObject& obj, const std::string& file,
                                                        const std::string& object)
{
    if (obj.type == RType::String)
        return obj.strings;
    if (obj.type == RType::Integer && obj.inherits("factor")) {
        const RObject* levels = obj.attribute("levels");
        if (!levels || levels->type != RType::String)
            throw Error(file, object, "factor without character levels");
        std::vector<std::optional<std::string>> out;
        out.reserve(obj.integers.size());
        for (int32_t code : obj.integers) {
            if (code == kNaInteger) {
                out.emplace_back(std::nullopt);
            } else if (code < 1 || size_t(code) > levels->strings.size()) {
                throw Error(file, object,
                            "factor code " + std::to_string(code) + " outside its " +
                                std::to_string(levels->strings.size()) + " levels");
            } else {
                out.push_back(levels->strings[size_t(code - 1)]);
            }
        }
        return out;
    }
    throw Error(file, object, "not a character vector or factor");
}

size_t dataFrameRows(const RObject& obj, const std::string& file, const std::string& object)
{
    if (obj.type != RType::List || !obj.inherits("data.frame"))
        throw Error(file, object, "not a data frame");
    const RObject* rows = obj.attribute("row.names");
    if (!rows)
        throw Error(file, object, "data frame without row.names");
    // R stores automatic row names compactly as c(NA_integer_, -n).
    if (rows->type == RType::Integer && rows->integers.size() == 2 &&
        rows->integers[0] == kNaInteger)
        return size_t(std::abs(int64_t(rows->integers[1])));
    return rows->length();
}

} // namespace ptq::rdata
