// Plain C++ dequantisation of ggml blocks to float: the reference every kernel is tested against,
// and how embedding rows are read (one row per token) and GgufTensor::ToFloat works.
#pragma once

#include <cstdint>

#include "nodes/llm/quant/formats.h"

namespace refinery::llm::quant {

// `n` values (a multiple of the type's block size) from the blocks at `src`. Float types too.
void DequantizeRow(Type type, const uint8_t* src, float* out, int64_t n);

}  // namespace refinery::llm::quant
