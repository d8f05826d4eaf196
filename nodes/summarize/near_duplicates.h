// Near-duplicate sentences across a whole document (any distance apart, across chunks): MinHash
// signatures of word 3-shingles (single words for sentences shorter than three) and
// locality-sensitive hashing in bands, so each sentence is compared only with likely matches.
//
//   std::vector<bool> dup = FindNearDuplicates(doc.words, 0.7);   // dup[i]: repeats an earlier one
//
// 64 hashes in 16 bands of 4: a pair with Jaccard similarity 0.7 becomes a candidate with
// probability 0.99 (0.5: 0.64); candidates are confirmed on the estimated Jaccard (64 hashes).
// A sentence is compared with at most 16 candidates (the 4 most recent of each matching bucket),
// so the pass stays linear on boilerplate-heavy text.
#pragma once

#include <cstdint>
#include <vector>

namespace refinery::summarize {

// dup[i] is true when sentence i's estimated Jaccard similarity with an earlier sentence is at
// least `threshold` (0 < threshold <= 1). The first of a group of repeats is kept. Sentences
// without words never are duplicates.
std::vector<bool> FindNearDuplicates(const std::vector<std::vector<uint32_t>>& words,
                                     double threshold);

}  // namespace refinery::summarize
