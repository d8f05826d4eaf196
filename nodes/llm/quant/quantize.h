// Float values to ggml blocks: the other direction of unpack.h, for `graph-runner quantize`.
// The legacy formats round exactly as llama.cpp's reference quantisers do (a Q8_0 or Q4_0 file
// we write is byte-identical to llama-quantize's); the K formats choose each sub-block's scale
// (and minimum) by a small least-squares search, then quantise the scales themselves and round
// every value against the scale it will actually be decoded with. IQ4_NL (written where
// llama-quantize writes it: Q2_K/Q3_K rows of a length no super block divides) uses refinery's own
// scale search, so those blocks are not byte-identical to llama.cpp's.
#pragma once

#include <cstdint>

#include "nodes/llm/quant/formats.h"

namespace refinery::llm::quant {

// Whether QuantizeValues can write `type`.
bool CanQuantize(Type type);

// `n` values (a multiple of the type's block) into `out` (n / block * block_bytes bytes).
void QuantizeValues(Type type, const float* x, int64_t n, uint8_t* out);

}  // namespace refinery::llm::quant
