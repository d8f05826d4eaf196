#include "nodes/text/bpe_merge.h"

#include <queue>
#include <vector>

namespace refinery::text {

namespace {

constexpr uint32_t kNoRank = BpeVocabulary::kNoRank;
constexpr size_t kScanLimit = 128;  // pieces up to this many bytes use the scan

// The same merges with a min-heap of (rank, start) and lazy deletion.
size_t HeapMerge(const BpeVocabulary& vocab, std::string_view piece, uint32_t* out) {
  const uint32_t n = static_cast<uint32_t>(piece.size());
  std::vector<uint32_t> next(n), prev(n), rank(n, kNoRank), token(n);
  std::vector<bool> alive(n, true);
  for (uint32_t i = 0; i < n; ++i) {
    next[i] = i + 1;
    prev[i] = i == 0 ? kNoRank : i - 1;
    token[i] = vocab.ByteRank(uint8_t(piece[i]));
  }
  auto pair_rank = [&](uint32_t i) -> uint32_t {
    if (i == kNoRank || next[i] >= n) return kNoRank;
    return vocab.RankOrNone(piece.substr(i, next[next[i]] - i));  // next[...] is a start or n
  };
  using Entry = std::pair<uint32_t, uint32_t>;  // (rank, start)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  for (uint32_t i = 0; i < n; ++i) {
    rank[i] = pair_rank(i);
    if (rank[i] != kNoRank) heap.push({rank[i], i});
  }
  while (!heap.empty()) {
    auto [r, i] = heap.top();
    heap.pop();
    if (!alive[i] || rank[i] != r) continue;  // stale
    const uint32_t j = next[i];
    alive[j] = false;
    token[i] = r;
    next[i] = next[j];
    if (next[j] < n) prev[next[j]] = i;
    rank[i] = pair_rank(i);
    if (rank[i] != kNoRank) heap.push({rank[i], i});
    if (prev[i] != kNoRank) {
      const uint32_t p = prev[i];
      rank[p] = pair_rank(p);
      if (rank[p] != kNoRank) heap.push({rank[p], p});
    }
  }
  size_t count = 0;
  for (uint32_t i = 0; i < n; i = next[i]) out[count++] = token[i];
  return count;
}

}  // namespace

size_t MergePiece(const BpeVocabulary& vocab, std::string_view piece, uint32_t* out) {
  if (piece.size() > kScanLimit) return HeapMerge(vocab, piece, out);
  ScanMerge<kScanLimit> merge;
  merge.Start(vocab, piece);
  while (merge.Advance()) merge.Resolve();
  for (size_t i = 0; i < merge.size(); ++i) out[i] = merge.token(i);
  return merge.size();
}

}  // namespace refinery::text
