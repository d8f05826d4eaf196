#include "nodes/text/piece_batch.h"

#include <algorithm>

#include "nodes/text/bpe_merge.h"
#include "nodes/text/merge_memo.h"

namespace refinery::text {

namespace {

constexpr uint32_t kNoRank = BpeVocabulary::kNoRank;
// Pieces up to this size are memoised and merged in lanes; longer ones (rare: runs of spaces,
// rules, table rows) are merged on the spot, with a memo of their own (MergeLong).
constexpr size_t kLaneBytes = MediumMergeMemo::kMaxBytes;
using LaneMerge = ScanMerge<kLaneBytes>;

}  // namespace

// The thread's two memos, picked by piece size.
struct PieceBatch::Memos {
  ShortMergeMemo& short_memo = ShortMergeMemo::ForThisThread();
  MediumMergeMemo& medium_memo = MediumMergeMemo::ForThisThread();

  static bool IsShort(std::string_view piece) { return piece.size() <= ShortMergeMemo::kMaxBytes; }
  size_t Prefetch(std::string_view piece) const {
    const size_t slot =
        IsShort(piece) ? ShortMergeMemo::SlotOf(piece) : MediumMergeMemo::SlotOf(piece);
    IsShort(piece) ? short_memo.Prefetch(slot) : medium_memo.Prefetch(slot);
    return slot;
  }
  std::span<const uint32_t> Find(uint32_t vocab, std::string_view piece, size_t slot) const {
    return IsShort(piece) ? short_memo.Find(vocab, piece, slot)
                          : medium_memo.Find(vocab, piece, slot);
  }
  void Store(uint32_t vocab, std::string_view piece, size_t slot,
             std::span<const uint32_t> tokens) {
    IsShort(piece) ? short_memo.Store(vocab, piece, slot, tokens)
                   : medium_memo.Store(vocab, piece, slot, tokens);
  }
};

size_t PieceBatch::MergeLong(std::string_view piece, uint32_t* out) const {
  OversizeMergeMemo& memo = OversizeMergeMemo::ForThisThread();
  if (std::span<const uint32_t> known = memo.Find(vocab_.id(), piece); !known.empty()) {
    std::copy(known.begin(), known.end(), out);
    return known.size();
  }
  const size_t n = MergePiece(vocab_, piece, out);
  memo.Store(vocab_.id(), piece, {out, n});
  return n;
}

void PieceBatch::Resolve() {
  size_t bytes = 0;
  for (size_t i = 0; i < size_; ++i) bytes += keys_[i].bytes.size();
  // Room for one token per byte; grown to what the batch needs (a batch is made per call, often
  // for one short sentence, so no larger minimum).
  if (tokens_.size() < bytes) tokens_.resize(bytes);

  // Phase 2: whole pieces (their slots were prefetched by Add); the memo entries of the rest.
  Memos memos;
  size_t waiting = 0;
  uint32_t end = 0;
  for (size_t i = 0; i < size_; ++i) {
    const BpeVocabulary::Key& key = keys_[i];
    found_[i] = {end, 0};
    if (const uint32_t whole = vocab_.RankOrNone(key); whole != kNoRank) {
      tokens_[end++] = whole;
      found_[i].count = 1;
      continue;
    }
    end += static_cast<uint32_t>(key.bytes.size());
    if (key.bytes.size() > kLaneBytes) {
      found_[i].count = static_cast<uint32_t>(MergeLong(key.bytes, &tokens_[found_[i].begin]));
      continue;
    }
    memo_slot_[i] = static_cast<uint32_t>(memos.Prefetch(key.bytes));
    waiting_[waiting++] = static_cast<uint16_t>(i);
  }

  // Phase 3: memo hits.
  size_t misses = 0;
  for (size_t w = 0; w < waiting; ++w) {
    const size_t i = waiting_[w];
    std::span<const uint32_t> known = memos.Find(vocab_.id(), keys_[i].bytes, memo_slot_[i]);
    if (known.empty()) {
      waiting_[misses++] = static_cast<uint16_t>(i);
      continue;
    }
    std::copy(known.begin(), known.end(), &tokens_[found_[i].begin]);
    found_[i].count = static_cast<uint32_t>(known.size());
  }
  MergeMisses(misses, memos);
  token_count_ = 0;
  for (size_t i = 0; i < size_; ++i) token_count_ += found_[i].count;
}

// Phase 4: each lane holds one piece's merge; a round gives every busy lane one step (the
// lookups its last step prefetched, then the next merge), and a lane whose piece is done takes
// the next waiting piece.
void PieceBatch::MergeMisses(size_t misses, Memos& memos) {
  LaneMerge lanes[kLanes];
  uint16_t lane_piece[kLanes];
  bool busy[kLanes] = {};
  size_t next = 0;
  auto finish = [&](size_t lane) {
    const size_t i = lane_piece[lane];
    const LaneMerge& merge = lanes[lane];
    uint32_t* tokens = &tokens_[found_[i].begin];
    for (size_t t = 0; t < merge.size(); ++t) tokens[t] = merge.token(t);
    found_[i].count = static_cast<uint32_t>(merge.size());
    memos.Store(vocab_.id(), keys_[i].bytes, memo_slot_[i], {tokens, merge.size()});
  };
  // Starts the next waiting piece in `lane`; pieces with no merge at all finish at once.
  auto take = [&](size_t lane) {
    while (next < misses) {
      lane_piece[lane] = waiting_[next++];
      lanes[lane].Start(vocab_, keys_[lane_piece[lane]].bytes);
      if (lanes[lane].Advance()) {
        busy[lane] = true;
        return;
      }
      finish(lane);
    }
    busy[lane] = false;
  };
  for (size_t lane = 0; lane < kLanes; ++lane) take(lane);
  for (bool any = true; any;) {
    any = false;
    for (size_t lane = 0; lane < kLanes; ++lane) {
      if (!busy[lane]) continue;
      any = true;
      lanes[lane].Resolve();
      if (!lanes[lane].Advance()) {
        finish(lane);
        take(lane);
      }
    }
  }
}

}  // namespace refinery::text
