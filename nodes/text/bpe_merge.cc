#include "nodes/text/bpe_merge.h"

#include <queue>

#include "nodes/text/merge_memo.h"

namespace refinery::text {

namespace {

constexpr uint32_t kNoRank = BpeVocabulary::kNoRank;
constexpr size_t kScanLimit = 128;  // pieces up to this many bytes use the simple scan

uint32_t RankOf(const BpeVocabulary& vocab, std::string_view bytes) { return vocab.RankOrNone(bytes); }

// tiktoken's algorithm: parts[i].start is where part i starts (plus the end as a last entry),
// parts[i].rank the rank of parts i and i+1 merged, parts[i].token the rank of part i itself
// (known from the merge that made it, so emitting needs no further lookups).
template <typename Emit>
void ScanMerge(const BpeVocabulary& vocab, std::string_view piece, Emit&& emit) {
  struct Part {
    uint32_t start;
    uint32_t rank;
    uint32_t token;
  };
  Part parts[kScanLimit + 2];
  size_t n = piece.size() + 1;
  for (size_t i = 0; i < n; ++i) {
    parts[i] = {uint32_t(i), kNoRank, i < piece.size() ? vocab.ByteRank(uint8_t(piece[i])) : kNoRank};
  }
  // The key of parts i and i+1 merged (none past the end).
  auto pair_key = [&](size_t i) -> BpeVocabulary::Key {
    if (i + 2 >= n) return {};
    return vocab.MakeKey(piece.substr(parts[i].start, parts[i + 2].start - parts[i].start));
  };
  // The first pass looks up every adjacent byte pair (a direct table); each merge two new
  // pairs, both prefetched before either is probed so that their cache misses overlap.
  for (size_t i = 0; i + 2 < n; ++i) parts[i].rank = vocab.PairRank(uint8_t(piece[i]), uint8_t(piece[i + 1]));
  while (n > 2) {
    uint32_t best = kNoRank;
    size_t at = 0;
    for (size_t i = 0; i + 1 < n; ++i) {
      if (parts[i].rank < best) {
        best = parts[i].rank;
        at = i;
      }
    }
    if (best == kNoRank) break;
    for (size_t i = at + 1; i + 1 < n; ++i) parts[i] = parts[i + 1];
    --n;
    parts[at].token = best;
    const BpeVocabulary::Key right = pair_key(at);
    const BpeVocabulary::Key left = at > 0 ? pair_key(at - 1) : BpeVocabulary::Key{};
    vocab.Prefetch(right);
    vocab.Prefetch(left);
    parts[at].rank = vocab.RankOrNone(right);
    if (at > 0) parts[at - 1].rank = vocab.RankOrNone(left);
  }
  for (size_t i = 0; i + 1 < n; ++i) emit(parts[i].token);
}

// The same merges with a min-heap of (rank, start) and lazy deletion.
template <typename Emit>
void HeapMerge(const BpeVocabulary& vocab, std::string_view piece, Emit&& emit) {
  const uint32_t n = static_cast<uint32_t>(piece.size());
  std::vector<uint32_t> next(n), prev(n), rank(n, kNoRank), token(n);
  std::vector<bool> alive(n, true);
  for (uint32_t i = 0; i < n; ++i) {
    next[i] = i + 1;
    prev[i] = i == 0 ? kNoRank : i - 1;
    token[i] = vocab.ByteRank(uint8_t(piece[i]));
  }
  auto end_of = [&](uint32_t i) { return next[i]; };  // next start, or n
  auto pair_rank = [&](uint32_t i) -> uint32_t {
    if (i == kNoRank || next[i] >= n) return kNoRank;
    return RankOf(vocab, piece.substr(i, end_of(next[i]) - i));
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
  for (uint32_t i = 0; i < n; i = next[i]) emit(token[i]);
}

template <typename Emit>
void Merge(const BpeVocabulary& vocab, std::string_view piece, Emit&& emit) {
  if (piece.size() <= kScanLimit) {
    ScanMerge(vocab, piece, emit);
  } else {
    HeapMerge(vocab, piece, emit);
  }
}

}  // namespace

// A piece that is not a token: its tokens from the thread's memo, else merged and memoised.
template <typename Memo, typename Emit>
void MergeWithMemo(const BpeVocabulary& vocab, std::string_view piece, Emit&& emit) {
  Memo& memo = Memo::ForThisThread();
  std::span<const uint32_t> known = memo.Find(vocab.id(), piece);
  if (known.empty()) {
    uint32_t tokens[Memo::kMaxBytes];  // at most one token per byte
    size_t n = 0;
    Merge(vocab, piece, [&](uint32_t token) { tokens[n++] = token; });
    memo.Store(vocab.id(), piece, {tokens, n});
    for (size_t i = 0; i < n; ++i) emit(tokens[i]);
    return;
  }
  for (uint32_t t : known) emit(t);
}

template <typename Emit>
void MergeRemembered(const BpeVocabulary& vocab, std::string_view piece, Emit&& emit) {
  if (piece.size() <= ShortMergeMemo::kMaxBytes) {
    MergeWithMemo<ShortMergeMemo>(vocab, piece, emit);
  } else if (piece.size() <= LongMergeMemo::kMaxBytes) {
    MergeWithMemo<LongMergeMemo>(vocab, piece, emit);
  } else {
    Merge(vocab, piece, emit);
  }
}

// Every single byte has a rank in the tiktoken vocabularies; in a generated vocabulary without
// one, that byte comes out as kNoRank.
void BytePairEncode(const BpeVocabulary& vocab, const BpeVocabulary::Key& piece,
                    std::vector<uint32_t>* out) {
  if (const uint32_t whole = vocab.RankOrNone(piece); whole != kNoRank) {
    out->push_back(whole);
    return;
  }
  MergeRemembered(vocab, piece.bytes, [&](uint32_t token) { out->push_back(token); });
}

size_t BytePairCount(const BpeVocabulary& vocab, const BpeVocabulary::Key& piece) {
  if (vocab.RankOrNone(piece) != kNoRank) return 1;
  size_t count = 0;
  MergeRemembered(vocab, piece.bytes, [&](uint32_t) { ++count; });
  return count;
}

}  // namespace refinery::text
