// MergeMemo: a per-thread, direct-mapped memo of the token ids of recently merged pieces.
//
// Why: a piece that is not a token itself (8.5% of the pieces of linux-doc, cl100k) costs a
// BPE merge of ~20 rank lookups, most of which miss cache; those pieces repeat (identifiers,
// rare words): a 4096-entry memo answered 65% of them on linux-doc and 43% on jargon.txt.
// Entries hold the piece's bytes and are compared whole, so a hit is exact; each carries the
// vocabulary's id, so encodings never answer for each other. 256 KiB per thread that encodes,
// allocated on first use.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace refinery::text {

class MergeMemo {
 public:
  static constexpr size_t kMaxBytes = 56;  // longer pieces are not memoised
  static constexpr size_t kMaxTokens = 16;  // nor pieces of more tokens

  static MergeMemo& ForThisThread() {
    thread_local std::unique_ptr<MergeMemo> memo(new MergeMemo());
    return *memo;
  }

  // The tokens of `piece` under vocabulary `vocab_id`, or an empty span.
  std::span<const uint32_t> Find(uint32_t vocab_id, std::string_view piece) const {
    const Entry& e = entries_[Index(piece)];
    if (e.vocab != vocab_id || e.length != piece.size() ||
        std::memcmp(e.bytes, piece.data(), piece.size()) != 0) {
      return {};
    }
    return {e.tokens, e.count};
  }
  void Store(uint32_t vocab_id, std::string_view piece, std::span<const uint32_t> tokens) {
    if (piece.size() > kMaxBytes || tokens.empty() || tokens.size() > kMaxTokens) return;
    Entry& e = entries_[Index(piece)];
    e.vocab = vocab_id;
    e.length = static_cast<uint8_t>(piece.size());
    e.count = static_cast<uint8_t>(tokens.size());
    std::memcpy(e.bytes, piece.data(), piece.size());
    std::memcpy(e.tokens, tokens.data(), tokens.size() * sizeof(uint32_t));
  }

 private:
  static constexpr size_t kEntries = 4096;
  struct Entry {
    uint32_t vocab = 0;  // 0 = empty (vocabulary ids start at 1)
    uint8_t length = 0;
    uint8_t count = 0;
    char bytes[kMaxBytes];
    uint32_t tokens[kMaxTokens];
  };
  static_assert(sizeof(Entry) <= 128, "two cache lines per entry");
  static size_t Index(std::string_view piece) {
    return XXH3_64bits(piece.data(), piece.size()) & (kEntries - 1);
  }
  MergeMemo() = default;
  alignas(128) Entry entries_[kEntries];
};

}  // namespace refinery::text
