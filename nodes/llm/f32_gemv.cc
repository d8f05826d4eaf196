#include "nodes/llm/f32_gemv.h"

#include <immintrin.h>
#include <tbb/parallel_for.h>

#include <algorithm>

#include "nodes/llm/avx2_sum.h"
#include "nodes/llm/float_formats.h"
#include "nodes/llm/quant/dot.h"

namespace refinery::llm {
namespace {

// Where the products go: row m's output n at y[m * stride + offset + n].
struct Out {
  float* y;
  int stride, offset;
  float& at(int m, int n) const { return y[size_t(m) * size_t(stride) + size_t(offset + n)]; }
};

// How each weight type is read: as one float, and as eight floats (AVX2).
struct F32 {
  using T = float;
  static float One(const float* p) { return *p; }
  __attribute__((target("avx2,fma"), always_inline)) static __m256 Eight(const float* p) {
    return _mm256_loadu_ps(p);
  }
};
struct F16 {
  using T = uint16_t;
  static float One(const uint16_t* p) { return HalfToFloat(*p); }
  __attribute__((target("avx2,fma,f16c"), always_inline)) static __m256 Eight(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
};
struct BF16 {
  using T = uint16_t;
  static float One(const uint16_t* p) { return Bf16ToFloat(*p); }
  __attribute__((target("avx2,fma"), always_inline)) static __m256 Eight(const uint16_t* p) {
    const __m256i wide =
        _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
};

template <typename W>
void PortableRows(const float* x, int M, int K, const typename W::T* w, Out y, int begin, int end) {
  for (int n = begin; n < end; ++n) {
    const typename W::T* row = w + size_t(n) * size_t(K);
    for (int m = 0; m < M; ++m) {
      const float* xm = x + size_t(m) * size_t(K);
      float sum = 0;
      for (int k = 0; k < K; ++k) sum += xm[k] * W::One(row + k);
      y.at(m, n) = sum;
    }
  }
}

// ROWS activation rows against each weight row; per row four accumulators over 32 values, so
// the FMA latency never stalls the stream of weight loads.
template <typename W, int ROWS>
__attribute__((target("avx2,fma,f16c"))) void Avx2Rows(const float* x, int K,
                                                       const typename W::T* w, Out y, int begin,
                                                       int end) {
  const int k32 = K & ~31;
  for (int n = begin; n < end; ++n) {
    const typename W::T* row = w + size_t(n) * size_t(K);
    __m256 acc[ROWS][4];
    for (int r = 0; r < ROWS; ++r)
      for (int j = 0; j < 4; ++j) acc[r][j] = _mm256_setzero_ps();
    for (int k = 0; k < k32; k += 32) {
      for (int j = 0; j < 4; ++j) {
        const __m256 wv = W::Eight(row + k + 8 * j);
        for (int r = 0; r < ROWS; ++r)
          acc[r][j] = _mm256_fmadd_ps(_mm256_loadu_ps(x + size_t(r) * size_t(K) + k + 8 * j), wv,
                                      acc[r][j]);
      }
    }
    for (int r = 0; r < ROWS; ++r) {
      const float* xr = x + size_t(r) * size_t(K);
      float sum = HorizontalSum(
          _mm256_add_ps(_mm256_add_ps(acc[r][0], acc[r][1]), _mm256_add_ps(acc[r][2], acc[r][3])));
      for (int k = k32; k < K; ++k) sum += xr[k] * W::One(row + k);
      y.at(r, n) = sum;
    }
  }
}

template <typename W>
void Rows(const float* x, int M, int K, const typename W::T* w, Out y, int begin, int end) {
  // quant's check covers AVX2, FMA and F16C (and REFINERY_QUANT_KERNELS=reference).
  static const bool avx2 = quant::UseAvx2Kernels();
  if (!avx2) return PortableRows<W>(x, M, K, w, y, begin, end);
  switch (M) {
    case 1:
      return Avx2Rows<W, 1>(x, K, w, y, begin, end);
    case 2:
      return Avx2Rows<W, 2>(x, K, w, y, begin, end);
    case 3:
      return Avx2Rows<W, 3>(x, K, w, y, begin, end);
    default:
      return Avx2Rows<W, 4>(x, K, w, y, begin, end);
  }
}

template <typename W>
void Gemv(const float* x, int M, int K, const typename W::T* w, int N, Out y,
          tbb::task_arena* arena) {
  if (arena == nullptr || arena->max_concurrency() <= 1) {
    Rows<W>(x, M, K, w, y, 0, N);
    return;
  }
  // 64 weight rows per task (48-192 KB at K = 768-3072): few tasks, each a long stream.
  arena->execute([&] {
    tbb::parallel_for(tbb::blocked_range<int>(0, N, 64), [&](const tbb::blocked_range<int>& r) {
      Rows<W>(x, M, K, w, y, r.begin(), r.end());
    });
  });
}

}  // namespace

void F32Gemv(const float* x, int M, int K, const float* w, int N, float* y,
             tbb::task_arena* arena) {
  Gemv<F32>(x, M, K, w, N, Out{y, N, 0}, arena);
}

void HalfGemv(const float* x, int M, int K, const uint16_t* w, HalfType type, int N, float* y,
              int y_stride, int offset, tbb::task_arena* arena) {
  const Out out{y, y_stride, offset};
  if (type == HalfType::kF16)
    Gemv<F16>(x, M, K, w, N, out, arena);
  else
    Gemv<BF16>(x, M, K, w, N, out, arena);
}

}  // namespace refinery::llm
