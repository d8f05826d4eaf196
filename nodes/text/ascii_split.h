// AsciiSplitter: the tiktoken split regexes (split_patterns.h) evaluated directly, for pieces
// whose decision only involves ASCII bytes. It answers "where does the piece starting here
// end", exactly as the regex engine would, or 0 when the answer depends on a byte >= 0x80 (a
// possible Unicode letter, digit, mark, space or case-folding) - then the caller asks PCRE2.
//
// Why: on English text PCRE2's per-match overhead (JIT code + pcre2_match entry) was a third of
// encode time (perf, linux-doc, cl100k); a table-driven scan of the same alternatives costs a
// few nanoseconds per piece. The character classes are not hand-made: they are read from the
// compiled regex engine for each of the 128 ASCII characters, so both paths agree by
// construction, and a differential test checks the boundaries against PCRE2 alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace refinery::text {

class AsciiSplitter {
 public:
  enum class Grammar { kR50k, kCl100k, kO200k };

  // The splitter for one of the patterns in split_patterns.h; nullopt for any other pattern
  // (or if the regex engine's ASCII classes are not what the grammar assumes).
  static std::optional<AsciiSplitter> ForPattern(std::string_view pattern);

  // End of the piece that starts at `pos` (< text.size()), or 0 if a non-ASCII byte decides it.
  size_t End(std::string_view text, size_t pos) const {
    switch (grammar_) {
      case Grammar::kR50k:
        return R50k(text, pos);
      case Grammar::kCl100k:
        return Cl100k(text, pos);
      case Grammar::kO200k:
        return O200k(text, pos);
    }
    return 0;
  }

 private:
  // Class bits per byte. kOther = ASCII that is not a letter, digit or space; kNonAscii = any
  // byte >= 0x80 (its meaning needs the whole UTF-8 character).
  enum : uint8_t {
    kLetter = 1,
    kDigit = 2,
    kSpace = 4,
    kOther = 8,
    kNewline = 16,  // \r or \n
    kUpper = 32,    // o200k's [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
    kLower = 64,    // o200k's [\p{Ll}\p{Lm}\p{Lo}\p{M}]
    kNonAscii = 128,
  };

  explicit AsciiSplitter(Grammar grammar) : grammar_(grammar) {}
  uint8_t At(std::string_view t, size_t i) const {
    return i < t.size() ? classes_[static_cast<uint8_t>(t[i])] : 0;
  }
  // First index >= i whose class has none of `mask` (or the end).
  size_t Run(std::string_view t, size_t i, uint8_t mask) const {
    while (i < t.size() && (classes_[static_cast<uint8_t>(t[i])] & mask)) ++i;
    return i;
  }
  size_t R50k(std::string_view t, size_t pos) const;
  size_t Cl100k(std::string_view t, size_t pos) const;
  size_t O200k(std::string_view t, size_t pos) const;
  // The whitespace alternatives (each grammar's own), for a run of spaces from pos.
  size_t Whitespace(std::string_view t, size_t pos) const;
  // A run of `mask` from `from` that must not stop at a non-ASCII byte (which might continue
  // it): its end, or 0.
  size_t AsciiRun(std::string_view t, size_t from, uint8_t mask) const {
    const size_t j = Run(t, from, mask);
    return (At(t, j) & kNonAscii) ? 0 : j;
  }

  Grammar grammar_;
  uint8_t classes_[256] = {};
};

}  // namespace refinery::text
