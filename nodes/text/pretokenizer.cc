#include "nodes/text/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace refinery::text {

struct Pretokenizer::Impl {
  pcre2_code* code = nullptr;
  ~Impl() {
    if (code) pcre2_code_free(code);
  }
};

namespace {
struct MatchData {
  pcre2_match_data* data = nullptr;
  ~MatchData() {
    if (data) pcre2_match_data_free(data);
  }
};
}  // namespace

Pretokenizer::~Pretokenizer() = default;

StatusOr<std::unique_ptr<Pretokenizer>> Pretokenizer::Compile(const std::string& pattern,
                                                              bool ascii_fast_path) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_NO_UTF_CHECK |
                        PCRE2_ANCHORED,  // at compile time: JIT ignores it at match time
                    &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    return Status::InvalidArgument("split pattern does not compile at offset " +
                                   std::to_string(offset) + ": " +
                                   reinterpret_cast<const char*>(message));
  }
  // Falls back to the (slower) interpreter where JIT is unavailable.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  std::unique_ptr<Pretokenizer> p(new Pretokenizer());
  p->impl_ = std::make_unique<Impl>();
  p->impl_->code = code;
  if (ascii_fast_path) p->ascii_ = AsciiSplitter::ForPattern(pattern);
  return p;
}

size_t Pretokenizer::NextEnd(std::string_view text, size_t pos) const {
  thread_local MatchData match;
  if (match.data == nullptr) match.data = pcre2_match_data_create(1, nullptr);
  int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), pos,
                       PCRE2_NO_UTF_CHECK, match.data, nullptr);
  if (rc > 0) {
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match.data);
    if (ov[0] == pos && ov[1] > pos) return ov[1];
  }
  // The tiktoken patterns match every character (their last branch is \s, and the others cover
  // the rest), so this is only reached for a foreign pattern: take one character alone.
  size_t end = pos + 1;
  while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  return end;
}

}  // namespace refinery::text
