// Byte-pair merging of one pre-token piece, exactly as tiktoken does it: repeatedly merge the
// adjacent pair whose concatenation has the lowest rank (leftmost on ties) until no pair has a
// rank. Short pieces use tiktoken's scan (fast for the usual 2-20 bytes); long pieces use a heap
// over a linked list, O(n log n), so a 1 MB "word" is not quadratic.
//
// PieceBatch (piece_batch.h) is what encodes text; this is its merge.
#pragma once

#include <cstdint>
#include <string_view>

#include "nodes/text/bpe_vocabulary.h"

namespace refinery::text {

// tiktoken's scan merge of one piece of up to MaxBytes bytes, one merge per step, so that the
// merges of several pieces can take turns: Advance() makes the next merge and prefetches the
// two rank lookups it creates; Resolve() makes them. Between the two, other pieces' steps run
// while those cache misses are served. Run alone it is tiktoken's loop:
//
//   merge.Start(vocab, piece);
//   while (merge.Advance()) merge.Resolve();
//   for (size_t i = 0; i < merge.size(); ++i) use(merge.token(i));
template <size_t MaxBytes>
class ScanMerge {
 public:
  // `piece` (1..MaxBytes bytes) must stay valid until the merge is done.
  void Start(const BpeVocabulary& vocab, std::string_view piece) {
    vocab_ = &vocab;
    piece_ = piece;
    n_ = piece.size() + 1;
    for (size_t i = 0; i < n_; ++i) {
      parts_[i] = {uint32_t(i), kNoRank,
                   i < piece.size() ? vocab.ByteRank(uint8_t(piece[i])) : kNoRank};
    }
    // Every adjacent byte pair from a direct table (it stays in cache).
    for (size_t i = 0; i + 2 < n_; ++i) {
      parts_[i].rank = vocab.PairRank(uint8_t(piece[i]), uint8_t(piece[i + 1]));
    }
  }
  // Merges the lowest-ranked pair (leftmost on ties) and prefetches the two pairs it makes;
  // false when no pair has a rank (the tokens are final).
  bool Advance() {
    uint32_t best = kNoRank;
    size_t at = 0;
    for (size_t i = 0; i + 1 < n_; ++i) {
      if (parts_[i].rank < best) {
        best = parts_[i].rank;
        at = i;
      }
    }
    if (best == kNoRank) return false;
    for (size_t i = at + 1; i + 1 < n_; ++i) parts_[i] = parts_[i + 1];
    --n_;
    parts_[at].token = best;
    at_ = at;
    right_ = PairKey(at);
    left_ = at > 0 ? PairKey(at - 1) : BpeVocabulary::Key{};
    vocab_->Prefetch(right_);
    vocab_->Prefetch(left_);
    return true;
  }
  // Looks up the ranks of the pairs the last Advance made.
  void Resolve() {
    parts_[at_].rank = vocab_->RankOrNone(right_);
    if (at_ > 0) parts_[at_ - 1].rank = vocab_->RankOrNone(left_);
  }
  size_t size() const { return n_ - 1; }  // tokens so far
  uint32_t token(size_t i) const { return parts_[i].token; }

 private:
  static constexpr uint32_t kNoRank = BpeVocabulary::kNoRank;
  // parts_[i].start is where part i starts (plus the end as a last entry), .rank the rank of
  // parts i and i+1 merged, .token the rank of part i itself (known from the merge that made
  // it, so the tokens need no further lookups).
  struct Part {
    uint32_t start;
    uint32_t rank;
    uint32_t token;
  };
  BpeVocabulary::Key PairKey(size_t i) const {  // parts i and i+1 merged; none past the end
    if (i + 2 >= n_) return {};
    return vocab_->MakeKey(piece_.substr(parts_[i].start, parts_[i + 2].start - parts_[i].start));
  }

  const BpeVocabulary* vocab_ = nullptr;
  std::string_view piece_;
  size_t n_ = 0;
  size_t at_ = 0;
  BpeVocabulary::Key right_, left_;
  Part parts_[MaxBytes + 2];
};

// The tokens of a piece that is not a token itself, any length, written to `out` (room for one
// token per byte); returns how many. (A whole-piece lookup comes first, as in tiktoken.)
size_t MergePiece(const BpeVocabulary& vocab, std::string_view piece, uint32_t* out);

}  // namespace refinery::text
