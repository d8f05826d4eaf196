// The sum of an AVX2 register's eight floats: the last step of every AVX2 dot-product kernel
// (f32_gemv.cc, bf16_gemm.cc; quant/dot_avx2.cc finishes rows in the same order). Callable from
// functions compiled for AVX2 (target attributes that include "avx2,fma"), where it is inlined.
#pragma once

#include <immintrin.h>

namespace refinery::llm {

__attribute__((target("avx2,fma"))) inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace refinery::llm
