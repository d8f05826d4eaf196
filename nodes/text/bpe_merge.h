// Byte-pair merging of one pre-token piece, exactly as tiktoken does it: repeatedly merge the
// adjacent pair whose concatenation has the lowest rank (leftmost on ties) until no pair has a
// rank. Short pieces use tiktoken's scan (fast for the usual 2-20 bytes); long pieces use a heap
// over a linked list, O(n log n), so a 1 MB "word" is not quadratic.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "nodes/text/bpe_vocabulary.h"

namespace refinery::text {

// Appends the token ids (ranks) of `piece` (a key made by vocab.MakeKey).
void BytePairEncode(const BpeVocabulary& vocab, const BpeVocabulary::Key& piece,
                    std::vector<uint32_t>* out);

// Number of tokens BytePairEncode would append, without materialising ids where it can.
size_t BytePairCount(const BpeVocabulary& vocab, const BpeVocabulary::Key& piece);

}  // namespace refinery::text
