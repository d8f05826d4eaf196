// Activation rows quantised to int8 for integer dot products with quantized weights, as
// llama.cpp does (its CPU products never multiply dequantised weights with f32 activations):
// blocks of 32 with an f16-rounded scale for the legacy formats (Q8_0; the _1 kinds' minimum
// takes the block's sum, computed where it is used), blocks of 256 with a float scale and per-16
// sums for the K formats (Q8_K). Our logits stay within about one such rounding of llama.cpp's
// (0.5-1.2% of the logit spread on the test files; tests/nodes/llm/quantized_model_test.cc).
#pragma once

#include <cstdint>
#include <vector>

#include "nodes/llm/quant/formats.h"

namespace refinery::llm::quant {

enum class ActivationKind { kQ8_0, kQ8_K };
// The activation blocks a weight type multiplies with.
ActivationKind ActivationKindFor(Type weights);

struct QuantizedRow {
  ActivationKind kind = ActivationKind::kQ8_0;
  int n = 0;
  std::vector<int8_t> q;       // n values
  std::vector<float> d;        // per block (32 or 256)
  std::vector<int16_t> sum16;  // per 16 values: sum(q) (Q8_K's bsums)
  std::vector<int16_t> sum32;  // per 32 values: sum(q) (the K4/K5 minimums' partner)
};

// `n` must be a multiple of the kind's block. Blocks of both kinds are quantised with AVX2 where
// the CPU has it (not with REFINERY_QUANT_KERNELS=reference, as dot.h's kernels), or with the plain
// code when `plain` is set (the tests compare the two).
void QuantizeRow(ActivationKind kind, const float* x, int n, QuantizedRow* out, bool plain = false);

}  // namespace refinery::llm::quant
