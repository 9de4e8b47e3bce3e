#pragma once
// Writes a minimal but standard SentencePiece-style tokenizer.json (+ tokenizer_config.json):
// <unk>, <s>, </s>, the 256 byte-fallback tokens <0x00>..<0xFF>, and the given extra pieces
// and merges. With no merges it is a pure byte tokenizer: every text round-trips.
// Ids: <unk>=0, <s>=1, </s>=2, <0x00>..<0xFF>=3..258, spec.pieces from 259 in order, then
// "\u2581" (the SentencePiece space) when the pieces do not list it, since the LLaMA-2
// decoder turns only a vocabulary "\u2581" back into a space.
// Throws ptq::Error for duplicate or empty pieces and for merges whose parts or result are
// not in the vocabulary.

#include <string>
#include <utility>
#include <vector>

namespace ptq {

struct TokenizerSpec {
    std::vector<std::string> pieces;                         // extra vocabulary, e.g. "▁the"
    std::vector<std::pair<std::string, std::string>> merges; // ranked, first = highest priority
    bool addBos = true;
    bool addEos = false;
};

void writeSentencePieceTokenizer(const std::string& dir, const TokenizerSpec& spec);

} // namespace ptq
