// Dot products of one quantized weight row with one quantized activation row (activations.h):
// the plain reference for every format, AVX2+FMA kernels for the formats files use most, and
// AVX-512 VNNI kernels for Q4_K/Q5_K/Q6_K, chosen per format at run time (the CPU is asked once).
// Batch-1 steps hand a task's whole run of weight rows to one range kernel (no call and dispatch
// per row; rows finished four at a time). REFINERY_QUANT_KERNELS=reference forces the plain path
// and =avx2 leaves out AVX-512, for tests and for comparison in benchmarks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nodes/llm/quant/activations.h"
#include "nodes/llm/quant/formats.h"

namespace refinery::llm::quant {

// Σ w[k] x[k] over the row's `x.n` values. `row` points at the row's first block.
float DotReference(Type type, const uint8_t* row, const QuantizedRow& x);

using DotFn = float (*)(const uint8_t* row, const QuantizedRow& x);
// One weight row against up to kMaxRows activation rows at once: the weight blocks are decoded
// once for all of them (batched decoding and prompts).
inline constexpr int kMaxRows = 4;
using DotRowsFn = void (*)(const uint8_t* row, const QuantizedRow* const* x, int count, float* out);
// `count` weight rows, `stride` bytes apart, against one activation row (batch-1 steps):
// y[i] = row i's dot product, the same floats as DotFn gives row by row.
using DotRangeFn = void (*)(const uint8_t* rows, size_t stride, int count, const QuantizedRow& x,
                            float* y);
// The fastest kernel for `type` on this CPU, or null when only the reference exists.
DotFn FastDot(Type type);
DotRowsFn FastDotRows(Type type);    // null when the type has no multi-row kernel here
DotRangeFn FastDotRange(Type type);  // null when the type has no range kernel here
// Which kernel families FastDot uses here ("avx512+avx2", "avx2" or "reference").
const char* KernelName();
// True when the AVX2 kernels run here: the CPU has AVX2, FMA and F16C, and
// REFINERY_QUANT_KERNELS is not "reference". The activation quantiser and the tile
// dequantiser follow it too, so "reference" gives the plain path end to end.
bool UseAvx2Kernels();

// The AVX2 kernels (dot_avx2.cc, compiled for AVX2+FMA; call only when the CPU has them).
namespace avx2 {
bool Available();
DotFn Kernel(Type type);
DotRowsFn RowsKernel(Type type);
DotRangeFn RangeKernel(Type type);
}  // namespace avx2

// The AVX-512 kernels (dot_avx512.cc: F, BW, VL and VNNI; Q4_K, Q5_K and Q6_K, null for the rest).
namespace avx512 {
bool Available();
DotFn Kernel(Type type);
DotRowsFn RowsKernel(Type type);
}  // namespace avx512

}  // namespace refinery::llm::quant
