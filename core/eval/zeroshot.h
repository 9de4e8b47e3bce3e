#pragma once
// Zero-shot multiple-choice evaluation the way lm-evaluation-harness scores it
// (EleutherAI, lm_eval/api/task.py and lm_eval/models/huggingface.py, v0.4):
//  - each choice becomes one (context, continuation) request, continuation = delimiter + choice;
//  - trailing whitespace of the context moves to the front of the continuation;
//  - context tokens = encode(context), whole = encode(context + continuation), and the
//    continuation tokens are whole[len(context tokens):] (the tokenizer adds BOS as its
//    config says, so an empty context still leaves BOS as the prefix);
//  - log-likelihood = sum over continuation tokens of log p(token | everything before it),
//    the sequence truncated from the left to maxLength + 1 tokens before the last is dropped;
//  - acc: argmax of the summed log-likelihoods == gold; acc_norm: argmax of the
//    log-likelihood divided by the choice's length (see LengthNormalization);
//  - standard errors sqrt(p (1 - p) / (n - 1)), lm-eval's mean_stderr for 0/1 samples.
// Task files are local JSONL, one example per line, in the layout of a common dataset
// (TaskSpec presets) or a generic context/choices/gold layout.

#include "util/progress.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ptq {

class Model;
class Tokenizer;

// How a JSONL line maps to an example. `layout` selects the parser: "generic" reads the
// three named fields (dotted paths such as "choices.text" reach into objects); the presets
// read the fields of their dataset and build lm-eval's prompt:
//   piqa       goal, sol1, sol2, label          "Question: {goal}\nAnswer:"
//   arc        question, choices.text[], choices.label[], answerKey
//                                               "Question: {question}\nAnswer:"
//   hellaswag  ctx (or ctx_a + ctx_b), activity_label (optional), endings[], label
//                                               lm-eval's preprocess of "{label}: {ctx}"
//   winogrande sentence with one "_", option1, option2, answer "1"/"2": the choices are the
//              option-filled prefixes, the shared continuation is the text after the blank
//              (lm-eval's partial evaluation)
//   boolq      passage, question, answer (bool) "{passage}\nQuestion: {question}?\nAnswer:"
//              choices "no", "yes"
struct TaskSpec {
    std::string name;
    std::string layout = "generic";
    std::string contextField = "context";
    std::string choicesField = "choices";
    std::string goldField = "gold";
    std::string targetDelimiter = " ";
};

// The preset of one layout (name = layout); throws ptq::Error for an unknown one.
TaskSpec taskPreset(const std::string& layout);
const std::vector<std::string>& taskPresetNames();

// One (context, continuation) pair to score; continuation includes the delimiter.
struct ChoiceRequest {
    std::string context;
    std::string continuation;
};

struct TaskExample {
    int64_t line = 0;                     // 1-based line of the task file (0 when built in code)
    std::vector<ChoiceRequest> requests;  // one per choice
    std::vector<std::string> choiceTexts; // what lm-eval measures for acc_norm (doc_to_choice)
    int64_t gold = 0;
};

struct Task {
    std::string name;
    std::string path;
    std::vector<TaskExample> examples;
};

// Reads a JSONL task file. Throws ptq::Error naming the file and "line N" for invalid JSON,
// non-UTF-8 bytes, a missing field, a field of the wrong type, an empty choice list or
// choice string, and a gold index out of range; and for a file with no examples.
Task loadTask(const std::string& path, const TaskSpec& spec);

// Builds one example from context, choices and gold the generic way (delimiter + choice).
TaskExample makeExample(const std::string& context, const std::vector<std::string>& choices,
                        int64_t gold, const std::string& targetDelimiter = " ");

// lm-eval divides by len(choice) of the Python string, i.e. Unicode code points of the
// choice without the delimiter; the byte-length variant counts the UTF-8 bytes of the whole
// continuation (delimiter included) instead.
enum class LengthNormalization { ChoiceCodePoints, ContinuationBytes };

struct ZeroShotConfig {
    int64_t maxLength = 0; // tokens the model sees at most; 0 = max_position_embeddings
    int64_t batchSize = 0; // sequences per forward pass; 0 = as many as maxHiddenBytes allows
    uint64_t maxHiddenBytes = 1ull << 30; // (B,T,C) fp32 hidden-state budget of one batch
    int64_t maxExamples = 0;              // first N examples (0 = all)
    LengthNormalization normalization = LengthNormalization::ChoiceCodePoints;
};

struct ZeroShotResult {
    std::string task;
    int64_t n = 0;
    double acc = 0, accStderr = 0;
    double accNorm = 0, accNormStderr = 0;
    int64_t requests = 0;          // (example, choice) pairs scored
    int64_t tokensForwarded = 0;   // non-padding tokens through the model
    int64_t truncatedRequests = 0; // requests cut from the left to maxLength
    double seconds = 0;
    std::vector<std::vector<double>> logLikelihoods; // [example][choice]
    std::vector<int64_t> predictions;                // argmax of the log-likelihoods
    std::vector<int64_t> predictionsNorm;            // argmax of the normalised ones
};

// Log-likelihood of every request of every example, [example][choice]. Requests are sorted
// by length and run block by block in right-padded batches; the progress callback is called
// per block of every batch and may cancel (ptq::Cancelled).
std::vector<std::vector<double>> taskLogLikelihoods(const Model& model, const Tokenizer& tokenizer,
                                                    const std::vector<TaskExample>& examples,
                                                    const ZeroShotConfig& config = {},
                                                    const ProgressFn& progress = {});

// One example's choices, [choice].
std::vector<double> choiceLogLikelihoods(const Model& model, const Tokenizer& tokenizer,
                                         const TaskExample& example,
                                         const ZeroShotConfig& config = {});

// The continuation tokens of one request as lm-eval forms them (context tokens, then the
// tail of the whole encoding); exposed so tests and analyses can inspect them.
struct EncodedRequest {
    std::vector<int32_t> context;
    std::vector<int32_t> continuation;
};
EncodedRequest encodeRequest(const Tokenizer& tokenizer, const ChoiceRequest& request);

// Length used by acc_norm for choice c of an example.
double normalizationLength(const TaskExample& example, std::size_t choice,
                           LengthNormalization normalization);

// acc and acc_norm from given log-likelihoods (shared by evaluateZeroShot and analyses).
ZeroShotResult scoreLogLikelihoods(const std::vector<TaskExample>& examples,
                                   std::vector<std::vector<double>> logLikelihoods,
                                   LengthNormalization normalization);

ZeroShotResult evaluateZeroShot(const Model& model, const Tokenizer& tokenizer, const Task& task,
                                const ZeroShotConfig& config = {}, const ProgressFn& progress = {});

} // namespace ptq
