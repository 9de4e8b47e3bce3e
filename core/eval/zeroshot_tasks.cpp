// Zero-shot task files: the JSONL parsers of the generic layout and the dataset presets,
// and loadTask. The scoring: zeroshot.cpp.

#include "eval/zeroshot.h"

#include "eval/zeroshot_internal.h"
#include "text/unicode.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace ptq {

namespace {

using Json = nlohmann::json;
using detail::isSpace;

std::string strip(const std::string& s)
{
    std::size_t b = 0, e = s.size();
    while (b < e && isSpace(s[b]))
        ++b;
    while (e > b && isSpace(s[e - 1]))
        --e;
    return s.substr(b, e - b);
}

// Where a JSONL line came from, for error messages.
struct LineRef {
    const std::string& path;
    int64_t line;
    [[noreturn]] void fail(const std::string& reason) const
    {
        throw Error(path, "line " + std::to_string(line), reason);
    }
};

// The value at a dotted path ("choices.text") of an object.
const Json& field(const Json& doc, const std::string& dotted, const LineRef& at)
{
    const Json* node = &doc;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = dotted.find('.', start);
        const std::string key = dotted.substr(start, dot == std::string::npos ? dot : dot - start);
        if (!node->is_object() || !node->contains(key))
            at.fail("missing field \"" + dotted + "\"");
        node = &(*node)[key];
        if (dot == std::string::npos)
            return *node;
        start = dot + 1;
    }
}

std::string stringField(const Json& doc, const std::string& name, const LineRef& at)
{
    const Json& v = field(doc, name, at);
    if (!v.is_string())
        at.fail("field \"" + name + "\" must be a string, got " + v.type_name());
    return v.get<std::string>();
}

std::vector<std::string> stringList(const Json& doc, const std::string& name, const LineRef& at)
{
    const Json& v = field(doc, name, at);
    if (!v.is_array())
        at.fail("field \"" + name + "\" must be a list of strings, got " + v.type_name());
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string())
            at.fail("element " + std::to_string(i) + " of \"" + name + "\" must be a string, got " +
                    v[i].type_name());
        out.push_back(v[i].get<std::string>());
    }
    return out;
}

int64_t intField(const Json& doc, const std::string& name, const LineRef& at)
{
    const Json& v = field(doc, name, at);
    if (!v.is_number_integer())
        at.fail("field \"" + name + "\" must be an integer, got " + v.type_name());
    return v.get<int64_t>();
}

// An integer given as a number or as a string of digits (HellaSwag's "label": "2").
int64_t intOrDigits(const Json& doc, const std::string& name, const LineRef& at)
{
    const Json& v = field(doc, name, at);
    if (v.is_number_integer())
        return v.get<int64_t>();
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (!s.empty() && s.size() < 10 &&
            std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return std::stoll(s);
        at.fail("field \"" + name + "\" must be an integer, got the string \"" + s + "\"");
    }
    at.fail("field \"" + name + "\" must be an integer, got " + v.type_name());
}

void checkChoices(const std::vector<std::string>& choices, int64_t gold, const LineRef& at)
{
    if (choices.empty())
        at.fail("the list of choices is empty");
    for (std::size_t i = 0; i < choices.size(); ++i)
        if (choices[i].empty())
            at.fail("choice " + std::to_string(i) + " is an empty string");
    if (gold < 0 || gold >= int64_t(choices.size()))
        at.fail("gold index " + std::to_string(gold) + " is out of range for " +
                std::to_string(choices.size()) + " choices");
}

TaskExample sharedContext(const std::string& context, const std::vector<std::string>& choices,
                          int64_t gold, const std::string& delimiter, const LineRef& at)
{
    checkChoices(choices, gold, at);
    TaskExample ex = makeExample(context, choices, gold, delimiter);
    ex.line = at.line;
    return ex;
}

TaskExample parseGeneric(const Json& d, const TaskSpec& s, const LineRef& at)
{
    return sharedContext(stringField(d, s.contextField, at), stringList(d, s.choicesField, at),
                         intField(d, s.goldField, at), s.targetDelimiter, at);
}

TaskExample parsePiqa(const Json& d, const TaskSpec& s, const LineRef& at)
{
    const std::string context = "Question: " + stringField(d, "goal", at) + "\nAnswer:";
    return sharedContext(context, {stringField(d, "sol1", at), stringField(d, "sol2", at)},
                         intField(d, "label", at), s.targetDelimiter, at);
}

TaskExample parseArc(const Json& d, const TaskSpec& s, const LineRef& at)
{
    const std::string context = "Question: " + stringField(d, "question", at) + "\nAnswer:";
    const auto texts = stringList(d, "choices.text", at);
    const auto labels = stringList(d, "choices.label", at);
    if (labels.size() != texts.size())
        at.fail("choices.label has " + std::to_string(labels.size()) + " entries, choices.text " +
                std::to_string(texts.size()));
    const std::string key = stringField(d, "answerKey", at);
    const auto it = std::find(labels.begin(), labels.end(), key);
    if (it == labels.end())
        at.fail("gold answerKey \"" + key + "\" is out of range: not among choices.label");
    return sharedContext(context, texts, it - labels.begin(), s.targetDelimiter, at);
}

// lm-eval's hellaswag preprocess: strip, " [title]" -> ". ", drop "[...]" spans, "  " -> " ".
std::string hellaswagPreprocess(const std::string& text)
{
    std::string s = strip(text), out;
    for (std::size_t p; (p = s.find(" [title]")) != std::string::npos;)
        s.replace(p, 8, ". ");
    for (std::size_t i = 0; i < s.size(); ++i) {
        const std::size_t close = s[i] == '[' ? s.find(']', i) : std::string::npos;
        if (close != std::string::npos)
            i = close;
        else
            out += s[i];
    }
    for (std::size_t p; (p = out.find("  ")) != std::string::npos;)
        out.replace(p, 2, " ");
    return out;
}

// Python's str.capitalize() on ASCII letters: first upper, the rest lower.
std::string capitalize(std::string s)
{
    for (std::size_t i = 0; i < s.size(); ++i)
        if (s[i] >= 'A' && s[i] <= 'Z' && i > 0)
            s[i] = char(s[i] - 'A' + 'a');
        else if (i == 0 && s[i] >= 'a' && s[i] <= 'z')
            s[i] = char(s[i] - 'a' + 'A');
    return s;
}

TaskExample parseHellaswag(const Json& d, const TaskSpec& s, const LineRef& at)
{
    std::string ctx;
    if (d.contains("ctx_a") && d.contains("ctx_b"))
        ctx = stringField(d, "ctx_a", at) + " " + capitalize(stringField(d, "ctx_b", at));
    else
        ctx = stringField(d, "ctx", at);
    if (d.contains("activity_label"))
        ctx = stringField(d, "activity_label", at) + ": " + ctx;
    std::vector<std::string> endings = stringList(d, "endings", at);
    for (auto& e : endings)
        e = hellaswagPreprocess(e);
    return sharedContext(hellaswagPreprocess(ctx), endings, intOrDigits(d, "label", at),
                         s.targetDelimiter, at);
}

// Partial evaluation (Sakaguchi et al. 2019; lm-eval's winogrande task): the option fills
// the blank in the context, and the model scores the same continuation after it.
TaskExample parseWinogrande(const Json& d, const TaskSpec& s, const LineRef& at)
{
    const std::string sentence = stringField(d, "sentence", at);
    const std::size_t blank = sentence.find('_');
    if (blank == std::string::npos)
        at.fail("field \"sentence\" has no \"_\" blank");
    const std::vector<std::string> options = {stringField(d, "option1", at),
                                              stringField(d, "option2", at)};
    const int64_t answer = intOrDigits(d, "answer", at);
    checkChoices(options, answer - 1, at);
    const std::string tail = strip(sentence.substr(blank + 1));
    if (tail.empty())
        at.fail("field \"sentence\" has no text after the blank to score");
    TaskExample ex;
    ex.line = at.line;
    ex.gold = answer - 1;
    for (const auto& option : options) {
        ex.requests.push_back({sentence.substr(0, blank) + option, s.targetDelimiter + tail});
        ex.choiceTexts.push_back(sentence.substr(0, blank) + option);
    }
    return ex;
}

TaskExample parseBoolq(const Json& d, const TaskSpec& s, const LineRef& at)
{
    const std::string context = stringField(d, "passage", at) +
                                "\nQuestion: " + stringField(d, "question", at) + "?\nAnswer:";
    const Json& answer = field(d, "answer", at);
    if (!answer.is_boolean())
        at.fail(std::string("field \"answer\" must be a boolean, got ") + answer.type_name());
    return sharedContext(context, {"no", "yes"}, answer.get<bool>() ? 1 : 0, s.targetDelimiter, at);
}

using Parser = TaskExample (*)(const Json&, const TaskSpec&, const LineRef&);

const std::vector<std::pair<std::string, Parser>>& parsers()
{
    static const std::vector<std::pair<std::string, Parser>> table = {
        {"generic", parseGeneric},
        {"piqa", parsePiqa},
        {"arc", parseArc},
        {"hellaswag", parseHellaswag},
        {"winogrande", parseWinogrande},
        {"boolq", parseBoolq},
    };
    return table;
}

Parser parserFor(const TaskSpec& spec)
{
    for (const auto& [name, parser] : parsers())
        if (name == spec.layout)
            return parser;
    throw Error("", "task layout \"" + spec.layout + "\"",
                "unknown; expected one of generic, piqa, arc, hellaswag, winogrande, boolq");
}

} // namespace

TaskSpec taskPreset(const std::string& layout)
{
    TaskSpec spec;
    spec.name = layout;
    spec.layout = layout;
    parserFor(spec);
    return spec;
}

const std::vector<std::string>& taskPresetNames()
{
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& entry : parsers())
            out.push_back(entry.first);
        return out;
    }();
    return names;
}

TaskExample makeExample(const std::string& context, const std::vector<std::string>& choices,
                        int64_t gold, const std::string& targetDelimiter)
{
    TaskExample ex;
    ex.gold = gold;
    for (const auto& choice : choices) {
        ex.requests.push_back({context, targetDelimiter + choice});
        ex.choiceTexts.push_back(choice);
    }
    return ex;
}

Task loadTask(const std::string& path, const TaskSpec& spec)
{
    const Parser parse = parserFor(spec);
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(path, "task file", "cannot open it for reading");
    Task task;
    task.name = spec.name.empty() ? spec.layout : spec.name;
    task.path = path;
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
        const LineRef at{path, number};
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (number == 1 && line.rfind("\xef\xbb\xbf", 0) == 0)
            line.erase(0, 3);
        if (const auto bad = text::firstInvalidUtf8(line))
            at.fail("invalid UTF-8 at byte " + std::to_string(*bad + 1) + " of the line");
        if (strip(line).empty())
            continue;
        Json doc;
        try {
            doc = Json::parse(line);
        } catch (const Json::exception& e) {
            at.fail(std::string("invalid JSON: ") + e.what());
        }
        if (!doc.is_object())
            at.fail(std::string("expected a JSON object, got ") + doc.type_name());
        task.examples.push_back(parse(doc, spec, at));
    }
    if (in.bad())
        throw Error(path, "task file", "read error");
    if (task.examples.empty())
        throw Error(path, "task file", "no examples: the file has no non-blank lines");
    return task;
}

} // namespace ptq
