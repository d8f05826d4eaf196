// MergeMemo: a per-thread, direct-mapped memo of the token ids of recently merged pieces.
//
// Why: a piece that is not a token itself (8.5% of the pieces of linux-doc, cl100k) costs a
// BPE merge of ~20 rank lookups, most of which miss cache; those pieces repeat (identifiers,
// rare words): a 4096-entry memo answered 65% of them on linux-doc and 43% on jargon.txt.
// Entries hold the piece's bytes and are compared whole, so a hit is exact; each carries the
// vocabulary's id, so encodings never answer for each other. Three memos by piece size (below):
// short and medium, 640 KiB per thread that encodes, allocated on first use; oversize pieces in
// a small memo of their own.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace refinery::text {

template <size_t MaxBytes, size_t MaxTokens, size_t Entries>
class MergeMemo {
 public:
  static constexpr size_t kMaxBytes = MaxBytes;    // longer pieces are not memoised
  static constexpr size_t kMaxTokens = MaxTokens;  // nor pieces of more tokens

  static MergeMemo& ForThisThread() {
    thread_local std::unique_ptr<MergeMemo> memo(new MergeMemo());
    return *memo;
  }

  // Where `piece` lives in the memo; Prefetch it ahead of a Find or Store there.
  static size_t SlotOf(std::string_view piece) {
    return XXH3_64bits(piece.data(), piece.size()) & (kEntries - 1);
  }
  void Prefetch(size_t slot) const { __builtin_prefetch(&entries_[slot]); }

  // The tokens of `piece` under vocabulary `vocab_id`, or an empty span.
  std::span<const uint32_t> Find(uint32_t vocab_id, std::string_view piece, size_t slot) const {
    const Entry& e = entries_[slot];
    if (e.vocab != vocab_id || e.length != piece.size() ||
        std::memcmp(e.bytes, piece.data(), piece.size()) != 0) {
      return {};
    }
    return {e.tokens, e.count};
  }
  void Store(uint32_t vocab_id, std::string_view piece, size_t slot,
             std::span<const uint32_t> tokens) {
    if (piece.size() > kMaxBytes || tokens.empty() || tokens.size() > kMaxTokens) return;
    Entry& e = entries_[slot];
    e.vocab = vocab_id;
    e.length = static_cast<uint8_t>(piece.size());
    e.count = static_cast<uint8_t>(tokens.size());
    std::memcpy(e.bytes, piece.data(), piece.size());
    std::memcpy(e.tokens, tokens.data(), tokens.size() * sizeof(uint32_t));
  }

 private:
  static constexpr size_t kEntries = Entries;
  struct alignas(64) Entry {  // whole cache lines
    uint32_t vocab = 0;       // 0 = empty (vocabulary ids start at 1)
    uint8_t length = 0;
    uint8_t count = 0;
    char bytes[kMaxBytes];
    uint32_t tokens[kMaxTokens];
  };
  MergeMemo() = default;
  alignas(64) Entry entries_[kEntries];
};

// Most merged pieces are short: 8192 entries of one cache line for pieces up to 24 bytes, and
// 1024 of two lines for pieces up to 56 (runs of spaces or rule characters): 640 KiB per thread.
using ShortMergeMemo = MergeMemo<24, 6, 8192>;
using MediumMergeMemo = MergeMemo<56, 16, 1024>;
static_assert(sizeof(ShortMergeMemo) == 8192 * 64 && sizeof(MediumMergeMemo) == 1024 * 128);

// Pieces longer than that (box-drawing table rows, rules of '=' or '-', long identifiers) are
// rare but each costs hundreds of lookups, and they repeat: in jargon.txt 422 pieces over 56
// bytes are 162 distinct ones (4% of its bytes, 9% of its encode time in perf before this memo).
// 128 entries per thread, each holding its piece (up to 1 KiB) and tokens.
class OversizeMergeMemo {
 public:
  static constexpr size_t kMaxBytes = 1024;

  static OversizeMergeMemo& ForThisThread() {
    thread_local OversizeMergeMemo memo;
    return memo;
  }
  std::span<const uint32_t> Find(uint32_t vocab_id, std::string_view piece) const {
    const Entry& e = entries_[SlotOf(piece)];
    if (e.vocab != vocab_id || e.bytes != piece) return {};
    return e.tokens;
  }
  void Store(uint32_t vocab_id, std::string_view piece, std::span<const uint32_t> tokens) {
    if (piece.size() > kMaxBytes) return;
    Entry& e = entries_[SlotOf(piece)];
    e.vocab = vocab_id;
    e.bytes.assign(piece);
    e.tokens.assign(tokens.begin(), tokens.end());
  }

 private:
  static constexpr size_t kEntries = 128;
  struct Entry {
    uint32_t vocab = 0;  // 0 = empty
    std::string bytes;
    std::vector<uint32_t> tokens;
  };
  static size_t SlotOf(std::string_view piece) {
    return XXH3_64bits(piece.data(), piece.size()) & (kEntries - 1);
  }
  Entry entries_[kEntries];
};

}  // namespace refinery::text
