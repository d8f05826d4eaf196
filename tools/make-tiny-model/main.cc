// make-tiny-model: writes a llama-architecture GGUF with random weights and a real (small)
// SentencePiece-style tokenizer learned from text files, so that an `infer` pipeline runs end to
// end on a machine without any downloaded model. The text it generates is random: it is a
// plumbing and speed test, not a language model. Point `model:` at a real GGUF file (e.g.
// stories260K, TinyLlama) for real output.
//
//   make-tiny-model OUT.gguf [--corpus FILE]... [--merges 500] [--dim 64] [--layers 2] [--heads 8]
//                   [--kv-heads 4] [--hidden 172] [--context 2048] [--seed 1] [--type
//                   f32|f16|bf16|q8_0]
//                   [--tied]
#include <CLI/CLI.hpp>
#include <fstream>
#include <sstream>

#include "nodes/llm/model_writer.h"

int main(int argc, char** argv) {
  using namespace refinery::llm;
  CLI::App app{"make-tiny-model: a random-weight llama GGUF with a small real tokenizer"};
  std::string out, type = "f32";
  std::vector<std::string> corpus;
  int merges = 500;
  RandomLlamaSpec spec;
  spec.context = 2048;  // room for the sample requests' prompts
  app.add_option("output", out, "GGUF file to write")->required();
  app.add_option("--corpus", corpus, "text files the tokenizer is learned from");
  app.add_option("--merges", merges, "BPE merges to learn")->check(CLI::Range(0, 100000));
  app.add_option("--dim", spec.dim, "embedding width")->check(CLI::Range(8, 16384));
  app.add_option("--layers", spec.layers, "blocks")->check(CLI::Range(1, 256));
  app.add_option("--heads", spec.heads, "attention heads")->check(CLI::Range(1, 256));
  app.add_option("--kv-heads", spec.kv_heads, "key/value heads (GQA)")->check(CLI::Range(1, 256));
  app.add_option("--hidden", spec.hidden, "feed-forward width")->check(CLI::Range(1, 65536));
  app.add_option("--context", spec.context, "context length")->check(CLI::Range(8, 1 << 20));
  app.add_option("--seed", spec.seed, "random seed");
  app.add_option("--type", type, "tensor type")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}));
  app.add_flag("--tied", spec.tied_output, "output projection tied to the token embedding");
  CLI11_PARSE(app, argc, argv);
  if (spec.dim % spec.heads || spec.heads % spec.kv_heads || (spec.dim / spec.heads) % 2) {
    std::fprintf(
        stderr,
        "make-tiny-model: dim must split into an even head size, and kv-heads must divide heads\n");
    return 2;
  }
  spec.type = type == "f16"    ? GgmlType::kF16
              : type == "bf16" ? GgmlType::kBF16
              : type == "q8_0" ? GgmlType::kQ8_0
                               : GgmlType::kF32;
  std::string text;
  for (const std::string& f : corpus) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "make-tiny-model: cannot read %s\n", f.c_str());
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    text += ss.str() + "\n";
  }
  TrainSpmPieces(text, merges, &spec.pieces, &spec.scores);
  const refinery::Status s = RandomLlama(spec).Write(out);
  if (!s.ok()) {
    std::fprintf(stderr, "make-tiny-model: %s\n", s.message().c_str());
    return 1;
  }
  const long head = spec.dim / spec.heads, kv = head * spec.kv_heads, V = VocabSize(spec);
  const long params = V * spec.dim * (spec.tied_output ? 1 : 2) +
                      long(spec.layers) * (2L * spec.dim * spec.dim + 2L * spec.dim * kv +
                                           3L * spec.dim * spec.hidden);
  std::printf("wrote %s: vocab %ld, dim %d, layers %d, heads %d/%d, %.2f M parameters (%s)\n",
              out.c_str(), V, spec.dim, spec.layers, spec.heads, spec.kv_heads, params / 1e6,
              type.c_str());
  return 0;
}
