// PieceBatch: the tokens of pre-token pieces, worked out a batch at a time so that the cache
// misses of different pieces overlap instead of queueing one after another.
//
//   PieceBatch batch(vocab);
//   split.Split(text, [&](std::string_view piece) { if (batch.Add(piece)) batch.Flush(use); });
//   batch.Flush(use);  // use(std::span<const uint32_t> tokens) once per piece, in order
//
// Why: encoding is bound by memory latency, not by instructions. The rank table (4 MiB for
// cl100k) and the merge memo do not stay in cache, and a BPE merge is a chain of lookups where
// each merge waits for the ranks the previous one looked up: on jargon.txt, merging the 8% of
// pieces that are not a token took more than half of encode time. So a batch goes in phases:
//   1. Add: the rank-table slot of each piece is prefetched as the splitter produces it;
//   2. each piece is looked up whole (tiktoken's first step); for the rest, the memo entry is
//      prefetched;
//   3. memo hits are copied;
//   4. the misses are merged kLanes at a time, taking turns a merge step each (ScanMerge), so
//      that one piece's lookups are in flight while the others take their steps;
//   5. every piece's tokens are handed out in order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "nodes/text/bpe_vocabulary.h"

namespace refinery::text {

class PieceBatch {
 public:
  static constexpr size_t kCapacity = 256;  // pieces per batch
  static constexpr size_t kLanes = 8;       // merges in flight

  explicit PieceBatch(const BpeVocabulary& vocab) : vocab_(vocab) {}

  // Adds a piece (its bytes must stay valid until Flush); true when the batch is full.
  bool Add(std::string_view piece) {
    keys_[size_] = vocab_.MakeKey(piece);
    vocab_.Prefetch(keys_[size_]);
    return ++size_ == kCapacity;
  }

  // Calls use(std::span<const uint32_t> tokens) for every piece added since the last Flush, in
  // the order they were added, and empties the batch.
  template <typename Use>
  void Flush(Use&& use) {
    Resolve();
    for (size_t i = 0; i < size_; ++i) use(TokensOf(i));
    size_ = 0;
  }
  // Flush for the two common uses: all the tokens appended to `out`, or only their number.
  void FlushInto(std::vector<uint32_t>* out) {
    Resolve();
    size_t at = out->size();
    out->resize(at + token_count_);
    for (size_t i = 0; i < size_; ++i) {
      const std::span<const uint32_t> tokens = TokensOf(i);
      if (tokens.size() == 1) {
        (*out)[at++] = tokens[0];
      } else {
        std::copy(tokens.begin(), tokens.end(), out->begin() + long(at));
        at += tokens.size();
      }
    }
    size_ = 0;
  }
  size_t FlushCount() {
    Resolve();
    size_ = 0;
    return token_count_;
  }

 private:
  struct Found {
    uint32_t begin;  // in tokens_
    uint32_t count;
  };
  struct Memos;  // the thread's merge memos
  std::span<const uint32_t> TokensOf(size_t piece) const {
    return {tokens_.data() + found_[piece].begin, found_[piece].count};
  }
  void Resolve();                                 // phases 2-4, and token_count_
  void MergeMisses(size_t misses, Memos& memos);  // phase 4, over waiting_[0, misses)
  size_t MergeLong(std::string_view piece, uint32_t* out) const;  // a piece too long for lanes

  const BpeVocabulary& vocab_;
  size_t size_ = 0;
  size_t token_count_ = 0;  // of the pieces in the batch, once resolved
  BpeVocabulary::Key keys_[kCapacity];
  Found found_[kCapacity];
  uint32_t memo_slot_[kCapacity];
  uint16_t waiting_[kCapacity];   // pieces still without tokens
  std::vector<uint32_t> tokens_;  // every piece's tokens, back to back (room for one per byte)
};

}  // namespace refinery::text
