#include "nodes/llm/attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "nodes/llm/float_formats.h"
#include "nodes/llm/quant/rounding.h"

namespace refinery::llm {
namespace {

// exp(x) on [-87, 88]: Cody-Waite range reduction and a degree-6 polynomial; branch-free so
// loops over it vectorise.
__attribute__((always_inline)) inline float ExpNonPositive(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  // Round to nearest by adding and removing 1.5 * 2^23 (no libm call: the loop vectorises).
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits;
  std::memcpy(&bits, &p, 4);
  bits += int32_t(n) << 23;
  std::memcpy(&p, &bits, 4);
  return p;
}

// A cached value as float: the cache holds float32 or float16 (KvFormat).
inline float ToFloat(float x) { return x; }
inline float ToFloat(uint16_t h) { return HalfToFloat(h); }

// Eight cached values as floats (AVX2; F16C for halves: every AVX2 CPU has it).
__attribute__((target("avx2,fma,f16c"), always_inline)) inline __m256 Load8(const float* p) {
  return _mm256_loadu_ps(p);
}
__attribute__((target("avx2,fma,f16c"), always_inline)) inline __m256 Load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Scores of one query head against every cached key: s[t] = scale * q . k_t. Generic version.
template <typename T>
__attribute__((always_inline)) inline void Scores(const float* qh, const T* kh, int hd,
                                                  int capacity, int n, float scale, float* s) {
  std::fill(s, s + n, 0.0f);
  for (int i = 0; i < hd; ++i) {
    const float qi = qh[i] * scale;
    const T* krow = kh + size_t(i) * capacity;
    for (int t = 0; t < n; ++t) s[t] += qi * ToFloat(krow[t]);
  }
}

// AVX2: eight positions at a time, accumulated in a register across the head's dimensions
// (one store per eight scores instead of one per dimension).
template <typename T>
__attribute__((target("avx2,fma,f16c"), noinline)) void ScoresAvx2(const float* qh, const T* kh,
                                                                   int hd, int capacity, int n,
                                                                   float scale, float* s) {
  int t = 0;
  for (; t + 8 <= n; t += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < hd; ++i) {
      acc =
          _mm256_fmadd_ps(_mm256_set1_ps(qh[i] * scale), Load8(kh + size_t(i) * capacity + t), acc);
    }
    _mm256_storeu_ps(s + t, acc);
  }
  for (; t < n; ++t) {
    float acc = 0;
    for (int i = 0; i < hd; ++i) acc += qh[i] * scale * ToFloat(kh[size_t(i) * capacity + t]);
    s[t] = acc;
  }
}

// o = sum_t w[t] * inv * v_t over n positions (values kv_dim apart). Generic version.
template <typename T>
__attribute__((always_inline)) inline void WeightedValues(const float* w, float inv, const T* v,
                                                          int n, int kv_dim, int hd, float* o) {
  for (int t = 0; t < n; ++t) {
    const float wt = w[t] * inv;
    const T* vt = v + size_t(t) * kv_dim;
    for (int i = 0; i < hd; ++i) o[i] += wt * ToFloat(vt[i]);
  }
}

// Halves with AVX2 + F16C: eight values converted and accumulated at a time (GCC does not
// vectorise the generic loop's half conversion).
__attribute__((target("avx2,fma,f16c"), noinline)) void WeightedHalvesAvx2(
    const float* w, float inv, const uint16_t* v, int n, int kv_dim, int hd, float* o) {
  const int hd8 = hd & ~7;
  for (int t = 0; t < n; ++t) {
    const float wt = w[t] * inv;
    const __m256 wv = _mm256_set1_ps(wt);
    const uint16_t* vt = v + size_t(t) * kv_dim;
    for (int i = 0; i < hd8; i += 8)
      _mm256_storeu_ps(o + i, _mm256_fmadd_ps(wv, Load8(vt + i), _mm256_loadu_ps(o + i)));
    for (int i = hd8; i < hd; ++i) o[i] += wt * HalfToFloat(vt[i]);
  }
}

// s[t] = exp(s[t] - max), returning 1 / sum: the caller folds the normalisation into the
// weighted sum of values.
__attribute__((always_inline)) inline float Softmax(float* s, int n) {
  float max = s[0];
  for (int t = 1; t < n; ++t) max = std::max(max, s[t]);
  for (int t = 0; t < n; ++t) s[t] = ExpNonPositive(s[t] - max);  // vectorises: no reduction
  float sum = 0;
  for (int t = 0; t < n; ++t) sum += s[t];
  return 1.0f / sum;
}

// ---- q8_0 cache: int8 codes with one f16 scale per 32 values of a head (kQ8Block) ----

// Scores against 8-bit keys: per 32-dimension block, the codes' dot product with the query, then
// times each position's block scale. Generic version.
__attribute__((always_inline)) inline void ScoresQ8(const float* qh, const int8_t* kh,
                                                    const uint16_t* ks, int hd, int capacity, int n,
                                                    float scale, float* s) {
  std::fill(s, s + n, 0.0f);
  for (int b = 0; b < hd / kQ8Block; ++b) {
    const uint16_t* scales = ks + size_t(b) * capacity;
    for (int t = 0; t < n; ++t) {
      float dot = 0;
      for (int i = b * kQ8Block; i < (b + 1) * kQ8Block; ++i)
        dot += qh[i] * float(kh[size_t(i) * capacity + t]);
      s[t] += dot * scale * HalfToFloat(scales[t]);
    }
  }
}

__attribute__((target("avx2,fma,f16c"), always_inline)) inline __m256 Load8(const int8_t* p) {
  return _mm256_cvtepi32_ps(
      _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

// AVX2: eight positions at a time; each block's sum stays in a register until its scales apply.
__attribute__((target("avx2,fma,f16c"), noinline)) void ScoresQ8Avx2(const float* qh,
                                                                     const int8_t* kh,
                                                                     const uint16_t* ks, int hd,
                                                                     int capacity, int n,
                                                                     float scale, float* s) {
  int t = 0;
  for (; t + 8 <= n; t += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < hd / kQ8Block; ++b) {
      __m256 dot = _mm256_setzero_ps();
      for (int i = b * kQ8Block; i < (b + 1) * kQ8Block; ++i)
        dot = _mm256_fmadd_ps(_mm256_set1_ps(qh[i]), Load8(kh + size_t(i) * capacity + t), dot);
      acc = _mm256_fmadd_ps(dot, Load8(ks + size_t(b) * capacity + t), acc);
    }
    _mm256_storeu_ps(s + t, _mm256_mul_ps(acc, _mm256_set1_ps(scale)));
  }
  for (; t < n; ++t) {
    float acc = 0;
    for (int b = 0; b < hd / kQ8Block; ++b) {
      float dot = 0;
      for (int i = b * kQ8Block; i < (b + 1) * kQ8Block; ++i)
        dot += qh[i] * float(kh[size_t(i) * capacity + t]);
      acc += dot * HalfToFloat(ks[size_t(b) * capacity + t]);
    }
    s[t] = acc * scale;
  }
}

// o += sum_t w[t] * inv * scale(t, block) * code over n positions. Generic version.
__attribute__((always_inline)) inline void WeightedQ8(const float* w, float inv, const int8_t* v,
                                                      const uint16_t* vs, int n, int kv_dim, int hd,
                                                      float* o) {
  for (int t = 0; t < n; ++t) {
    const int8_t* vt = v + size_t(t) * kv_dim;
    const uint16_t* st = vs + size_t(t) * (kv_dim / kQ8Block);
    for (int b = 0; b < hd / kQ8Block; ++b) {
      const float wt = w[t] * inv * HalfToFloat(st[b]);
      for (int i = b * kQ8Block; i < (b + 1) * kQ8Block; ++i) o[i] += wt * float(vt[i]);
    }
  }
}

__attribute__((target("avx2,fma,f16c"), noinline)) void WeightedQ8Avx2(const float* w, float inv,
                                                                       const int8_t* v,
                                                                       const uint16_t* vs, int n,
                                                                       int kv_dim, int hd,
                                                                       float* o) {
  for (int t = 0; t < n; ++t) {
    const int8_t* vt = v + size_t(t) * kv_dim;
    const uint16_t* st = vs + size_t(t) * (kv_dim / kQ8Block);
    for (int b = 0; b < hd / kQ8Block; ++b) {
      const __m256 wv = _mm256_set1_ps(w[t] * inv * HalfToFloat(st[b]));
      for (int i = b * kQ8Block; i < (b + 1) * kQ8Block; i += 8)
        _mm256_storeu_ps(o + i, _mm256_fmadd_ps(wv, Load8(vt + i), _mm256_loadu_ps(o + i)));
    }
  }
}

template <bool kAvx2>
__attribute__((always_inline)) inline void AttendQ8Body(const LlamaConfig& c, const float* q,
                                                        const Q8Cache& k_t, const Q8Cache& v,
                                                        int capacity, int n, float* out,
                                                        std::vector<float>& scratch) {
  const int hd = c.head_dim, group = c.heads / c.kv_heads, kv_dim = c.kv_dim();
  const int blocks = hd / kQ8Block;
  const float scale = 1.0f / std::sqrt(float(hd));
  scratch.resize(size_t(n));
  float* s = scratch.data();
  for (int h = 0; h < c.heads; ++h) {
    const int kvh = h / group;
    const int8_t* kh = k_t.codes + size_t(kvh) * hd * capacity;
    const uint16_t* ks = k_t.scales + size_t(kvh) * blocks * capacity;
    const float* qh = q + size_t(h) * hd;
    if constexpr (kAvx2)
      ScoresQ8Avx2(qh, kh, ks, hd, capacity, n, scale, s);
    else
      ScoresQ8(qh, kh, ks, hd, capacity, n, scale, s);
    const float inv = Softmax(s, n);
    float* o = out + size_t(h) * hd;
    std::fill(o, o + hd, 0.0f);
    const int8_t* vh = v.codes + size_t(kvh) * hd;
    const uint16_t* vs = v.scales + size_t(kvh) * blocks;
    if constexpr (kAvx2)
      WeightedQ8Avx2(s, inv, vh, vs, n, kv_dim, hd, o);
    else
      WeightedQ8(s, inv, vh, vs, n, kv_dim, hd, o);
  }
}

__attribute__((target("avx2,fma,f16c"))) void AttendQ8Avx2(const LlamaConfig& c, const float* q,
                                                           const Q8Cache& k_t, const Q8Cache& v,
                                                           int capacity, int n, float* out,
                                                           std::vector<float>& scratch) {
  AttendQ8Body<true>(c, q, k_t, v, capacity, n, out, scratch);
}

void AttendQ8Baseline(const LlamaConfig& c, const float* q, const Q8Cache& k_t, const Q8Cache& v,
                      int capacity, int n, float* out, std::vector<float>& scratch) {
  AttendQ8Body<false>(c, q, k_t, v, capacity, n, out, scratch);
}

// One block of 32 values as Q8_0 does it: scale amax / 127, codes rounded half away from zero.
void QuantizeQ8Block(const float* x, int stride, int8_t* codes, int code_stride, uint16_t* scale) {
  float amax = 0;
  for (int i = 0; i < kQ8Block; ++i) amax = std::max(amax, std::fabs(x[i * stride]));
  *scale = FloatToHalf(amax / 127);
  const float id = amax > 0 ? 127 / amax : 0.0f;
  for (int i = 0; i < kQ8Block; ++i)
    codes[size_t(i) * code_stride] = int8_t(quant::RoundHalfAway(x[i * stride] * id));
}

// The body, inlined into one copy per instruction set and cache element type.
template <bool kAvx2, typename T>
__attribute__((always_inline)) inline void AttendBody(const LlamaConfig& c, const float* q,
                                                      const T* k_t, const T* v, int capacity, int n,
                                                      float* out, std::vector<float>& scratch) {
  const int hd = c.head_dim, group = c.heads / c.kv_heads, kv_dim = c.kv_dim();
  const float scale = 1.0f / std::sqrt(float(hd));
  scratch.resize(size_t(n));
  float* s = scratch.data();
  for (int h = 0; h < c.heads; ++h) {
    const int kvh = h / group;
    const T* kh = k_t + size_t(kvh) * hd * capacity;
    const float* qh = q + size_t(h) * hd;
    if constexpr (kAvx2)
      ScoresAvx2(qh, kh, hd, capacity, n, scale, s);
    else
      Scores(qh, kh, hd, capacity, n, scale, s);
    const float inv = Softmax(s, n);
    float* o = out + size_t(h) * hd;
    std::fill(o, o + hd, 0.0f);
    const T* vh = v + size_t(kvh) * hd;
    if constexpr (kAvx2 && std::is_same_v<T, uint16_t>)
      WeightedHalvesAvx2(s, inv, vh, n, kv_dim, hd, o);
    else
      WeightedValues(s, inv, vh, n, kv_dim, hd, o);
  }
}

template <typename T>
__attribute__((target("avx2,fma,f16c"))) void AttendAvx2(const LlamaConfig& c, const float* q,
                                                         const T* k_t, const T* v, int capacity,
                                                         int n, float* out,
                                                         std::vector<float>& scratch) {
  AttendBody<true>(c, q, k_t, v, capacity, n, out, scratch);
}

template <typename T>
void AttendBaseline(const LlamaConfig& c, const float* q, const T* k_t, const T* v, int capacity,
                    int n, float* out, std::vector<float>& scratch) {
  AttendBody<false>(c, q, k_t, v, capacity, n, out, scratch);
}

template <typename T>
void Attend(const LlamaConfig& c, const float* q, const T* k_t, const T* v, int capacity, int n,
            float* out, std::vector<float>& scratch) {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2)
    AttendAvx2(c, q, k_t, v, capacity, n, out, scratch);
  else
    AttendBaseline(c, q, k_t, v, capacity, n, out, scratch);
}

__attribute__((always_inline)) inline void SwiGluBody(const float* gate, const float* up, int n,
                                                      float* out) {
  for (int i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + ExpNonPositive(-gate[i])) * up[i];
}
__attribute__((target("avx2,fma"))) void SwiGluAvx2(const float* gate, const float* up, int n,
                                                    float* out) {
  SwiGluBody(gate, up, n, out);
}
void SwiGluBaseline(const float* gate, const float* up, int n, float* out) {
  SwiGluBody(gate, up, n, out);
}

}  // namespace

void SwiGlu(const float* gate, const float* up, int n, float* out) {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2)
    SwiGluAvx2(gate, up, n, out);
  else
    SwiGluBaseline(gate, up, n, out);
}

void AttendCached(const LlamaConfig& c, const float* q, const float* k_t, const float* v,
                  int capacity, int n, float* out, std::vector<float>& scratch) {
  Attend(c, q, k_t, v, capacity, n, out, scratch);
}

void AttendCached(const LlamaConfig& c, const float* q, const uint16_t* k_t, const uint16_t* v,
                  int capacity, int n, float* out, std::vector<float>& scratch) {
  Attend(c, q, k_t, v, capacity, n, out, scratch);
}

void AttendCached(const LlamaConfig& c, const float* q, const Q8Cache& k_t, const Q8Cache& v,
                  int capacity, int n, float* out, std::vector<float>& scratch) {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2)
    AttendQ8Avx2(c, q, k_t, v, capacity, n, out, scratch);
  else
    AttendQ8Baseline(c, q, k_t, v, capacity, n, out, scratch);
}

void StoreKey(const LlamaConfig& c, const float* k, int capacity, int pos, const Q8Cache& k_t) {
  const int blocks = c.head_dim / kQ8Block;
  for (int kvh = 0; kvh < c.kv_heads; ++kvh)
    for (int b = 0; b < blocks; ++b) {
      const size_t first = size_t(kvh) * c.head_dim + size_t(b) * kQ8Block;
      QuantizeQ8Block(k + first, 1, k_t.codes + first * capacity + pos, capacity,
                      k_t.scales + (size_t(kvh) * blocks + size_t(b)) * capacity + pos);
    }
}

void StoreValue(const LlamaConfig& c, const float* v, int pos, const Q8Cache& values) {
  const int kv_dim = c.kv_dim();
  for (int b = 0; b < kv_dim / kQ8Block; ++b)
    QuantizeQ8Block(v + b * kQ8Block, 1, values.codes + size_t(pos) * kv_dim + b * kQ8Block, 1,
                    values.scales + size_t(pos) * (kv_dim / kQ8Block) + b);
}

void StoreKey(const LlamaConfig& c, const float* k, int capacity, int pos, float* k_t) {
  for (int kvh = 0; kvh < c.kv_heads; ++kvh) {
    for (int i = 0; i < c.head_dim; ++i) {
      k_t[(size_t(kvh) * c.head_dim + i) * capacity + pos] = k[kvh * c.head_dim + i];
    }
  }
}

void StoreKey(const LlamaConfig& c, const float* k, int capacity, int pos, uint16_t* k_t) {
  for (int kvh = 0; kvh < c.kv_heads; ++kvh) {
    for (int i = 0; i < c.head_dim; ++i) {
      k_t[(size_t(kvh) * c.head_dim + i) * capacity + pos] = FloatToHalf(k[kvh * c.head_dim + i]);
    }
  }
}

}  // namespace refinery::llm
