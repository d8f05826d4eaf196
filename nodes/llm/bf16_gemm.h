// y[M][N] = x[M][K] * W^T with W stored as bfloat16 [N][K], float32 arithmetic. The bf16 weight
// path for CPUs where oneDNN 2.6 has no bf16 matmul (it needs AVX-512; this machine and CI have
// AVX2): half the weight bytes of f32, read once per step for all M rows. AVX2+FMA when the CPU
// has them (checked at run time), portable C++ otherwise.
#pragma once

#include <cstdint>

namespace refinery::llm {

void Bf16Gemm(const float* x, int M, int K, const uint16_t* w, int N, float* y);

}  // namespace refinery::llm
