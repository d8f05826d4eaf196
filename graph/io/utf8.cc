#include "graph/io/utf8.h"

#include <cstdint>
#include <cstring>

namespace refinery::utf8 {

size_t ValidSequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlongs
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // <= U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    // ASCII eight bytes at a time: most text is mostly ASCII, and the tokenizer validates
    // every input (perf: byte-wise validation was 8% of encode time on English text).
    uint64_t chunk;
    while (i + 8 <= s.size() &&
           (std::memcpy(&chunk, s.data() + i, 8), (chunk & 0x8080808080808080ull) == 0)) {
      i += 8;
    }
    if (i >= s.size()) break;
    size_t n = ValidSequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string ToValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = ValidSequenceLength(s, i);
    if (n > 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    out += "\xEF\xBF\xBD";
    // Skip the lead byte and any continuation bytes that belonged to this broken sequence.
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80 &&
           ValidSequenceLength(s, i) == 0) {
      ++i;
    }
  }
  return out;
}

size_t StableReplacementPrefix(std::string_view s) {
  const auto continuation = [&](size_t k) {
    return (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80;
  };
  size_t stable = 0;
  for (size_t i = 0; i < s.size();) {
    // The steps of ToValidUtf8. A valid sequence wholly inside s is final; a lead byte that is
    // only invalid for lack of bytes (truncated) is not yet.
    const size_t n = ValidSequenceLength(s, i);
    if (n > 0) {
      i += n;
      stable = i;
      continue;
    }
    ++i;
    while (i < s.size() && continuation(i)) ++i;
    // A broken run ends for good only at a byte that is not a continuation byte.
    if (i == s.size()) break;
    stable = i;
  }
  return stable;
}

}  // namespace refinery::utf8
