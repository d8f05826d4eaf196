#include "nodes/llm/bf16_gemm.h"

#include <immintrin.h>

#include <algorithm>

#include "nodes/llm/avx2_sum.h"
#include "nodes/llm/float_formats.h"

namespace refinery::llm {
namespace {

void PortableGemm(const float* x, int M, int K, const uint16_t* w, int N, float* y) {
  for (int n = 0; n < N; ++n) {
    const uint16_t* row = w + size_t(n) * K;
    for (int m = 0; m < M; ++m) {
      const float* xm = x + size_t(m) * K;
      float sum = 0;
      for (int k = 0; k < K; ++k) sum += xm[k] * Bf16ToFloat(row[k]);
      y[size_t(m) * N + n] = sum;
    }
  }
}

// Four rows of x at a time share each loaded (and widened) weight vector.
__attribute__((target("avx2,fma"))) void Avx2Gemm(const float* x, int M, int K, const uint16_t* w,
                                                  int N, float* y) {
  const int k8 = K & ~7;
  for (int n = 0; n < N; ++n) {
    const uint16_t* row = w + size_t(n) * K;
    for (int m0 = 0; m0 < M; m0 += 4) {
      const int rows = std::min(4, M - m0);
      __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                       _mm256_setzero_ps()};
      for (int k = 0; k < k8; k += 8) {
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + k));
        const __m256 wv = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16));
        for (int r = 0; r < rows; ++r) {
          acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(x + size_t(m0 + r) * K + k), wv, acc[r]);
        }
      }
      for (int r = 0; r < rows; ++r) {
        float sum = HorizontalSum(acc[r]);
        const float* xm = x + size_t(m0 + r) * K;
        for (int k = k8; k < K; ++k) sum += xm[k] * Bf16ToFloat(row[k]);
        y[size_t(m0 + r) * N + n] = sum;
      }
    }
  }
}

}  // namespace

void Bf16Gemm(const float* x, int M, int K, const uint16_t* w, int N, float* y) {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2)
    Avx2Gemm(x, M, K, w, N, y);
  else
    PortableGemm(x, M, K, w, N, y);
}

}  // namespace refinery::llm
