// Pretokenizer: splits text into the pieces BPE works on, with each encoding's own regex,
// matched by PCRE2 (JIT) in UTF + Unicode-property mode. PCRE2 is used rather than a hand-made
// splitter because the tiktoken patterns depend on Unicode letter/number/mark classes,
// possessive quantifiers, case-insensitive contractions and a negative lookahead; PCRE2
// implements all of them as written, with Unicode tables that track the standard.
// `$` matches only at the very end (PCRE2_DOLLAR_ENDONLY), as in tiktoken's Rust regex.
// For the tiktoken patterns, pieces decided by ASCII bytes alone are found by AsciiSplitter
// (ascii_split.h) without entering PCRE2; the rest go to PCRE2.
//
// Thread safety: Split may be called concurrently (match data is per thread).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "graph/status.h"
#include "nodes/text/ascii_split.h"

namespace refinery::text {

class Pretokenizer {
 public:
  // `ascii_fast_path` false: every piece from PCRE2 (the reference the fast path is tested
  // against).
  static StatusOr<std::unique_ptr<Pretokenizer>> Compile(const std::string& pattern,
                                                         bool ascii_fast_path = true);
  ~Pretokenizer();

  // Calls f(piece) for each piece of `text` (valid UTF-8), in order.
  template <typename F>
  void Split(std::string_view text, F&& f) const {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = ascii_ ? ascii_->End(text, pos) : 0;
      if (end == 0) end = NextEnd(text, pos);
      f(text.substr(pos, end - pos));
      pos = end;
    }
  }

 private:
  Pretokenizer() = default;
  // End of the piece that starts at `pos` (at least pos + 1 character).
  size_t NextEnd(std::string_view text, size_t pos) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::optional<AsciiSplitter> ascii_;
};

}  // namespace refinery::text
