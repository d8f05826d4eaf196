// BpeVocabulary: a tiktoken rank file (`base64(token bytes) rank` per line) loaded into an
// open-addressing table from token bytes to rank, plus rank -> bytes for decoding.
//
//   auto vocab = BpeVocabulary::Load("cl100k_base.tiktoken", "223921b7...");
//   std::optional<uint32_t> rank = vocab->Rank("hello");
//
// Load() checks the file's SHA-256 against the expected hash first: a missing or corrupt file
// is an error naming the file and the hash. Lookups are lock-free and safe from any thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "graph/status.h"

namespace refinery::text {

class BpeVocabulary {
 public:
  static StatusOr<BpeVocabulary> Load(const std::string& path, const std::string& expected_sha256);
  // Parses rank-file text (no hash check); for tests and generated vocabularies.
  static StatusOr<BpeVocabulary> Parse(std::string_view text, const std::string& name);

  static constexpr uint32_t kNoRank = 0xFFFFFFFFu;

  std::optional<uint32_t> Rank(std::string_view bytes) const {
    const uint32_t r = RankOrNone(MakeKey(bytes));
    return r == kNoRank ? std::nullopt : std::optional<uint32_t>(r);
  }
  // A key with its hash computed once, for a prefetch and then the lookup.
  struct Key {
    std::string_view bytes;
    uint64_t head = 0;
    uint64_t hash = 0;
  };
  Key MakeKey(std::string_view bytes) const {
    if (bytes.size() - 1 >= max_length_) return {bytes};  // empty or longer than any token
    const uint64_t head = Head(bytes);
    return {bytes, head, Hash(bytes, head)};
  }
  // The lookup with kNoRank for "not a token" (no optional on the hot path).
  uint32_t RankOrNone(const Key& key) const {
    if (key.bytes.size() - 1 >= max_length_) return kNoRank;
    return Probe(key.bytes, key.head, key.hash);
  }
  uint32_t RankOrNone(std::string_view bytes) const { return RankOrNone(MakeKey(bytes)); }
  // Starts loading the slot of `key`, so that a lookup soon after does not wait on memory:
  // callers prefetch a batch of independent keys, then look them up. Unconditional on
  // purpose: GCC 12 at -O1 and above deletes a __builtin_prefetch that sits behind an `if`
  // (seen in the disassembly: none of these prefetches existed while this had an early
  // return). A key that cannot be a token has hash 0 and prefetches slot 0, harmlessly.
  void Prefetch(const Key& key) const { __builtin_prefetch(&slots_[key.hash & mask_]); }
  // Rank of bytes a, b as one token, or kNoRank: a 128 KiB direct table that stays in cache
  // (the first pass of every BPE merge looks up each adjacent byte pair).
  uint32_t PairRank(unsigned char a, unsigned char b) const {
    const uint16_t r = pair_rank_[(a << 8) | b];
    if (r == kNoPair) return kNoRank;
    if (r != kBigPair) return r;
    const char bytes[2] = {char(a), char(b)};
    return RankOrNone(std::string_view(bytes, 2));
  }
  // Rank of a single byte (every byte has one in the tiktoken vocabularies; kNoRank otherwise).
  uint32_t ByteRank(unsigned char b) const { return byte_rank_[b]; }
  // Token bytes of a rank; empty for an unknown rank.
  std::string_view Bytes(uint32_t rank) const;
  size_t size() const { return entries_.size(); }
  // Distinct per loaded vocabulary (from 1), for memos that must not mix vocabularies.
  uint32_t id() const { return id_; }
  uint32_t max_rank() const { return max_rank_; }

 private:
  struct Entry {
    uint32_t offset;
    uint32_t length;
    uint32_t rank;
  };
  // One probe touches one 16-byte slot: the first 8 bytes of the key live in the slot, so keys
  // of up to 8 bytes (most BPE pair lookups) compare as integers without touching the arena,
  // and longer keys reach it (at the offset the slot holds) only when their first 8 bytes
  // already match. (perf: with an index into separate entries, three cache misses per lookup
  // were half of encode time; a separate array of arena offsets cost a dependent miss for
  // every key longer than 8 bytes.)
  struct Slot {
    uint64_t head = 0;         // first (up to) 8 key bytes, little-endian, zero-padded
    uint32_t offset = 0;       // of the key in the arena
    uint32_t rank_length = 0;  // rank << 8 | length; 0 = empty (length >= 1)
    uint32_t rank() const { return rank_length >> 8; }
    uint32_t length() const { return rank_length & 0xFF; }
  };
  static constexpr uint32_t kMaxTokenLength = 255;
  static constexpr uint32_t kMaxRank = (1u << 24) - 1;
  static uint64_t Head(std::string_view bytes) {
    uint64_t head = 0;
    if (bytes.size() >= 8) {
      std::memcpy(&head, bytes.data(), 8);
    } else {
      for (size_t i = 0; i < bytes.size(); ++i) head |= uint64_t(uint8_t(bytes[i])) << (8 * i);
    }
    return head;
  }
  static uint64_t Hash(std::string_view bytes, uint64_t head) {
    if (bytes.size() > 8) return LongHash(bytes);
    // Short keys: packed bytes and length through murmur3's 64-bit finaliser (every output bit
    // depends on every input bit, so the low bits that pick the slot are well spread).
    uint64_t h = head ^ (uint64_t(bytes.size()) << 59);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
  }
  static uint64_t LongHash(std::string_view bytes);
  void BuildIndex();
  uint32_t Probe(std::string_view bytes, uint64_t head, uint64_t hash) const;

  std::string arena_;  // all token bytes, back to back
  std::vector<Entry> entries_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> by_rank_;  // rank -> entry index + 1
  uint32_t byte_rank_[256] = {};
  static constexpr uint16_t kNoPair = 0xFFFF, kBigPair = 0xFFFE;  // a rank that needs 32 bits
  std::vector<uint16_t> pair_rank_;                               // see PairRank
  uint64_t mask_ = 0;
  uint32_t id_ = 0;
  uint32_t max_rank_ = 0;
  uint32_t max_length_ = 0;
};

// Lowercase hex SHA-256 of a file's bytes (OpenSSL libcrypto).
StatusOr<std::string> Sha256OfFile(const std::string& path, std::string* contents);

}  // namespace refinery::text
