// The llama tokenizer on arbitrary bytes, with and without special-token parsing, for every
// vocabulary at hand: the generated tiny model (SentencePiece with byte fallback) and, when
// ../shared is beside the clone, llama.cpp's SPM and GPT-2 BPE test vocabularies. Properties:
// ids are in range, and valid UTF-8 decodes back to itself (SPM adds its leading space).
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <vector>

#include "graph/io/utf8.h"
#include "nodes/llm/gguf.h"
#include "nodes/llm/llama_tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

std::vector<refinery::llm::LlamaTokenizer>& Tokenizers() {
  static std::vector<refinery::llm::LlamaTokenizer> all;
  return all;
}

void Load(const std::string& path) {
  auto file = refinery::llm::GgufFile::Open(path);
  if (!file.ok()) std::abort();  // set-up provides these: a harness error, not a finding
  auto tok = refinery::llm::LlamaTokenizer::FromGguf(**file);
  if (!tok.ok()) std::abort();
  Tokenizers().push_back(std::move(*tok));
}

}  // namespace

// Vocabularies load once, here, so no input pays for them.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tiny = std::getenv("REFINERY_TINY_MODEL");
  Load(tiny ? tiny : ".cache/models/tiny-llama.gguf");
  for (const char* name : {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"}) {
    const std::string path = std::string("../shared/models/vocab/") + name;
    if (std::filesystem::exists(path)) Load(path);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = refinery::fuzz::Input(data, size);
  const bool valid = refinery::utf8::IsValidUtf8(text) && text.find('\0') == std::string::npos;
  for (const auto& tok : Tokenizers()) {
    for (bool special : {false, true}) {
      const auto ids = tok.Encode(text, {.add_bos = false, .parse_special = special});
      for (int32_t id : ids)
        if (id < 0 || size_t(id) >= tok.size()) std::abort();
      if (special || !valid || text.empty()) continue;
      // SPM writes spaces as U+2581 and decodes U+2581 as a space (as llama.cpp does), so text
      // that contains U+2581 itself cannot come back unchanged.
      const bool spm = tok.model() == "llama";
      if (spm && text.find("\xe2\x96\x81") != std::string::npos) continue;
      const std::string back = tok.Decode(ids);
      if (back != (spm ? " " + text : text)) std::abort();
    }
  }
  return 0;
}
