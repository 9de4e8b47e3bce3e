#pragma once
// Writes a minimal but standard SentencePiece-style tokenizer.json (+ tokenizer_config.json):
// <unk>, <s>, </s>, the 256 byte-fallback tokens <0x00>..<0xFF>, and the given extra pieces
// and merges. With no merges it is a pure byte tokenizer: every text round-trips.

#include <string>
#include <utility>
#include <vector>

namespace ptq {

struct TokenizerSpec {
    std::vector<std::string> pieces;                          // extra vocabulary, e.g. "▁the"
    std::vector<std::pair<std::string, std::string>> merges;  // ranked, first = highest priority
    bool addBos = true;
    bool addEos = false;
};

void writeSentencePieceTokenizer(const std::string& dir, const TokenizerSpec& spec);

} // namespace ptq
