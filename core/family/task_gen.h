#pragma once
// Bundled zero-shot tasks generated from held-out documents, so the bundled models can be
// evaluated on text they never trained on. Only documents that assignSplit() puts in
// Split::Test are used: the caller passes the test split, and any other document passed by
// mistake is ignored rather than leaked into a task.
//
// Two four-way multiple-choice tasks, both written in the "generic" layout of
// eval/zeroshot.h (context, choices, gold) plus "doc_id" and "source":
//  - last-word ("lambada" style): a passage of consecutive sentences whose last word is a
//    plain alphabetic word of three or more letters; the context is the passage without
//    that word, the choices are the true word and three distractors from the same
//    document's vocabulary in the same frequency class. Real LAMBADA (Paperno et al. 2016)
//    is open-ended: the model must generate the word. The multiple-choice form keeps one
//    scorer (log-likelihood of each choice, as for HellaSwag) and gives a well-defined
//    chance level of 25%, which matters for small models that rarely produce the exact word.
//  - next-sentence ("hellaswag" style): the context is k sentences of a document; the
//    choices are the true next sentence and three sentences of similar length from other
//    test documents.
// The gold position is drawn uniformly. Same documents + same seed give byte-identical files:
// the generator draws from std::mt19937_64 with its own bounded-integer and shuffle code
// (the standard distributions differ between standard libraries). Torch-free.

#include "family/corpus.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ptq::data {

struct TaskGenConfig {
    uint64_t seed = 20240601;
    int64_t maxExamples = 1000; // per task; 0 = all candidates
    int64_t numChoices = 4;
    // The split rule the documents were split with (writeSplits' defaults).
    double validFrac = 0.05;
    double testFrac = 0.05;
    // Last-word passages: up to maxSentences consecutive sentences (leading ones dropped
    // while the passage has more than maxWords words), and at least minWords words.
    // LAMBADA's passages average about 75 words.
    int64_t minSentences = 3;
    int64_t maxSentences = 6;
    int64_t minWords = 40;
    int64_t maxWords = 150;
    // Next-sentence: context sentences, and the word-count range of every choice sentence.
    int64_t minContextSentences = 2;
    int64_t maxContextSentences = 4;
    int64_t minChoiceWords = 6;
    int64_t maxChoiceWords = 60;
};

struct GeneratedExample {
    std::string context;
    std::vector<std::string> choices;
    int64_t gold = 0;
    std::string docId;
    std::string source; // the document's corpus ("sotu", "moby-dick", "austen")
};

std::vector<GeneratedExample> generateLastWordTask(const std::vector<Document>& docs,
                                                   const TaskGenConfig& config = {});
std::vector<GeneratedExample> generateNextSentenceTask(const std::vector<Document>& docs,
                                                       const TaskGenConfig& config = {});

// One JSON object per line: {"context", "choices", "gold", "doc_id", "source"}.
std::string taskJsonl(const std::vector<GeneratedExample>& examples);
// Writes taskJsonl() to path; throws ptq::Error when the file cannot be written.
void writeTaskJsonl(const std::string& path, const std::vector<GeneratedExample>& examples);

// Sentences of one paragraph: split after '.', '!' or '?' (and closing quotes or brackets)
// followed by a space, except after common abbreviations and single-letter initials.
std::vector<std::string> splitSentences(std::string_view paragraph);

} // namespace ptq::data
