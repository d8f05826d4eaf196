// LlamaModel: a llama-style decoder's configuration and weights, read from GGUF: the `llama`
// architecture (Llama 2/3, TinyLlama, Mistral, SmolLM files; Llama 3's rope scaling through the
// rope_freqs tensor) and `qwen2` (Qwen2/Qwen2.5: q/k/v biases and NeoX rope). Quantized matrices
// (Q4_0 ... Q8_0, Q2_K ... Q6_K) stay in the mapped file in their block format, never expanded (a
// Q4_K_M file takes its own size in memory, not four times it); F32/F16/BF16 matrices are kept as
// float32 and the oneDNN decoder converts them further (bf16, int8) when asked.
//
//   auto model = LlamaModel::Load("stories260K.gguf");   // shared: one copy per path per process
//
// Refused, with the file and the reason: other architectures, YaRN/LongRoPE rope scaling, tensor
// types other than those GgufFile reads, missing tensors, tensors whose shapes do not match the
// metadata, and inconsistent metadata (heads not dividing the width, KV heads not dividing the
// heads, ...).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/status.h"
#include "nodes/llm/gguf.h"
#include "nodes/llm/llama_tokenizer.h"
#include "nodes/llm/quant/matrix.h"

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
  // qwen2: NeoX-style rotation of the two halves of the rotated span (llama: adjacent pairs).
  bool rope_neox = false;
  // Linear rope scaling (rope.scaling.type linear): positions times 1 / rope.scaling.factor.
  float rope_freq_scale = 1.0f;
  // Llama 3 rope scaling: pair i's angle divided by factor i (the rope_freqs tensor, rope_dims/2
  // values); empty when the file has none.
  std::vector<float> rope_freq_factors;
  float norm_eps = 1e-5f;
  int kv_dim() const { return kv_heads * head_dim; }
};

// A weight matrix [rows = out][cols = in], row-major, as the file stores it: a view into the
// mapped file the model keeps open (`q`), whatever the type (float32, float16 / bfloat16, or
// quantized blocks). Nothing is widened or copied at load; the decoder reads every type in place
// and converts float32 matrices into its own buffers only for the bf16 / int8 weight formats.
struct Weight {
  int rows = 0, cols = 0;
  quant::Matrix q;
  bool float32() const { return q.type == quant::Type::kF32; }
  bool half() const { return q.type == quant::Type::kF16 || q.type == quant::Type::kBF16; }
  bool quantized() const { return !float32() && !half(); }
  const float* f32() const { return float32() ? reinterpret_cast<const float*>(q.data) : nullptr; }
  // Row r as float (a copy, or the stored values converted): embedding lookups.
  void Row(int r, float* out) const;
  size_t parameters() const { return size_t(rows) * size_t(cols); }
  // Bytes a pass over the matrix reads as stored.
  size_t bytes() const { return q.bytes(); }
};

struct LlamaLayer {
  std::vector<float> attn_norm, ffn_norm;
  std::vector<float> bq, bk, bv;  // qwen2's q/k/v biases; empty for llama
  Weight wq, wk, wv, wo, w_gate, w_up, w_down;
};

struct LlamaModel {
  std::string path;
  std::string arch;                      // general.architecture: llama or qwen2
  std::shared_ptr<const GgufFile> file;  // keeps quantized weights mapped
  LlamaConfig config;
  Weight token_embd;  // [vocab][dim]
  std::vector<LlamaLayer> layers;
  std::vector<float> output_norm;
  const Weight& output() const { return tied_output ? token_embd : output_weight; }
  Weight output_weight;  // [vocab][dim]; empty when tied to token_embd
  bool tied_output = false;
  LlamaTokenizer tokenizer;

  // Loaded once per canonical path and shared by every node and pipeline that names it.
  static StatusOr<std::shared_ptr<const LlamaModel>> Load(const std::string& path);
  static StatusOr<std::shared_ptr<const LlamaModel>> FromGguf(std::shared_ptr<const GgufFile> file);
  size_t parameter_count() const;
  // Whether any matrix is kept quantized (the decoder then uses the block kernels for it).
  bool has_quantized_weights() const;
};

}  // namespace refinery::llm
