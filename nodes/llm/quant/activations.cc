#include "nodes/llm/quant/activations.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "nodes/llm/float_formats.h"
#include "nodes/llm/quant/dot.h"
#include "nodes/llm/quant/quantize.h"
#include "nodes/llm/quant/rounding.h"

namespace refinery::llm::quant {

ActivationKind ActivationKindFor(Type w) {
  return Info(uint32_t(w))->block_values == kSuperBlock ? ActivationKind::kQ8_K
                                                        : ActivationKind::kQ8_0;
}

namespace {

// One Q8_K block: 256 values to int8 codes with the largest magnitude at -127 exactly, the
// scale, and the per-16 sums. Plain version.
void QuantizeK(const float* v, int8_t* q, float* d, int16_t* sum16) {
  // The value of largest magnitude maps to -127 exactly (its sign kept in the scale).
  float amax = 0, max = 0;
  for (int k = 0; k < kSuperBlock; ++k)
    if (std::fabs(v[k]) > amax) amax = std::fabs(v[k]), max = v[k];
  if (amax == 0) {
    *d = 0;
    for (int k = 0; k < kSuperBlock; ++k) q[k] = 0;
  } else {
    const float iscale = -127.0f / max;
    for (int k = 0; k < kSuperBlock; ++k)
      q[k] = int8_t(std::min(127, int(RoundHalfEven(iscale * v[k]))));
    *d = 1.0f / iscale;
  }
  for (int g = 0; g < kSuperBlock / 16; ++g) {
    int s = 0;
    for (int k = 0; k < 16; ++k) s += q[g * 16 + k];
    sum16[g] = int16_t(s);
  }
}

// AVX2: the same codes, scale and sums (cvtps rounds to nearest even, as RoundHalfEven does;
// when +a and -a tie for the largest magnitude the sign may differ from the plain version's,
// which negates every code, the scale and the sums together: the same products).
__attribute__((target("avx2,fma"))) void QuantizeKAvx2(const float* v, int8_t* q, float* d,
                                                       int16_t* sum16) {
  __m256 hi = _mm256_loadu_ps(v), lo = hi;
  for (int k = 8; k < kSuperBlock; k += 8) {
    const __m256 x = _mm256_loadu_ps(v + k);
    hi = _mm256_max_ps(hi, x);
    lo = _mm256_min_ps(lo, x);
  }
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(hi), _mm256_extractf128_ps(hi, 1));
  __m128 l = _mm_min_ps(_mm256_castps256_ps128(lo), _mm256_extractf128_ps(lo, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  l = _mm_min_ps(l, _mm_movehl_ps(l, l));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  l = _mm_min_ss(l, _mm_movehdup_ps(l));
  const float top = _mm_cvtss_f32(h), bottom = _mm_cvtss_f32(l);
  const float max = top >= -bottom ? top : bottom;
  if (max == 0) {
    *d = 0;
    std::memset(q, 0, kSuperBlock);
    std::memset(sum16, 0, sizeof(int16_t) * kSuperBlock / 16);
    return;
  }
  const float iscale = -127.0f / max;
  const __m256 scale = _mm256_set1_ps(iscale);
  const __m256i limit = _mm256_set1_epi32(127), order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int k = 0; k < kSuperBlock; k += 32) {
    __m256i c[4];
    for (int j = 0; j < 4; ++j)
      c[j] = _mm256_min_epi32(
          _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(v + k + 8 * j), scale)), limit);
    // Sums of the two 16-value groups: pairwise adds, then one lane from each 128-bit half.
    __m256i s = _mm256_hadd_epi32(_mm256_add_epi32(c[0], c[1]), _mm256_add_epi32(c[2], c[3]));
    s = _mm256_hadd_epi32(s, s);
    const __m128i sums = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    sum16[k / 16] = int16_t(_mm_cvtsi128_si32(sums));
    sum16[k / 16 + 1] = int16_t(_mm_extract_epi32(sums, 1));
    const __m256i packed =
        _mm256_packs_epi16(_mm256_packs_epi32(c[0], c[1]), _mm256_packs_epi32(c[2], c[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + k),
                        _mm256_permutevar8x32_epi32(packed, order));
  }
  *d = 1.0f / iscale;
}

// One Q8_0 block, plain: a Q8_0 weight block's rounding (quantize.h; scale amax / 127, codes
// rounded half away from zero). The product uses the f16-rounded scale the block stores.
void QuantizeLegacy(const float* v, int8_t* q, float* d) {
  BlockQ8_0 block;
  QuantizeValues(Type::kQ8_0, v, kLegacyBlock, reinterpret_cast<uint8_t*>(&block));
  std::memcpy(q, block.qs, kLegacyBlock);
  *d = HalfToFloat(block.d);
}

// AVX2: the same codes and scale (the same scalar scale and products; ties away from zero by
// truncating and stepping when the exact remainder is half or more, as RoundHalfAway does).
__attribute__((target("avx2,fma"))) void QuantizeLegacyAvx2(const float* v, int8_t* q, float* d) {
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 x[4], top = _mm256_setzero_ps();
  for (int j = 0; j < 4; ++j) {
    x[j] = _mm256_loadu_ps(v + 8 * j);
    top = _mm256_max_ps(top, _mm256_and_ps(x[j], magnitude));
  }
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(top), _mm256_extractf128_ps(top, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  const float scale = _mm_cvtss_f32(m) / 127.0f, inverse = scale != 0 ? 1.0f / scale : 0.0f;
  const __m256 by = _mm256_set1_ps(inverse), half = _mm256_set1_ps(0.5f),
               minus_half = _mm256_set1_ps(-0.5f), one = _mm256_set1_ps(1.0f);
  __m256i c[4];
  for (int j = 0; j < 4; ++j) {
    const __m256 p = _mm256_mul_ps(x[j], by);
    const __m256 t = _mm256_round_ps(p, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 rest = _mm256_sub_ps(p, t);
    const __m256 up = _mm256_and_ps(_mm256_cmp_ps(rest, half, _CMP_GE_OQ), one);
    const __m256 down = _mm256_and_ps(_mm256_cmp_ps(rest, minus_half, _CMP_LE_OQ), one);
    c[j] = _mm256_cvttps_epi32(_mm256_sub_ps(_mm256_add_ps(t, up), down));
  }
  const __m256i packed =
      _mm256_packs_epi16(_mm256_packs_epi32(c[0], c[1]), _mm256_packs_epi32(c[2], c[3]));
  _mm256_storeu_si256(
      reinterpret_cast<__m256i*>(q),
      _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  *d = HalfToFloat(FloatToHalf(scale));
}

}  // namespace

void QuantizeRow(ActivationKind kind, const float* x, int n, QuantizedRow* out, bool plain) {
  out->kind = kind;
  out->n = n;
  out->q.resize(size_t(n));
  const bool avx2 = UseAvx2Kernels() && !plain;
  if (kind == ActivationKind::kQ8_0) {
    const int blocks = n / kLegacyBlock;
    out->d.resize(size_t(blocks));
    for (int b = 0; b < blocks; ++b) {
      const float* v = x + b * kLegacyBlock;
      int8_t* q = &out->q[size_t(b * kLegacyBlock)];
      if (avx2)
        QuantizeLegacyAvx2(v, q, &out->d[size_t(b)]);
      else
        QuantizeLegacy(v, q, &out->d[size_t(b)]);
    }
    return;
  }
  const int blocks = n / kSuperBlock;
  out->d.resize(size_t(blocks));
  out->sum16.resize(size_t(n / 16));
  out->sum32.resize(size_t(n / 32));
  for (int b = 0; b < blocks; ++b) {
    const float* v = x + b * kSuperBlock;
    int8_t* q = &out->q[size_t(b * kSuperBlock)];
    int16_t* sum16 = &out->sum16[size_t(b * 16)];
    if (avx2)
      QuantizeKAvx2(v, q, &out->d[size_t(b)], sum16);
    else
      QuantizeK(v, q, &out->d[size_t(b)], sum16);
    for (int g = 0; g < kSuperBlock / 32; ++g)
      out->sum32[size_t(b * 8 + g)] = int16_t(sum16[2 * g] + sum16[2 * g + 1]);
  }
}

}  // namespace refinery::llm::quant
