// y[m][n] = x[m] . W[n] for a few rows x (a decode step: one to four sequences) and float32
// weights W [N][K] as stored. At one row the product is a pass over the weights, bound by memory
// bandwidth: oneDNN 2.6's f32 matmul reaches 67% of the measured read bandwidth there on AVX2
// (llm_bench, 114.6 M model), this loop streams the rows with four independent FMA chains and
// reaches 90%+. Larger steps (prompts) stay on oneDNN, whose blocked gemm wins when the weights
// are reused. AVX2+FMA when the CPU has them (checked at run time), portable C++ otherwise.
// Rows of W are split across `arena`'s threads (null: the calling thread).
#pragma once

#include <tbb/task_arena.h>

namespace refinery::llm {

// The most rows F32Gemv takes; DenseLinear sends larger steps to oneDNN.
constexpr int kF32GemvMaxRows = 4;

void F32Gemv(const float* x, int M, int K, const float* w, int N, float* y, tbb::task_arena* arena);

}  // namespace refinery::llm
