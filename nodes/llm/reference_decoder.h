// ReferenceDecoder: the llama forward pass in plain C++, one token at a time, written to be read
// rather than to be fast. Tests hold the oneDNN decoder to it (and it to llama.cpp's outputs).
//
//   ReferenceDecoder ref(model);
//   std::vector<float> logits;
//   for (int32_t id : prompt) logits = ref.Forward(id);   // positions 0, 1, 2, ...
#pragma once

#include <memory>
#include <vector>

#include "nodes/llm/llama_model.h"

namespace refinery::llm {

class ReferenceDecoder {
 public:
  explicit ReferenceDecoder(std::shared_ptr<const LlamaModel> model);
  std::vector<float> Forward(int32_t token);
  int position() const { return pos_; }

 private:
  std::shared_ptr<const LlamaModel> model_;
  int pos_ = 0;
  std::vector<std::vector<float>> k_cache_, v_cache_;  // per layer: [pos][kv_dim]
};

// Shared pieces of the forward pass (both decoders use them, so they agree by construction on
// the parts that are not matrix products).
void RmsNorm(const float* x, const float* weight, int n, float eps, float* out);
// Rotates each head's first rope_dims values for position `pos` (rope.h: the pairs and angles
// of the model's rope variant).
void Rope(const LlamaConfig& c, float* x, int heads, int pos);
// Adds a bias vector to `n` values when the model has one (qwen2's q/k/v); no-op when empty.
void AddBias(const std::vector<float>& bias, float* x);
float Silu(float x);
// Attention of one query row over positions [0, n) of a KV cache laid out [pos][kv_dim].
void Attend(const LlamaConfig& c, const float* q, const float* k_cache, const float* v_cache, int n,
            float* out, std::vector<float>& scratch);

}  // namespace refinery::llm
