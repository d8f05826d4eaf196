// One block of any ggml format as integer codes with a float scale and offset per group:
// value[k] = scale[g] * code[k] + offset[g], g = k / group. Every format fits this shape (the
// legacy kinds: one group of 32; Q4_K/Q5_K: 8 groups of 32; Q2_K/Q3_K/Q6_K: 16 groups of 16), so
// one plain dequantiser and one plain dot product serve them all as the reference the fast
// kernels are tested against.
#pragma once

#include <cstdint>

#include "nodes/llm/quant/formats.h"

namespace refinery::llm::quant {

struct UnpackedBlock {
  int values = 0;  // 32 or 256
  int group = 0;   // values per scale
  int8_t code[kSuperBlock];
  float scale[16];
  float offset[16];
};

// `type` must be a quantized type (Info(type)->quantized).
void Unpack(Type type, const uint8_t* block, UnpackedBlock* out);

}  // namespace refinery::llm::quant
