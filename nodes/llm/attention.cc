#include "nodes/llm/attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "nodes/llm/float_formats.h"
#include "nodes/llm/quant/formats.h"
#include "nodes/llm/quant/quantize.h"

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

// ---- Views of one KV head's keys and values, one type per cache format ----

// float32 or float16: keys [head_dim][capacity] from `keys`, values `kv_dim` apart per position.
template <typename T>
struct PlainHead {
  const T* keys;
  const T* values;
};
template <typename T>
struct PlainLayer {
  const T* k_t;
  const T* v;
  PlainHead<T> Head(int kvh, int hd, int capacity) const {
    return {k_t + size_t(kvh) * hd * capacity, v + size_t(kvh) * hd};
  }
};

// q8_0: codes as above; key scales [head_dim / 32][capacity], value scales kv_dim / 32 apart.
struct Q8Head {
  const int8_t* keys;
  const uint16_t* key_scales;
  const int8_t* values;
  const uint16_t* value_scales;
};
struct Q8Layer {
  Q8Cache k_t, v;
  Q8Head Head(int kvh, int hd, int capacity) const {
    const size_t blocks = size_t(hd / kQ8Block);
    return {k_t.codes + size_t(kvh) * hd * capacity, k_t.scales + kvh * blocks * capacity,
            v.codes + size_t(kvh) * hd, v.scales + kvh * blocks};
  }
};

// Which kernels a head loop calls (overload tags).
struct Plain {};
struct Avx2 {};

// ---- Plain kernels: the reference, and what CPUs without AVX2 run ----

inline float ToFloat(float x) { return x; }
inline float ToFloat(uint16_t h) { return HalfToFloat(h); }

// s[t] = q . key_t for n positions (q already carries 1/sqrt(head_dim)).
template <typename T>
void Scores(Plain, const float* q, const PlainHead<T>& h, int hd, int capacity, int n, float* s) {
  std::fill(s, s + n, 0.0f);
  for (int i = 0; i < hd; ++i) {
    const T* row = h.keys + size_t(i) * capacity;
    for (int t = 0; t < n; ++t) s[t] += q[i] * ToFloat(row[t]);
  }
}
void Scores(Plain, const float* q, const Q8Head& h, int hd, int capacity, int n, float* s) {
  std::fill(s, s + n, 0.0f);
  for (int b = 0; b < hd / kQ8Block; ++b) {
    const uint16_t* scales = h.key_scales + size_t(b) * capacity;
    for (int t = 0; t < n; ++t) {
      float dot = 0;
      for (int i = b * kQ8Block; i < (b + 1) * kQ8Block; ++i)
        dot += q[i] * float(h.keys[size_t(i) * capacity + t]);
      s[t] += dot * HalfToFloat(scales[t]);
    }
  }
}

// o[i] = inv * sum_t w[t] * value_t[i].
template <typename T>
void WeightedValues(Plain, const float* w, float inv, const PlainHead<T>& h, int n, int kv_dim,
                    int hd, float* o) {
  std::fill(o, o + hd, 0.0f);
  for (int t = 0; t < n; ++t) {
    const float wt = w[t] * inv;
    const T* vt = h.values + size_t(t) * kv_dim;
    for (int i = 0; i < hd; ++i) o[i] += wt * ToFloat(vt[i]);
  }
}
void WeightedValues(Plain, const float* w, float inv, const Q8Head& h, int n, int kv_dim, int hd,
                    float* o) {
  std::fill(o, o + hd, 0.0f);
  for (int t = 0; t < n; ++t) {
    const int8_t* vt = h.values + size_t(t) * kv_dim;
    const uint16_t* st = h.value_scales + size_t(t) * (kv_dim / kQ8Block);
    for (int b = 0; b < hd / kQ8Block; ++b) {
      const float wt = w[t] * inv * HalfToFloat(st[b]);
      for (int i = b * kQ8Block; i < (b + 1) * kQ8Block; ++i) o[i] += wt * float(vt[i]);
    }
  }
}

// ---- AVX2 kernels ----
// Each loop keeps several independent accumulators in registers: one chain of dependent FMAs
// waits four cycles per step, so a single accumulator runs at an eighth of the FMA units' rate
// (the score loop used to, and the value loop read and wrote its sums through memory per position).

#define REFINERY_AVX2 __attribute__((target("avx2,fma,f16c"), always_inline)) inline
// The per-head entry points: called from the head loop, which is also compiled without AVX2.
#define REFINERY_AVX2_KERNEL __attribute__((target("avx2,fma,f16c"), noinline))

// Eight cached values as floats (F16C for halves: every AVX2 CPU has it).
REFINERY_AVX2 __m256 Load8(const float* p) { return _mm256_loadu_ps(p); }
REFINERY_AVX2 __m256 Load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
REFINERY_AVX2 __m256 Load8(const int8_t* p) {
  return _mm256_cvtepi32_ps(
      _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
REFINERY_AVX2 float ToFloatF16c(float x) { return x; }
REFINERY_AVX2 float ToFloatF16c(uint16_t h) { return _cvtsh_ss(h); }

// Scores of 8 * kVecs positions from t on.
template <int kVecs, typename T>
REFINERY_AVX2 void ScoreSpan(const float* q, const T* keys, int hd, int capacity, int t, float* s) {
  __m256 acc[kVecs];
#pragma GCC unroll 8
  for (int g = 0; g < kVecs; ++g) acc[g] = _mm256_setzero_ps();
  for (int i = 0; i < hd; ++i) {
    const __m256 qi = _mm256_set1_ps(q[i]);
    const T* row = keys + size_t(i) * capacity + t;
#pragma GCC unroll 8
    for (int g = 0; g < kVecs; ++g) acc[g] = _mm256_fmadd_ps(qi, Load8(row + 8 * g), acc[g]);
  }
#pragma GCC unroll 8
  for (int g = 0; g < kVecs; ++g) _mm256_storeu_ps(s + t + 8 * g, acc[g]);
}

template <typename T>
REFINERY_AVX2_KERNEL void Scores(Avx2, const float* q, const PlainHead<T>& h, int hd, int capacity,
                                 int n, float* s) {
  int t = 0;
  for (; t + 32 <= n; t += 32) ScoreSpan<4>(q, h.keys, hd, capacity, t, s);
  for (; t + 8 <= n; t += 8) ScoreSpan<1>(q, h.keys, hd, capacity, t, s);
  for (; t < n; ++t) {
    float acc = 0;
    for (int i = 0; i < hd; ++i) acc += q[i] * ToFloatF16c(h.keys[size_t(i) * capacity + t]);
    s[t] = acc;
  }
}

// q8_0 keys: per 32-dimension block the codes' dot products stay in registers until that block's
// scales apply.
template <int kVecs>
REFINERY_AVX2 void ScoreSpanQ8(const float* q, const Q8Head& h, int hd, int capacity, int t,
                               float* s) {
  __m256 acc[kVecs];
#pragma GCC unroll 8
  for (int g = 0; g < kVecs; ++g) acc[g] = _mm256_setzero_ps();
  for (int b = 0; b < hd / kQ8Block; ++b) {
    __m256 dot[kVecs];
#pragma GCC unroll 8
    for (int g = 0; g < kVecs; ++g) dot[g] = _mm256_setzero_ps();
    for (int i = b * kQ8Block; i < (b + 1) * kQ8Block; ++i) {
      const __m256 qi = _mm256_set1_ps(q[i]);
      const int8_t* row = h.keys + size_t(i) * capacity + t;
#pragma GCC unroll 8
      for (int g = 0; g < kVecs; ++g) dot[g] = _mm256_fmadd_ps(qi, Load8(row + 8 * g), dot[g]);
    }
    const uint16_t* scales = h.key_scales + size_t(b) * capacity + t;
#pragma GCC unroll 8
    for (int g = 0; g < kVecs; ++g) acc[g] = _mm256_fmadd_ps(dot[g], Load8(scales + 8 * g), acc[g]);
  }
#pragma GCC unroll 8
  for (int g = 0; g < kVecs; ++g) _mm256_storeu_ps(s + t + 8 * g, acc[g]);
}

REFINERY_AVX2_KERNEL void Scores(Avx2, const float* q, const Q8Head& h, int hd, int capacity, int n,
                                 float* s) {
  int t = 0;
  for (; t + 32 <= n; t += 32) ScoreSpanQ8<4>(q, h, hd, capacity, t, s);
  for (; t + 8 <= n; t += 8) ScoreSpanQ8<1>(q, h, hd, capacity, t, s);
  for (; t < n; ++t) {
    float acc = 0;
    for (int b = 0; b < hd / kQ8Block; ++b) {
      float dot = 0;
      for (int i = b * kQ8Block; i < (b + 1) * kQ8Block; ++i)
        dot += q[i] * float(h.keys[size_t(i) * capacity + t]);
      acc += dot * _cvtsh_ss(h.key_scales[size_t(b) * capacity + t]);
    }
    s[t] = acc;
  }
}

// Dimensions [i0, i0 + 8 * kVecs) of the weighted sum of values, summed in registers over all
// positions.
template <int kVecs, typename T>
REFINERY_AVX2 void ValueSpan(const float* w, float inv, const T* values, int n, int kv_dim, int i0,
                             float* o) {
  __m256 acc[kVecs];
#pragma GCC unroll 8
  for (int g = 0; g < kVecs; ++g) acc[g] = _mm256_setzero_ps();
  for (int t = 0; t < n; ++t) {
    const __m256 wt = _mm256_set1_ps(w[t]);
    const T* vt = values + size_t(t) * kv_dim + i0;
#pragma GCC unroll 8
    for (int g = 0; g < kVecs; ++g) acc[g] = _mm256_fmadd_ps(wt, Load8(vt + 8 * g), acc[g]);
  }
  const __m256 scale = _mm256_set1_ps(inv);
#pragma GCC unroll 8
  for (int g = 0; g < kVecs; ++g) _mm256_storeu_ps(o + i0 + 8 * g, _mm256_mul_ps(acc[g], scale));
}

template <typename T>
REFINERY_AVX2_KERNEL void WeightedValues(Avx2, const float* w, float inv, const PlainHead<T>& h,
                                         int n, int kv_dim, int hd, float* o) {
  int i = 0;
  for (; i + 64 <= hd; i += 64) ValueSpan<8>(w, inv, h.values, n, kv_dim, i, o);
  for (; i + 32 <= hd; i += 32) ValueSpan<4>(w, inv, h.values, n, kv_dim, i, o);
  for (; i + 8 <= hd; i += 8) ValueSpan<1>(w, inv, h.values, n, kv_dim, i, o);
  for (; i < hd; ++i) {
    float acc = 0;
    for (int t = 0; t < n; ++t) acc += w[t] * ToFloatF16c(h.values[size_t(t) * kv_dim + i]);
    o[i] = acc * inv;
  }
}

// q8_0 values: kBlocks 32-value blocks from i0 on; each position's weight folds in its block scale.
template <int kBlocks>
REFINERY_AVX2 void ValueSpanQ8(const float* w, float inv, const Q8Head& h, int n, int kv_dim,
                               int i0, float* o) {
  constexpr int kVecs = kBlocks * kQ8Block / 8;
  __m256 acc[kVecs];
#pragma GCC unroll 8
  for (int g = 0; g < kVecs; ++g) acc[g] = _mm256_setzero_ps();
  const int blocks_per_row = kv_dim / kQ8Block, b0 = i0 / kQ8Block;
  for (int t = 0; t < n; ++t) {
    const int8_t* vt = h.values + size_t(t) * kv_dim + i0;
    const uint16_t* st = h.value_scales + size_t(t) * blocks_per_row + b0;
#pragma GCC unroll 2
    for (int b = 0; b < kBlocks; ++b) {
      const __m256 wb = _mm256_set1_ps(w[t] * _cvtsh_ss(st[b]));
#pragma GCC unroll 4
      for (int g = 0; g < 4; ++g)
        acc[4 * b + g] = _mm256_fmadd_ps(wb, Load8(vt + kQ8Block * b + 8 * g), acc[4 * b + g]);
    }
  }
  const __m256 scale = _mm256_set1_ps(inv);
#pragma GCC unroll 8
  for (int g = 0; g < kVecs; ++g) _mm256_storeu_ps(o + i0 + 8 * g, _mm256_mul_ps(acc[g], scale));
}

REFINERY_AVX2_KERNEL void WeightedValues(Avx2, const float* w, float inv, const Q8Head& h, int n,
                                         int kv_dim, int hd, float* o) {
  int i = 0;
  for (; i + 2 * kQ8Block <= hd; i += 2 * kQ8Block) ValueSpanQ8<2>(w, inv, h, n, kv_dim, i, o);
  for (; i < hd; i += kQ8Block) ValueSpanQ8<1>(w, inv, h, n, kv_dim, i, o);
}

#undef REFINERY_AVX2
#undef REFINERY_AVX2_KERNEL

// ---- The head loop, one copy per kernel set and cache format ----

template <typename Kernels, typename Layer>
__attribute__((always_inline)) inline void AttendBody(const LlamaConfig& c, const float* q,
                                                      const Layer& layer, int capacity, int n,
                                                      float* out, std::vector<float>& scratch) {
  const int hd = c.head_dim, group = c.heads / c.kv_heads, kv_dim = c.kv_dim();
  const float scale = 1.0f / std::sqrt(float(hd));
  scratch.resize(size_t(n) + size_t(hd));
  float* s = scratch.data();
  float* scaled_q = s + n;
  for (int h = 0; h < c.heads; ++h) {
    const auto head = layer.Head(h / group, hd, capacity);
    for (int i = 0; i < hd; ++i) scaled_q[i] = q[size_t(h) * hd + i] * scale;
    Scores(Kernels{}, scaled_q, head, hd, capacity, n, s);
    const float inv = Softmax(s, n);
    WeightedValues(Kernels{}, s, inv, head, n, kv_dim, hd, out + size_t(h) * hd);
  }
}

template <typename Layer>
__attribute__((target("avx2,fma,f16c"))) void AttendAvx2(const LlamaConfig& c, const float* q,
                                                         const Layer& layer, int capacity, int n,
                                                         float* out, std::vector<float>& scratch) {
  AttendBody<Avx2>(c, q, layer, capacity, n, out, scratch);
}

template <typename Layer>
void AttendPlain(const LlamaConfig& c, const float* q, const Layer& layer, int capacity, int n,
                 float* out, std::vector<float>& scratch) {
  AttendBody<Plain>(c, q, layer, capacity, n, out, scratch);
}

bool HasAvx2() {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                           __builtin_cpu_supports("f16c");
  return avx2;
}

template <typename Layer>
void Attend(const LlamaConfig& c, const float* q, const Layer& layer, int capacity, int n,
            float* out, std::vector<float>& scratch, AttentionKernels kernels) {
  if (kernels == AttentionKernels::kBest && HasAvx2())
    AttendAvx2(c, q, layer, capacity, n, out, scratch);
  else
    AttendPlain(c, q, layer, capacity, n, out, scratch);
}

// One block of 32 values as a Q8_0 tensor block (scale amax / 127, codes rounded half away from
// zero, as llama.cpp's q8_0 cache stores them).
quant::BlockQ8_0 Q8Block(const float* x) {
  quant::BlockQ8_0 block;
  quant::QuantizeValues(quant::Type::kQ8_0, x, kQ8Block, reinterpret_cast<uint8_t*>(&block));
  return block;
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
  if (HasAvx2())
    SwiGluAvx2(gate, up, n, out);
  else
    SwiGluBaseline(gate, up, n, out);
}

void AttendCached(const LlamaConfig& c, const float* q, const float* k_t, const float* v,
                  int capacity, int n, float* out, std::vector<float>& scratch,
                  AttentionKernels kernels) {
  Attend(c, q, PlainLayer<float>{k_t, v}, capacity, n, out, scratch, kernels);
}

void AttendCached(const LlamaConfig& c, const float* q, const uint16_t* k_t, const uint16_t* v,
                  int capacity, int n, float* out, std::vector<float>& scratch,
                  AttentionKernels kernels) {
  Attend(c, q, PlainLayer<uint16_t>{k_t, v}, capacity, n, out, scratch, kernels);
}

void AttendCached(const LlamaConfig& c, const float* q, const Q8Cache& k_t, const Q8Cache& v,
                  int capacity, int n, float* out, std::vector<float>& scratch,
                  AttentionKernels kernels) {
  Attend(c, q, Q8Layer{k_t, v}, capacity, n, out, scratch, kernels);
}

void StoreKey(const LlamaConfig& c, const float* k, int capacity, int pos, const Q8Cache& k_t) {
  const int blocks = c.head_dim / kQ8Block;
  for (int kvh = 0; kvh < c.kv_heads; ++kvh)
    for (int b = 0; b < blocks; ++b) {
      const size_t first = size_t(kvh) * c.head_dim + size_t(b) * kQ8Block;
      const quant::BlockQ8_0 block = Q8Block(k + first);
      for (int i = 0; i < kQ8Block; ++i) k_t.codes[(first + i) * capacity + pos] = block.qs[i];
      k_t.scales[(size_t(kvh) * blocks + size_t(b)) * capacity + pos] = block.d;
    }
}

void StoreValue(const LlamaConfig& c, const float* v, int pos, const Q8Cache& values) {
  const int kv_dim = c.kv_dim();
  for (int b = 0; b < kv_dim / kQ8Block; ++b) {
    const quant::BlockQ8_0 block = Q8Block(v + b * kQ8Block);
    std::memcpy(values.codes + size_t(pos) * kv_dim + b * kQ8Block, block.qs, kQ8Block);
    values.scales[size_t(pos) * (kv_dim / kQ8Block) + b] = block.d;
  }
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
