// GGUF files: the reader's structure checks, then the llama model and tokenizer built from what
// it accepts. Each input is written to a file (the reader maps files).
#include <unistd.h>

#include <fstream>

#include "nodes/llm/gguf.h"
#include "nodes/llm/llama_model.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/refinery-gguf-fuzz-" + std::to_string(::getpid());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  (void)refinery::fuzz::Input(data, 0);
  auto file = refinery::llm::GgufFile::Open(path);
  if (file.ok()) (void)refinery::llm::LlamaModel::FromGguf(*file);
  return 0;
}
