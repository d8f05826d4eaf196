// ForEachAsciiWord: the word rule of rouge-score's tokenizer, shared by ROUGE and the summarizer
// so that what the summarizer optimises is what the scorer counts. Lowercase as Python's
// str.lower(), every run of characters outside [a-z0-9] separates words.
//
//   ForEachAsciiWord(text, [&](std::string_view w) { ... });   // "Don't stop" -> don, t, stop
//
// Python's lower() maps exactly two non-ASCII characters into ASCII: U+212A KELVIN SIGN -> "k"
// (part of the word) and U+0130 (I with dot above) -> "i" + U+0307 (then a separator). All other
// non-ASCII characters, and bytes that are not valid UTF-8, separate words.
#pragma once

#include <string>
#include <string_view>

namespace refinery::text {

template <typename Fn>
void ForEachAsciiWord(std::string_view text, Fn&& fn) {
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) {
      fn(std::string_view(cur));
      cur.clear();
    }
  };
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      const char lower = (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : char(c);
      if ((lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9'))
        cur.push_back(lower);
      else
        flush();
      ++i;
      continue;
    }
    // Both special characters are 3-byte (U+212A: E2 84 AA) or 2-byte (U+0130: C4 B0) sequences.
    if (c == 0xE2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x84 &&
        static_cast<unsigned char>(text[i + 2]) == 0xAA) {
      cur.push_back('k');
      i += 3;
      continue;
    }
    if (c == 0xC4 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xB0) {
      cur.push_back('i');
      flush();
      i += 2;
      continue;
    }
    flush();
    ++i;  // continuation bytes that follow are >= 0x80 too and only separate again
  }
  flush();
}

}  // namespace refinery::text
