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

  std::optional<uint32_t> Rank(std::string_view bytes) const;
  // Token bytes of a rank; empty for an unknown rank.
  std::string_view Bytes(uint32_t rank) const;
  size_t size() const { return entries_.size(); }
  uint32_t max_rank() const { return max_rank_; }

 private:
  struct Entry {
    uint32_t offset;
    uint32_t length;
    uint32_t rank;
  };
  static uint64_t Hash(std::string_view bytes);
  void BuildIndex();

  std::string arena_;                 // all token bytes, back to back
  std::vector<Entry> entries_;
  std::vector<uint32_t> slots_;       // entry index + 1; 0 = empty
  std::vector<uint32_t> by_rank_;     // rank -> entry index + 1
  uint64_t mask_ = 0;
  uint32_t max_rank_ = 0;
};

// Lowercase hex SHA-256 of a file's bytes (OpenSSL libcrypto).
StatusOr<std::string> Sha256OfFile(const std::string& path, std::string* contents);

}  // namespace refinery::text
