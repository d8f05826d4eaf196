// Dequantisation of ggml blocks to float: the reference every kernel is tested against, how
// embedding rows are read (one row per token), GgufTensor::ToFloat, and the weight tiles of the
// prompt products (tiled_gemm.h).
#pragma once

#include <cstdint>

#include "nodes/llm/quant/formats.h"

namespace refinery::llm::quant {

// `n` values (a multiple of the type's block size) from the blocks at `src`. Float types too.
// Block formats are widened with AVX2 where the CPU has it (not with
// REFINERY_QUANT_KERNELS=reference), or with the plain loop when `plain` is set; both give the
// same floats (the tests compare them).
void DequantizeRow(Type type, const uint8_t* src, float* out, int64_t n, bool plain = false);

}  // namespace refinery::llm::quant
