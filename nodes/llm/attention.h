// Attention of one query row over a sequence's cache, laid out for vector units: keys transposed
// per KV head ([kv_head][head_dim][capacity], so the scores of all positions accumulate along
// contiguous memory), values by position ([position][kv_dim]). Compiled for AVX2+FMA and for
// baseline x86-64, picked at run time; exp is a polynomial accurate to float rounding, so results
// match the scalar reference within 1e-6 relative. The cache is float32, float16 or q8_0
// (KvFormat); every format runs through one head loop, with the cache read through a view type.
#pragma once

#include <cstdint>
#include <vector>

#include "nodes/llm/llama_model.h"

namespace refinery::llm {

// Which kernels run: the vector ones where the CPU has AVX2+FMA (kBest), or the plain C++ ones
// (kPlain: the reference the tests compare the vector kernels with, and what older CPUs run).
enum class AttentionKernels { kBest, kPlain };

// q: [heads][head_dim]; k_t: this layer's transposed keys; v: this layer's values; n positions.
// The cache holds float32, or float16 (half the memory; converted as it is read).
void AttendCached(const LlamaConfig& c, const float* q, const float* k_t, const float* v,
                  int capacity, int n, float* out, std::vector<float>& scratch,
                  AttentionKernels kernels = AttentionKernels::kBest);
void AttendCached(const LlamaConfig& c, const float* q, const uint16_t* k_t, const uint16_t* v,
                  int capacity, int n, float* out, std::vector<float>& scratch,
                  AttentionKernels kernels = AttentionKernels::kBest);

// A q8_0 cache layer (keys or values): int8 codes in the f32 layout above, and one f16 scale per
// 32 values of a head ([kv_head][head_dim / 32][capacity] for keys, [position][kv_dim / 32] for
// values), as llama.cpp's q8_0 cache blocks them along the head. Needs head_dim % 32 == 0.
inline constexpr int kQ8Block = 32;
struct Q8Cache {
  int8_t* codes;
  uint16_t* scales;
};
void AttendCached(const LlamaConfig& c, const float* q, const Q8Cache& k_t, const Q8Cache& v,
                  int capacity, int n, float* out, std::vector<float>& scratch,
                  AttentionKernels kernels = AttentionKernels::kBest);
// One position's key into the transposed q8_0 layout, and one position's value row (each block
// quantised exactly as a Q8_0 tensor block).
void StoreKey(const LlamaConfig& c, const float* k, int capacity, int pos, const Q8Cache& k_t);
void StoreValue(const LlamaConfig& c, const float* v, int pos, const Q8Cache& values);

// out[i] = silu(gate[i]) * up[i], vectorised (the feed-forward's gate).
void SwiGlu(const float* gate, const float* up, int n, float* out);

// Writes one position's key (after RoPE) into the transposed layout (as float16: rounded to
// nearest even, as F16C and ggml round).
void StoreKey(const LlamaConfig& c, const float* k, int capacity, int pos, float* k_t);
void StoreKey(const LlamaConfig& c, const float* k, int capacity, int pos, uint16_t* k_t);

}  // namespace refinery::llm
