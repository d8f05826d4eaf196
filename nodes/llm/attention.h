// Attention of one query row over a sequence's cache, laid out so that a head's pass reads its
// keys and values as sequential streams (the hardware prefetchers follow those; a layout with one
// stream per dimension reached a third of the read bandwidth). Per layer and KV head:
//   keys:   tiles of kKeyTile positions, each [head_dim][kKeyTile] (the scores of a tile's
//           positions accumulate along contiguous memory): element (t, i) at
//           KeyOffset(t, i, head_dim) from the head's first key;
//   values: [position][head_dim].
// A layer holds PaddedCapacity(capacity) positions per KV head, KV heads one after the other.
// Compiled for AVX2+FMA and for baseline x86-64, picked at run time; exp is a polynomial accurate
// to float rounding (the tests measure 2.4e-7 against a double-precision reference). The query
// heads of a GQA group share each key and value load. The cache is float32, float16 or q8_0
// (KvFormat); every format runs through one head loop, with the cache read through a view type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nodes/llm/llama_model.h"

namespace refinery::llm {

inline constexpr int kKeyTile = 32;
// Positions a layer's storage holds per KV head for `capacity` usable positions (whole tiles).
inline constexpr int PaddedCapacity(int capacity) {
  return (capacity + kKeyTile - 1) / kKeyTile * kKeyTile;
}
// Where key dimension i of position t sits among its KV head's keys (rows = head_dim; for q8_0
// key scales, rows = head_dim / 32 and i is the block).
inline constexpr size_t KeyOffset(int t, int i, int rows) {
  return size_t(t / kKeyTile) * kKeyTile * rows + size_t(i) * kKeyTile + size_t(t % kKeyTile);
}

// Which kernels run: the vector ones where the CPU has AVX2+FMA (kBest), or the plain C++ ones
// (kPlain: the reference the tests compare the vector kernels with, and what older CPUs run).
enum class AttentionKernels { kBest, kPlain };

// The KV heads one call covers (with their query heads): all by default; threads split a row's
// attention by giving each a range (the outputs of different ranges do not overlap).
struct KvHeadRange {
  int first = 0;
  int count = -1;  // -1: to the last KV head
};

// q: [heads][head_dim]; k / v: this layer's keys and values; n positions; `capacity` as given to
// the cache (the layout uses PaddedCapacity(capacity)); out: [heads][head_dim], written for the
// query heads of `heads` only; scratch: any vector, grown as needed (one per thread). The cache
// holds float32, or float16 (half the memory; converted as it is read).
void AttendCached(const LlamaConfig& c, const float* q, const float* k, const float* v,
                  int capacity, int n, float* out, std::vector<float>& scratch,
                  AttentionKernels kernels = AttentionKernels::kBest, KvHeadRange heads = {});
void AttendCached(const LlamaConfig& c, const float* q, const uint16_t* k, const uint16_t* v,
                  int capacity, int n, float* out, std::vector<float>& scratch,
                  AttentionKernels kernels = AttentionKernels::kBest, KvHeadRange heads = {});

// A q8_0 cache layer (keys or values): int8 codes in the layout above, and one f16 scale per 32
// values of a head (as llama.cpp's q8_0 cache blocks them along the head), laid out as the codes
// with head_dim / 32 in place of head_dim. Needs head_dim % 32 == 0.
inline constexpr int kQ8Block = 32;
struct Q8Cache {
  int8_t* codes;
  uint16_t* scales;
};
void AttendCached(const LlamaConfig& c, const float* q, const Q8Cache& k, const Q8Cache& v,
                  int capacity, int n, float* out, std::vector<float>& scratch,
                  AttentionKernels kernels = AttentionKernels::kBest, KvHeadRange heads = {});

// One position's key (after RoPE) and value into a layer of the cache: float16 rounded to nearest
// even (as F16C and ggml round); q8_0 blocks quantised exactly as a Q8_0 tensor's.
void StoreKey(const LlamaConfig& c, const float* key, int capacity, int pos, float* k);
void StoreKey(const LlamaConfig& c, const float* key, int capacity, int pos, uint16_t* k);
void StoreKey(const LlamaConfig& c, const float* key, int capacity, int pos, const Q8Cache& k);
void StoreValue(const LlamaConfig& c, const float* value, int capacity, int pos, float* v);
void StoreValue(const LlamaConfig& c, const float* value, int capacity, int pos, uint16_t* v);
void StoreValue(const LlamaConfig& c, const float* value, int capacity, int pos, const Q8Cache& v);

// out[i] = silu(gate[i]) * up[i] (the feed-forward's gate), eight values at a time with AVX2.
void SwiGlu(const float* gate, const float* up, int n, float* out);

}  // namespace refinery::llm
