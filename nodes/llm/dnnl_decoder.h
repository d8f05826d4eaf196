// DnnlDecoder: the llama forward pass with every matrix product on oneDNN, over a batch of rows
// that may come from many sequences at once (prompt chunks and single decode tokens alike):
// each layer's products are one [rows, in] x [in, out] matmul, so concurrent requests share
// each weight read (docs/architecture.md, oneDNN facts: fold requests into M).
//
//   auto dec = DnnlDecoder::Create(model, WeightFormat::kBF16, /*max_rows=*/256);
//   KvCache cache = (*dec)->NewCache(512);
//   int n;  const float* logits = (*dec)->Step(rows, &n);   // [n][vocab] for rows asking
//
// Weights: f32 (as loaded), bf16 (half the bytes; activations rounded to bf16 for the product),
// or int8 (symmetric per output channel; activations quantised per step with one scale). The
// primitives are created once per matrix with a runtime row count and the weights reordered once
// into oneDNN's preferred layout: the per-token path creates nothing and allocates nothing once
// the scratch buffers have grown to the largest batch.
// Not thread-safe: one Step at a time (the generation scheduler owns one decoder).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "graph/status.h"
#include "nodes/llm/attention.h"
#include "nodes/llm/llama_model.h"

namespace refinery::llm {

enum class WeightFormat { kF32, kBF16, kInt8 };
StatusOr<WeightFormat> ParseWeightFormat(std::string_view name);
const char* WeightFormatName(WeightFormat f);

// How the KV cache stores keys and values: float32, float16 (half the memory per sequence, as
// llama.cpp's default; each value rounded to nearest even when stored), or q8_0 (int8 codes with
// one f16 scale per 32 values of a head: 8.5 bits per value, as llama.cpp's q8_0 cache; needs
// a head size that is a multiple of 32).
enum class KvFormat { kF32, kF16, kQ8_0 };
StatusOr<KvFormat> ParseKvFormat(std::string_view name);
const char* KvFormatName(KvFormat f);
// Bytes of KV cache one position of one sequence takes (all layers, keys and values).
size_t KvBytesPerPosition(const LlamaConfig& c, KvFormat f);

// One sequence's keys and values, in the decoder's KvFormat (k/v for f32, k16/v16 for f16,
// k8/v8 and their scales for q8_0): layer after layer, each laid out as attention.h says (keys in
// tiles of positions, values by position, per KV head; PaddedCapacity(capacity) positions).
struct KvCache {
  int capacity = 0;
  std::vector<float> k, v;
  std::vector<uint16_t> k16, v16;
  std::vector<int8_t> k8, v8;
  std::vector<uint16_t> k8_scales, v8_scales;
  bool f16() const { return !k16.empty(); }
  bool q8() const { return !k8.empty(); }
  // Where layer l starts among k/v (k16/v16, k8/v8; the q8_0 scales at a 32nd of it).
  size_t LayerStart(int l, int kv_dim) const {
    return size_t(l) * size_t(PaddedCapacity(capacity)) * size_t(kv_dim);
  }
  // The q8_0 layer that starts at value offset `at` (a multiple of kQ8Block).
  Q8Cache Q8Keys(size_t at) { return {&k8[at], &k8_scales[at / kQ8Block]}; }
  Q8Cache Q8Values(size_t at) { return {&v8[at], &v8_scales[at / kQ8Block]}; }
  size_t bytes() const {
    return (k.size() + v.size()) * 4 + (k16.size() + v16.size()) * 2 + k8.size() + v8.size() +
           (k8_scales.size() + v8_scales.size()) * 2;
  }
};

struct DecodeRow {
  KvCache* cache = nullptr;
  int32_t token = 0;
  int pos = 0;          // rows of one sequence come in position order within a step
  bool logits = false;  // compute this row's logits
};

class Linear;

class DnnlDecoder {
 public:
  // `threads`: how many threads the quantized-weight products use (oneDNN's are OpenMP's,
  // set by the caller's omp_set_num_threads).
  static StatusOr<std::unique_ptr<DnnlDecoder>> Create(std::shared_ptr<const LlamaModel> model,
                                                       WeightFormat format, int max_rows = 512,
                                                       int threads = 1,
                                                       KvFormat kv = KvFormat::kF32);
  ~DnnlDecoder();

  KvCache NewCache(int capacity) const;
  size_t kv_bytes_per_position() const { return KvBytesPerPosition(model_->config, kv_); }
  KvFormat kv_format() const { return kv_; }
  // Logits of the rows with `logits` set, in row order, [*logit_rows][vocab]; valid until the
  // next Step.
  const float* Step(std::span<const DecodeRow> rows, int* logit_rows);

  const LlamaModel& model() const { return *model_; }
  WeightFormat format() const { return format_; }
  int max_rows() const { return max_rows_; }
  // Bytes of weight matrices one step reads (the memory traffic a decode token costs).
  size_t weight_bytes() const;

 private:
  DnnlDecoder() = default;
  struct Impl;
  std::shared_ptr<const LlamaModel> model_;
  WeightFormat format_ = WeightFormat::kF32;
  KvFormat kv_ = KvFormat::kF32;
  int max_rows_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace refinery::llm
