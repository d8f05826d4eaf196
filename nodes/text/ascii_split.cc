#include "nodes/text/ascii_split.h"

#include <string>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "nodes/text/split_patterns.h"

namespace refinery::text {

namespace {

// Which ASCII characters the regex engine puts in `cls` (a class as the patterns write it,
// compiled with the same UTF + UCP options as the split pattern).
bool ClassMembers(const char* cls, bool members[128]) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(cls), PCRE2_ZERO_TERMINATED,
                    PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &error, &offset, nullptr);
  if (code == nullptr) return false;
  pcre2_match_data* match = pcre2_match_data_create(1, nullptr);
  for (int c = 0; c < 128; ++c) {
    const char ch = static_cast<char>(c);
    members[c] = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(&ch), 1, 0, 0, match, nullptr) > 0;
  }
  pcre2_match_data_free(match);
  pcre2_code_free(code);
  return true;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace

std::optional<AsciiSplitter> AsciiSplitter::ForPattern(std::string_view pattern) {
  std::optional<AsciiSplitter> s;
  if (pattern == kR50kPattern) s.emplace(AsciiSplitter(Grammar::kR50k));
  if (pattern == kCl100kPattern) s.emplace(AsciiSplitter(Grammar::kCl100k));
  if (pattern == kO200kPattern) s.emplace(AsciiSplitter(Grammar::kO200k));
  if (!s) return s;
  const std::pair<const char*, uint8_t> classes[] = {
      {"\\p{L}", kLetter},
      {"\\p{N}", kDigit},
      {"\\s", kSpace},
      {"[\\r\\n]", kNewline},
      {"[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]", kUpper},
      {"[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]", kLower},
  };
  for (const auto& [cls, bit] : classes) {
    bool members[128];
    if (!ClassMembers(cls, members)) return std::nullopt;
    for (int c = 0; c < 128; ++c) {
      if (members[c]) s->classes_[c] |= bit;
    }
  }
  for (int c = 0; c < 128; ++c) {
    uint8_t& k = s->classes_[c];
    if (!(k & (kLetter | kDigit | kSpace))) k |= kOther;
    // The scans below assume the classes partition ASCII and that a letter is exactly one of
    // upper/lower; if an engine ever disagreed, leave everything to it.
    const int main_classes = !!(k & kLetter) + !!(k & kDigit) + !!(k & kSpace) + !!(k & kOther);
    const bool letter_ok = !(k & kLetter) || (!!(k & kUpper) != !!(k & kLower));
    if (main_classes != 1 || !letter_ok || ((k & kNewline) && !(k & kSpace))) return std::nullopt;
  }
  for (int c = 128; c < 256; ++c) s->classes_[c] = kNonAscii;
  return s;
}

size_t AsciiSplitter::Whitespace(std::string_view t, size_t pos) const {
  const size_t j = AsciiRun(t, pos, kSpace);
  if (j == 0) return 0;
  auto after_last_newline = [&]() -> size_t {
    for (size_t k = j; k > pos; --k) {
      if (classes_[static_cast<uint8_t>(t[k - 1])] & kNewline) return k;
    }
    return 0;
  };
  switch (grammar_) {
    case Grammar::kR50k:  // \s++$ | \s+(?!\S) | \s
      if (j == t.size()) return j;
      break;
    case Grammar::kCl100k:  // \s++$ | \s*[\r\n] | \s+(?!\S) | \s
      if (j == t.size()) return j;
      if (size_t k = after_last_newline()) return k;
      break;
    case Grammar::kO200k:  // \s*[\r\n]+ | \s+(?!\S) | \s+
      if (size_t k = after_last_newline()) return k;
      if (j == t.size()) return j;
      break;
  }
  // \s+(?!\S) backs off one space so the last one can lead the next word; a single space
  // before a non-space is a piece of its own.
  return j - pos >= 2 ? j - 1 : pos + 1;
}

// '(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s
size_t AsciiSplitter::R50k(std::string_view t, size_t pos) const {
  const uint8_t c = At(t, pos);
  if (c & kNonAscii) return 0;
  if (t[pos] == '\'' && pos + 1 < t.size()) {  // case-sensitive: only ASCII can match
    const char a = t[pos + 1];
    if (a == 's' || a == 'd' || a == 'm' || a == 't') return pos + 2;
    if (pos + 2 < t.size()) {
      const char b = t[pos + 2];
      if ((a == 'l' && b == 'l') || (a == 'v' && b == 'e') || (a == 'r' && b == 'e'))
        return pos + 3;
    }
  }
  size_t from = pos;
  uint8_t k = c;
  if (t[pos] == ' ') {  // ` ?` gives the space to a letter, digit or other run after it
    const uint8_t next = At(t, pos + 1);
    if (next & kNonAscii) return 0;
    if (next & (kLetter | kDigit | kOther)) {
      from = pos + 1;
      k = next;
    }
  }
  for (uint8_t run : {kLetter, kDigit, kOther}) {
    if (k & run) return AsciiRun(t, from, run);
  }
  return Whitespace(t, pos);
}

// '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|
// \s++$|\s*[\r\n]|\s+(?!\S)|\s
size_t AsciiSplitter::Cl100k(std::string_view t, size_t pos) const {
  const uint8_t c = At(t, pos);
  if (c & kNonAscii) return 0;
  const uint8_t next = At(t, pos + 1);
  if (t[pos] == '\'' && pos + 1 < t.size()) {
    // Case-insensitive: a non-ASCII character may fold to s or k (U+017F, U+212A).
    if (next & kNonAscii) return 0;
    const char a = Lower(t[pos + 1]);
    if (a == 's' || a == 'd' || a == 'm' || a == 't') return pos + 2;
    if (a == 'l' || a == 'v' || a == 'r') {
      if (At(t, pos + 2) & kNonAscii) return 0;
      const char b = pos + 2 < t.size() ? Lower(t[pos + 2]) : '\0';
      if ((a == 'l' && b == 'l') || (a == 'v' && b == 'e') || (a == 'r' && b == 'e'))
        return pos + 3;
    }
  }
  if (c & kLetter) return AsciiRun(t, pos, kLetter);
  if ((c & (kSpace | kOther)) && !(c & kNewline)) {  // a possible one-character prefix
    if (next & kNonAscii) return 0;
    if (next & kLetter) return AsciiRun(t, pos + 1, kLetter);
  }
  if (c & kDigit) {
    size_t j = pos + 1;
    while (j < pos + 3 && (At(t, j) & kDigit)) ++j;
    if (j < pos + 3 && (At(t, j) & kNonAscii)) return 0;
    return j;
  }
  size_t from = t.size();  // where a run of "other" characters starts, if one does
  if (c & kOther) from = pos;
  if (t[pos] == ' ' && (next & kOther)) from = pos + 1;
  if (from != t.size()) {
    const size_t j = AsciiRun(t, from, kOther);
    return j == 0 ? 0 : Run(t, j, kNewline);
  }
  return Whitespace(t, pos);
}

// [^\r\n\p{L}\p{N}]?[Upper]*[Lower]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
// [^\r\n\p{L}\p{N}]?[Upper]+[Lower]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
// \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
size_t AsciiSplitter::O200k(std::string_view t, size_t pos) const {
  const uint8_t c = At(t, pos);
  if (c & kNonAscii) return 0;
  const uint8_t next = At(t, pos + 1);
  size_t word = t.size();  // where the letters start, if the first two alternatives apply
  if (c & kLetter) {
    word = pos;
  } else if ((c & (kSpace | kOther)) && !(c & kNewline)) {
    if (next & kNonAscii) return 0;
    if (next & kLetter) word = pos + 1;
  }
  if (word != t.size()) {
    // Upper* Lower+ or Upper+ Lower*: in ASCII either way the word is the upper run then the
    // lower run (a letter is exactly one of the two).
    const size_t upper_end = AsciiRun(t, word, kUpper);
    if (upper_end == 0) return 0;
    const size_t end = AsciiRun(t, upper_end, kLower);
    if (end == 0) return 0;
    if (end < t.size() && t[end] == '\'') {
      const uint8_t a_class = At(t, end + 1);
      if (a_class & kNonAscii) return 0;
      const char a = end + 1 < t.size() ? Lower(t[end + 1]) : '\0';
      if (a == 's' || a == 't' || a == 'm' || a == 'd') return end + 2;
      if (a == 'r' || a == 'v' || a == 'l') {
        if (At(t, end + 2) & kNonAscii) return 0;
        const char b = end + 2 < t.size() ? Lower(t[end + 2]) : '\0';
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
          return end + 3;
      }
    }
    return end;
  }
  if (c & kDigit) {
    size_t j = pos + 1;
    while (j < pos + 3 && (At(t, j) & kDigit)) ++j;
    if (j < pos + 3 && (At(t, j) & kNonAscii)) return 0;
    return j;
  }
  size_t from = t.size();
  if (c & kOther) from = pos;
  if (t[pos] == ' ' && (next & kOther)) from = pos + 1;
  if (from != t.size()) {
    size_t j = AsciiRun(t, from, kOther);
    if (j == 0) return 0;
    while (j < t.size() && (t[j] == '\r' || t[j] == '\n' || t[j] == '/')) ++j;
    return j;
  }
  return Whitespace(t, pos);
}

}  // namespace refinery::text
