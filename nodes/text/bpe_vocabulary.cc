#include "nodes/text/bpe_vocabulary.h"

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "graph/internal/yaml_guard.h"

namespace refinery::text {

namespace {

int Base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Appends the decoded bytes of `in`; false on malformed base64.
bool DecodeBase64(std::string_view in, std::string* out) {
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    int v = Base64Value(static_cast<unsigned char>(in[i]));
    if (v < 0) return false;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  for (; i < in.size(); ++i) {
    if (in[i] != '=') return false;
  }
  return true;
}

}  // namespace

StatusOr<std::string> Sha256OfFile(const std::string& path, std::string* contents) {
  // A regular file of bounded size: a FIFO or a device named as a vocabulary must not block or
  // fill memory (rank files are 1-4 MB).
  StatusOr<std::string> text = internal::ReadTextFile(path, 64 << 20);
  if (!text.ok()) return text.status();
  *contents = std::move(text).value();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(contents->data(), contents->size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    return Status::Internal("SHA-256 failed for " + path);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  return hex;
}

StatusOr<BpeVocabulary> BpeVocabulary::Load(const std::string& path,
                                            const std::string& expected_sha256) {
  std::string contents;
  StatusOr<std::string> sha = Sha256OfFile(path, &contents);
  if (!sha.ok() && sha.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("rank file " + path + " is missing (expected SHA-256 " +
                            expected_sha256 + "); run tools/fetch-vocab.sh");
  }
  if (!sha.ok()) return Status::InvalidArgument("rank file " + sha.status().message());
  if (!expected_sha256.empty() && *sha != expected_sha256) {
    return Status::InvalidArgument("rank file " + path + " is corrupt: SHA-256 " + *sha +
                                   ", expected " + expected_sha256 +
                                   "; delete it and run tools/fetch-vocab.sh");
  }
  return Parse(contents, path);
}

StatusOr<BpeVocabulary> BpeVocabulary::Parse(std::string_view text, const std::string& name) {
  BpeVocabulary v;
  v.arena_.reserve(text.size() / 2);
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.empty()) continue;
    size_t space = line.find(' ');
    auto bad = [&] {
      return Status::InvalidArgument(name + ":" + std::to_string(line_no) +
                                     ": not a rank line ('base64 rank')");
    };
    if (space == std::string_view::npos) return bad();
    const uint32_t offset = static_cast<uint32_t>(v.arena_.size());
    if (!DecodeBase64(line.substr(0, space), &v.arena_) || v.arena_.size() == offset) return bad();
    uint32_t rank = 0;
    std::string_view digits = line.substr(space + 1);
    if (digits.empty() || digits.size() > 9) return bad();
    for (char c : digits) {
      if (c < '0' || c > '9') return bad();
      rank = rank * 10 + uint32_t(c - '0');
    }
    const size_t length = v.arena_.size() - offset;
    if (length > kMaxTokenLength || rank > kMaxRank) {
      return Status::InvalidArgument(
          name + ":" + std::to_string(line_no) + ": token of " + std::to_string(length) +
          " bytes with rank " + std::to_string(rank) + ": tokens are limited to " +
          std::to_string(kMaxTokenLength) + " bytes and ranks to " + std::to_string(kMaxRank));
    }
    v.entries_.push_back({offset, static_cast<uint32_t>(length), rank});
    v.max_rank_ = std::max(v.max_rank_, rank);
  }
  if (v.entries_.empty()) return Status::InvalidArgument(name + ": no ranks in the file");
  v.BuildIndex();
  return v;
}

uint64_t BpeVocabulary::LongHash(std::string_view bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
}

void BpeVocabulary::BuildIndex() {
  static std::atomic<uint32_t> next_id{1};
  id_ = next_id++;
  size_t capacity = 1;
  while (capacity < entries_.size() * 2) capacity <<= 1;
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  by_rank_.assign(size_t(max_rank_) + 1, 0);
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    std::string_view bytes(arena_.data() + e.offset, e.length);
    const uint64_t head = Head(bytes);
    for (uint64_t h = Hash(bytes, head) & mask_;; h = (h + 1) & mask_) {
      if (slots_[h].rank_length == 0) {
        slots_[h] = {head, e.offset, e.rank << 8 | e.length};
        break;
      }
    }
    by_rank_[e.rank] = i + 1;
    max_length_ = std::max(max_length_, e.length);
  }
  std::fill(std::begin(byte_rank_), std::end(byte_rank_), kNoRank);
  pair_rank_.assign(65536, kNoPair);
  for (const Entry& e : entries_) {
    const auto* b = reinterpret_cast<const uint8_t*>(arena_.data() + e.offset);
    if (e.length == 1) byte_rank_[b[0]] = e.rank;
    if (e.length == 2)
      pair_rank_[(b[0] << 8) | b[1]] = e.rank < kBigPair ? uint16_t(e.rank) : kBigPair;
  }
}

namespace {

// Whether a and b (both `length` > 8 bytes, the first 8 already equal) are equal: eight bytes
// at a time, the last word overlapping (an inline loop: memcmp's call was 5% of encode time).
bool SameTail(const char* a, const char* b, uint32_t length) {
  uint64_t x, y;
  uint32_t i = 8;
  for (; i + 8 <= length; i += 8) {
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    if (x != y) return false;
  }
  if (i == length) return true;
  std::memcpy(&x, a + length - 8, 8);
  std::memcpy(&y, b + length - 8, 8);
  return x == y;
}

}  // namespace

uint32_t BpeVocabulary::Probe(std::string_view bytes, uint64_t head, uint64_t hash) const {
  const uint32_t length = static_cast<uint32_t>(bytes.size());
  for (uint64_t h = hash & mask_;; h = (h + 1) & mask_) {
    const Slot& slot = slots_[h];
    if (slot.rank_length == 0) return kNoRank;
    if (slot.length() == length && slot.head == head &&
        (length <= 8 || SameTail(arena_.data() + slot.offset, bytes.data(), length))) {
      return slot.rank();
    }
  }
}

std::string_view BpeVocabulary::Bytes(uint32_t rank) const {
  if (rank >= by_rank_.size() || by_rank_[rank] == 0) return {};
  const Entry& e = entries_[by_rank_[rank] - 1];
  return {arena_.data() + e.offset, e.length};
}

}  // namespace refinery::text
