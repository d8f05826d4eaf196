// LlamaModel: a llama-architecture decoder's configuration and weights, read from GGUF (the
// layout TinyLlama, SmolLM and Llama-family GGUF files use). Weights are kept as float32,
// dequantised once at load (F16, BF16, Q8_0 files); the oneDNN decoder converts them further
// (bf16, int8) when asked.
//
//   auto model = LlamaModel::Load("stories260K.gguf");   // shared: one copy per path per process
//
// Refused, with the file and the reason: architectures other than llama, tensor types other than
// F32/F16/BF16/Q8_0, missing tensors, tensors whose shapes do not match the metadata, and
// inconsistent metadata (heads not dividing the width, KV heads not dividing the heads, ...).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/status.h"
#include "nodes/llm/gguf.h"
#include "nodes/llm/llama_tokenizer.h"

namespace refinery::llm {

struct LlamaConfig {
  int dim = 0;     // embedding width
  int hidden = 0;  // feed-forward width
  int layers = 0;
  int heads = 0;
  int kv_heads = 0;
  int head_dim = 0;  // dim / heads
  int vocab = 0;
  int context = 0;    // llama.context_length
  int rope_dims = 0;  // rotated dimensions per head (llama.rope.dimension_count, default head_dim)
  float rope_base = 10000.0f;
  float norm_eps = 1e-5f;
  int kv_dim() const { return kv_heads * head_dim; }
};

struct LlamaLayer {
  std::vector<float> attn_norm, wq, wk, wv, wo;  // matrices [out][in], row-major
  std::vector<float> ffn_norm, w_gate, w_up, w_down;
};

struct LlamaModel {
  std::string path;
  LlamaConfig config;
  std::vector<float> token_embd;  // [vocab][dim]
  std::vector<LlamaLayer> layers;
  std::vector<float> output_norm;
  std::vector<float> output;  // [vocab][dim]; a copy of token_embd when tied
  bool tied_output = false;
  LlamaTokenizer tokenizer;

  // Loaded once per canonical path and shared by every node and pipeline that names it.
  static StatusOr<std::shared_ptr<const LlamaModel>> Load(const std::string& path);
  static StatusOr<std::shared_ptr<const LlamaModel>> FromGguf(const GgufFile& file);
  size_t parameter_count() const;
};

}  // namespace refinery::llm
