#include "nodes/llm/attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

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

// Scores of one query head against every cached key: s[t] = scale * q . k_t. Generic version.
__attribute__((always_inline)) inline void Scores(const float* qh, const float* kh, int hd,
                                                  int capacity, int n, float scale, float* s) {
  std::fill(s, s + n, 0.0f);
  for (int i = 0; i < hd; ++i) {
    const float qi = qh[i] * scale;
    const float* krow = kh + size_t(i) * capacity;
    for (int t = 0; t < n; ++t) s[t] += qi * krow[t];
  }
}

// AVX2: eight positions at a time, accumulated in a register across the head's dimensions
// (one store per eight scores instead of one per dimension).
__attribute__((target("avx2,fma"), noinline)) void ScoresAvx2(const float* qh, const float* kh,
                                                              int hd, int capacity, int n,
                                                              float scale, float* s) {
  int t = 0;
  for (; t + 8 <= n; t += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < hd; ++i) {
      acc = _mm256_fmadd_ps(_mm256_set1_ps(qh[i] * scale),
                            _mm256_loadu_ps(kh + size_t(i) * capacity + t), acc);
    }
    _mm256_storeu_ps(s + t, acc);
  }
  for (; t < n; ++t) {
    float acc = 0;
    for (int i = 0; i < hd; ++i) acc += qh[i] * scale * kh[size_t(i) * capacity + t];
    s[t] = acc;
  }
}

// The body, inlined into one copy per instruction set.
template <bool kAvx2>
__attribute__((always_inline)) inline void AttendBody(const LlamaConfig& c, const float* q,
                                                      const float* k_t, const float* v,
                                                      int capacity, int n, float* out,
                                                      std::vector<float>& scratch) {
  const int hd = c.head_dim, group = c.heads / c.kv_heads, kv_dim = c.kv_dim();
  const float scale = 1.0f / std::sqrt(float(hd));
  scratch.resize(size_t(n));
  float* s = scratch.data();
  for (int h = 0; h < c.heads; ++h) {
    const int kvh = h / group;
    const float* kh = k_t + size_t(kvh) * hd * capacity;
    const float* qh = q + size_t(h) * hd;
    if constexpr (kAvx2)
      ScoresAvx2(qh, kh, hd, capacity, n, scale, s);
    else
      Scores(qh, kh, hd, capacity, n, scale, s);
    float max = s[0];
    for (int t = 1; t < n; ++t) max = std::max(max, s[t]);
    for (int t = 0; t < n; ++t) s[t] = ExpNonPositive(s[t] - max);  // vectorises: no reduction
    float sum = 0;
    for (int t = 0; t < n; ++t) sum += s[t];
    const float inv = 1.0f / sum;
    float* o = out + size_t(h) * hd;
    std::fill(o, o + hd, 0.0f);
    const float* vh = v + size_t(kvh) * hd;
    for (int t = 0; t < n; ++t) {
      const float w = s[t] * inv;
      const float* vt = vh + size_t(t) * kv_dim;
      for (int i = 0; i < hd; ++i) o[i] += w * vt[i];
    }
  }
}

__attribute__((target("avx2,fma"))) void AttendAvx2(const LlamaConfig& c, const float* q,
                                                    const float* k_t, const float* v, int capacity,
                                                    int n, float* out,
                                                    std::vector<float>& scratch) {
  AttendBody<true>(c, q, k_t, v, capacity, n, out, scratch);
}

void AttendBaseline(const LlamaConfig& c, const float* q, const float* k_t, const float* v,
                    int capacity, int n, float* out, std::vector<float>& scratch) {
  AttendBody<false>(c, q, k_t, v, capacity, n, out, scratch);
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
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2)
    AttendAvx2(c, q, k_t, v, capacity, n, out, scratch);
  else
    AttendBaseline(c, q, k_t, v, capacity, n, out, scratch);
}

void StoreKey(const LlamaConfig& c, const float* k, int capacity, int pos, float* k_t) {
  for (int kvh = 0; kvh < c.kv_heads; ++kvh) {
    for (int i = 0; i < c.head_dim; ++i) {
      k_t[(size_t(kvh) * c.head_dim + i) * capacity + pos] = k[kvh * c.head_dim + i];
    }
  }
}

}  // namespace refinery::llm
