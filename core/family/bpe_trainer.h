#pragma once
// Trains a byte-fallback BPE tokenizer in the SentencePiece / LLaMA-2 style:
//  - text is normalised like the LLaMA-2 tokenizer.json does it: ' ' becomes U+2581 ("▁")
//    and one "▁" is prepended to each added text;
//  - merges work on Unicode code points and never cross a word boundary: a word starts at
//    each "▁", and runs of '\n' form words of their own (the tokenizer applies the merges to
//    the whole text at once, and no learned pair can straddle these boundaries, so encoding
//    reproduces the training segmentation);
//  - the most frequent characters covering `characterCoverage` of the text become base
//    pieces; the rest are left to the <0xNN> byte-fallback tokens and never merge;
//  - each step merges the most frequent adjacent pair; ties go to the pair whose (left,
//    right) strings are smallest bytewise, so training is deterministic.
// Pair counts are updated incrementally: a merge revisits only the words that contain the
// pair. The result is a TokenizerSpec for writeSentencePieceTokenizer. Torch-free.

#include "text/tokenizer_writer.h"
#include "util/progress.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ptq {
class Tokenizer;
} // namespace ptq

namespace ptq::text {

struct BpeTrainerConfig {
    // Ids in the written tokenizer: <unk> <s> </s>, 256 byte tokens, base characters and
    // merged pieces (2k-8k for the bundled models; anything from 260 on is accepted).
    int vocabSize = 4096;
    double characterCoverage = 0.9995;
    int progressEvery = 100; // merges between progress reports
    bool addBos = true;
    bool addEos = false;
};

struct BpeTrainerResult {
    TokenizerSpec spec;        // pieces (base characters, then merge results) and ranked merges
    int vocabSize = 0;         // ids in the written tokenizer
    int baseCharacters = 0;    // code points that became pieces
    int droppedCharacters = 0; // distinct code points left to byte fallback
    int merges = 0;
    long long distinctWords = 0;
    long long textBytes = 0; // UTF-8 bytes of the added text, before normalisation
    // Tokens of the added text under the learned merges (byte fallback counted per byte):
    // encoding the same text with the written tokenizer gives exactly this many.
    long long trainingTokens = 0;
    double seconds = 0; // training time (counting words not included)
};

class BpeTrainer {
public:
    // Counts the words of one text (e.g. one document or one split file). Throws ptq::Error
    // naming `name` for ill-formed UTF-8.
    void addText(std::string_view text, const std::string& name = "text");

    // Learns the vocabulary and merges. Reports progress every config.progressEvery merges;
    // throws ptq::Cancelled when the callback returns false, ptq::Error for a bad config.
    BpeTrainerResult train(const BpeTrainerConfig& config, const ProgressFn& progress = {}) const;

    const std::unordered_map<std::string, long long>& wordCounts() const { return m_words; }

private:
    std::unordered_map<std::string, long long> m_words; // normalised word -> occurrences
    long long m_textBytes = 0;
};

// The words BpeTrainer counts in `text`, in order (normalised, "▁" for spaces).
std::vector<std::string> splitTrainingWords(std::string_view text);

struct CompressionStats {
    long long bytes = 0;
    long long tokens = 0;
    double bytesPerToken = 0;
};

// UTF-8 bytes of `text` per token (no BOS/EOS) under `tokenizer`.
CompressionStats measureCompression(const Tokenizer& tokenizer, std::string_view text);

} // namespace ptq::text
