#include "nodes/llm/f32_gemv.h"

#include <immintrin.h>
#include <tbb/parallel_for.h>

#include <algorithm>

#include "nodes/llm/avx2_sum.h"

namespace refinery::llm {
namespace {

void PortableRows(const float* x, int M, int K, const float* w, int N, float* y, int begin,
                  int end) {
  for (int n = begin; n < end; ++n) {
    const float* row = w + size_t(n) * size_t(K);
    for (int m = 0; m < M; ++m) {
      const float* xm = x + size_t(m) * size_t(K);
      float sum = 0;
      for (int k = 0; k < K; ++k) sum += xm[k] * row[k];
      y[size_t(m) * size_t(N) + size_t(n)] = sum;
    }
  }
}

// ROWS activation rows against each weight row; per row four accumulators over 32 floats, so
// the FMA latency never stalls the stream of weight loads.
template <int ROWS>
__attribute__((target("avx2,fma"))) void Avx2Rows(const float* x, int K, const float* w, int N,
                                                  float* y, int begin, int end) {
  const int k32 = K & ~31;
  for (int n = begin; n < end; ++n) {
    const float* row = w + size_t(n) * size_t(K);
    __m256 acc[ROWS][4];
    for (int r = 0; r < ROWS; ++r)
      for (int j = 0; j < 4; ++j) acc[r][j] = _mm256_setzero_ps();
    for (int k = 0; k < k32; k += 32) {
      for (int j = 0; j < 4; ++j) {
        const __m256 wv = _mm256_loadu_ps(row + k + 8 * j);
        for (int r = 0; r < ROWS; ++r)
          acc[r][j] = _mm256_fmadd_ps(_mm256_loadu_ps(x + size_t(r) * size_t(K) + k + 8 * j), wv,
                                      acc[r][j]);
      }
    }
    for (int r = 0; r < ROWS; ++r) {
      const float* xr = x + size_t(r) * size_t(K);
      float sum = HorizontalSum(
          _mm256_add_ps(_mm256_add_ps(acc[r][0], acc[r][1]), _mm256_add_ps(acc[r][2], acc[r][3])));
      for (int k = k32; k < K; ++k) sum += xr[k] * row[k];
      y[size_t(r) * size_t(N) + size_t(n)] = sum;
    }
  }
}

void Rows(const float* x, int M, int K, const float* w, int N, float* y, int begin, int end) {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!avx2) return PortableRows(x, M, K, w, N, y, begin, end);
  switch (M) {
    case 1:
      return Avx2Rows<1>(x, K, w, N, y, begin, end);
    case 2:
      return Avx2Rows<2>(x, K, w, N, y, begin, end);
    case 3:
      return Avx2Rows<3>(x, K, w, N, y, begin, end);
    default:
      return Avx2Rows<4>(x, K, w, N, y, begin, end);
  }
}

}  // namespace

void F32Gemv(const float* x, int M, int K, const float* w, int N, float* y,
             tbb::task_arena* arena) {
  if (arena == nullptr || arena->max_concurrency() <= 1) {
    Rows(x, M, K, w, N, y, 0, N);
    return;
  }
  // 64 weight rows per task (48-192 KB at K = 768-3072): few tasks, each a long stream.
  arena->execute([&] {
    tbb::parallel_for(tbb::blocked_range<int>(0, N, 64), [&](const tbb::blocked_range<int>& r) {
      Rows(x, M, K, w, N, y, r.begin(), r.end());
    });
  });
}

}  // namespace refinery::llm
