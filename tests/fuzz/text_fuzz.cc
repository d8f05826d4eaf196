// Text handling on arbitrary bytes: every tiktoken encoding (decode(encode(x)) == x for valid
// UTF-8; invalid UTF-8 encodes as U+FFFD, the same way every time) and the sentence splitter.
// The rank files come from tools/fetch-vocab.sh (.cache/vocab or $REFINERY_VOCAB_DIR).
#include <cstdlib>

#include "graph/io/utf8.h"
#include "nodes/text/sentence_splitter.h"
#include "nodes/text/tiktoken_encoding.h"
#include "tests/fuzz/fuzz_support.h"

namespace {
constexpr const char* kEncodings[] = {"r50k_base", "p50k_base", "cl100k_base", "o200k_base"};
}  // namespace

// The rank files load once, here: their load (seconds under ASan) is not any input's time.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  for (const char* name : kEncodings)
    if (!refinery::text::TiktokenEncoding::Get(name).ok()) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = refinery::fuzz::Input(data, size);
  const bool valid = refinery::utf8::IsValidUtf8(text);
  for (const char* name : kEncodings) {
    auto enc = refinery::text::TiktokenEncoding::Get(name);
    if (!enc.ok()) std::abort();  // set-up provides them: a missing file is a harness error
    std::vector<uint32_t> ids;
    (*enc)->EncodeOrdinary(text, &ids);
    const std::string back = (*enc)->Decode(ids);
    std::vector<uint32_t> again;
    (*enc)->EncodeOrdinary(back, &again);
    if (valid && back != text) std::abort();  // decode(encode(x)) == x
    if (again != ids) std::abort();           // invalid UTF-8: repaired the same way every time
  }
  for (auto mode : {refinery::text::LineBreaks::kAuto, refinery::text::LineBreaks::kSentence,
                    refinery::text::LineBreaks::kWrap}) {
    for (const auto& s : refinery::text::SplitSentences(text, mode))
      if (s.begin > s.end || s.end > text.size()) std::abort();
  }
  return 0;
}
