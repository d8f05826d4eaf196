// y[m][offset + n] = x[m] . W[n] for a few rows x (a decode step: one to four sequences) and
// weights W [N][K] as stored: float32, or float16 / bfloat16 read in place from the GGUF file and
// widened in registers. At one row the product is a pass over the weights, bound by memory
// bandwidth: oneDNN 2.6's f32 matmul reaches 67% of the measured read bandwidth there on AVX2
// (llm_bench, 114.6 M model), this loop streams the rows with four independent FMA chains and
// reaches 90%+. Larger steps (prompts) go to a gemm, which wins when the weights are reused.
// AVX2+FMA (+F16C for float16) when the CPU has them (checked at run time), portable C++
// otherwise. Rows of W are split across `arena`'s threads (null: the calling thread).
#pragma once

#include <tbb/task_arena.h>

#include <cstdint>

namespace refinery::llm {

// The most rows these products take; larger steps go to a gemm.
constexpr int kF32GemvMaxRows = 4;

// y rows are N floats apart, starting at column 0.
void F32Gemv(const float* x, int M, int K, const float* w, int N, float* y, tbb::task_arena* arena);

// 16-bit float weights as stored in GGUF files (ggml types F16 and BF16).
enum class HalfType { kF16, kBF16 };

// y rows are `y_stride` floats apart; row m's products go to y[m * y_stride + offset + n].
void HalfGemv(const float* x, int M, int K, const uint16_t* w, HalfType type, int N, float* y,
              int y_stride, int offset, tbb::task_arena* arena);

}  // namespace refinery::llm
