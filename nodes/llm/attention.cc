#include "nodes/llm/attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "nodes/llm/avx2_sum.h"
#include "nodes/llm/fast_exp.h"
#include "nodes/llm/float_formats.h"
#include "nodes/llm/quant/dot.h"
#include "nodes/llm/quant/formats.h"
#include "nodes/llm/quant/quantize.h"

namespace refinery::llm {
namespace {

// ---- Views of one KV head's keys and values, one type per cache format ----

// float32 or float16: the head's first key and first value (layouts in attention.h).
template <typename T>
struct PlainHead {
  const T* keys;
  const T* values;
};
template <typename T>
struct PlainLayer {
  const T* k;
  const T* v;
  PlainHead<T> Head(int kvh, int hd, int capacity) const {
    const size_t first = size_t(kvh) * PaddedCapacity(capacity) * hd;
    return {k + first, v + first};
  }
};

// q8_0: codes as above, and their scales (head_dim / 32 rows).
struct Q8Head {
  const int8_t* keys;
  const uint16_t* key_scales;
  const int8_t* values;
  const uint16_t* value_scales;
};
struct Q8Layer {
  Q8Cache k, v;
  Q8Head Head(int kvh, int hd, int capacity) const {
    const size_t first = size_t(kvh) * PaddedCapacity(capacity) * hd;
    return {k.codes + first, k.scales + first / kQ8Block, v.codes + first,
            v.scales + first / kQ8Block};
  }
};

// Which kernels a head loop calls (overload tags).
struct Plain {};
struct Avx2 {};

// s[t] = exp(s[t] - max), returning 1 / sum: the caller folds the normalisation into the
// weighted sum of values.
inline float Softmax(Plain, float* s, int n) {
  float max = s[0];
  for (int t = 1; t < n; ++t) max = std::max(max, s[t]);
  float sum = 0;
  for (int t = 0; t < n; ++t) {
    s[t] = FastExp(s[t] - max);
    sum += s[t];
  }
  return 1.0f / sum;
}

// ---- Plain kernels: the reference, and what CPUs without AVX2 run ----

inline float ToFloat(float x) { return x; }
inline float ToFloat(uint16_t h) { return HalfToFloat(h); }

// q . key_t (q already carries 1/sqrt(head_dim)).
template <typename T>
inline float ScoreAt(const float* q, const PlainHead<T>& h, int hd, int t) {
  float acc = 0;
  for (int i = 0; i < hd; ++i) acc += q[i] * ToFloat(h.keys[KeyOffset(t, i, hd)]);
  return acc;
}
inline float ScoreAt(const float* q, const Q8Head& h, int hd, int t) {
  const int blocks = hd / kQ8Block;
  float acc = 0;
  for (int b = 0; b < blocks; ++b) {
    float dot = 0;
    for (int i = b * kQ8Block; i < (b + 1) * kQ8Block; ++i)
      dot += q[i] * float(h.keys[KeyOffset(t, i, hd)]);
    acc += dot * HalfToFloat(h.key_scales[KeyOffset(t, b, blocks)]);
  }
  return acc;
}

// s[t] for n positions.
template <typename Head>
void Scores(Plain, const float* q, const Head& h, int hd, int n, float* s) {
  for (int t = 0; t < n; ++t) s[t] = ScoreAt(q, h, hd, t);
}

// o[i] = inv * sum_t w[t] * value_t[i].
template <typename T>
void WeightedValues(Plain, const float* w, float inv, const PlainHead<T>& h, int n, int hd,
                    float* o) {
  std::fill(o, o + hd, 0.0f);
  for (int t = 0; t < n; ++t) {
    const float wt = w[t] * inv;
    const T* vt = h.values + size_t(t) * hd;
    for (int i = 0; i < hd; ++i) o[i] += wt * ToFloat(vt[i]);
  }
}
void WeightedValues(Plain, const float* w, float inv, const Q8Head& h, int n, int hd, float* o) {
  const int blocks = hd / kQ8Block;
  std::fill(o, o + hd, 0.0f);
  for (int t = 0; t < n; ++t) {
    const int8_t* vt = h.values + size_t(t) * hd;
    const uint16_t* st = h.value_scales + size_t(t) * blocks;
    for (int b = 0; b < blocks; ++b) {
      const float wt = w[t] * inv * HalfToFloat(st[b]);
      for (int i = b * kQ8Block; i < (b + 1) * kQ8Block; ++i) o[i] += wt * float(vt[i]);
    }
  }
}

// The group's heads one after the other.
template <typename Head>
void Scores(Plain, const float* q, int group, const Head& head, int hd, int n, float* s) {
  for (int h = 0; h < group; ++h)
    Scores(Plain{}, q + size_t(h) * hd, head, hd, n, s + size_t(h) * n);
}
template <typename Head>
void WeightedValues(Plain, const float* w, const float* inv, int group, const Head& head, int n,
                    int hd, float* o) {
  for (int h = 0; h < group; ++h)
    WeightedValues(Plain{}, w + size_t(h) * n, inv[h], head, n, hd, o + size_t(h) * hd);
}

// ---- AVX2 kernels ----
// Each loop keeps several independent accumulators in registers: one chain of dependent FMAs
// waits four cycles per step, so a single accumulator runs at an eighth of the FMA units' rate.
// A GQA group's query heads share each key and value load: a pass takes kHeads heads of the group
// (4, 2 or 1 at a time) with kHeads * kVecs accumulators. s and o are the pass's first head's
// rows (n scores, head_dim outputs per head); q holds the group's scaled queries, hd apart.

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

// Register tiles of the kernels: kHeads heads by 8 * kVecs positions (scores) or dimensions
// (weighted values).
template <int kHeads, int kVecs>
using ScoreRegisters = __m256[kHeads][kVecs];

template <int kHeads, int kVecs>
REFINERY_AVX2 void Zero(ScoreRegisters<kHeads, kVecs>& acc) {
#pragma GCC unroll 8
  for (int h = 0; h < kHeads; ++h)
#pragma GCC unroll 8
    for (int g = 0; g < kVecs; ++g) acc[h][g] = _mm256_setzero_ps();
}

// acc[h][g] += a[h * a_stride + x] * b[x * b_stride + 8g ..] for x in [first, last): each load
// of b serves the kHeads rows of a. Scores: a = the heads' queries (x a dimension), b = a key
// tile. Values: a = the heads' softmax weights (x a position), b = the value rows.
template <int kHeads, int kVecs, typename T>
REFINERY_AVX2 void AccumulateOuter(const float* a, size_t a_stride, const T* b, size_t b_stride,
                                   int first, int last, ScoreRegisters<kHeads, kVecs>& acc) {
  for (int x = first; x < last; ++x) {
    const T* row = b + size_t(x) * b_stride;
    __m256 v[kVecs];
#pragma GCC unroll 8
    for (int g = 0; g < kVecs; ++g) v[g] = Load8(row + 8 * g);
#pragma GCC unroll 8
    for (int h = 0; h < kHeads; ++h) {
      const __m256 ah = _mm256_set1_ps(a[size_t(h) * a_stride + x]);
#pragma GCC unroll 8
      for (int g = 0; g < kVecs; ++g) acc[h][g] = _mm256_fmadd_ps(ah, v[g], acc[h][g]);
    }
  }
}

template <int kHeads, int kVecs>
REFINERY_AVX2 void StoreScores(const ScoreRegisters<kHeads, kVecs>& acc, int n, int t, float* s) {
#pragma GCC unroll 8
  for (int h = 0; h < kHeads; ++h)
#pragma GCC unroll 8
    for (int g = 0; g < kVecs; ++g) _mm256_storeu_ps(s + size_t(h) * n + t + 8 * g, acc[h][g]);
}

// Scores of 8 * kVecs positions from t on (t a multiple of 8 * kVecs: one key tile or part of
// one), for kHeads heads.
template <int kHeads, int kVecs, typename T>
REFINERY_AVX2 void Span(const float* q, const PlainHead<T>& head, int hd, int n, int t, float* s) {
  static_assert(8 * kVecs <= kKeyTile && kKeyTile % (8 * kVecs) == 0);
  ScoreRegisters<kHeads, kVecs> acc;
  Zero(acc);
  AccumulateOuter(q, hd, head.keys + KeyOffset(t, 0, hd), kKeyTile, 0, hd, acc);
  StoreScores(acc, n, t, s);
}

// q8_0 keys: per 32-dimension block the codes' dot products stay in registers until that block's
// scales apply (so half the accumulators of the float span).
template <int kHeads, int kVecs>
REFINERY_AVX2 void Span(const float* q, const Q8Head& head, int hd, int n, int t, float* s) {
  static_assert(8 * kVecs <= kKeyTile && kKeyTile % (8 * kVecs) == 0);
  const int blocks = hd / kQ8Block;
  ScoreRegisters<kHeads, kVecs> acc, dot;
  Zero(acc);
  const int8_t* tile = head.keys + KeyOffset(t, 0, hd);
  const uint16_t* scale_tile = head.key_scales + KeyOffset(t, 0, blocks);
  for (int b = 0; b < blocks; ++b) {
    Zero(dot);
    AccumulateOuter(q, hd, tile, kKeyTile, b * kQ8Block, (b + 1) * kQ8Block, dot);
    const uint16_t* scales = scale_tile + size_t(b) * kKeyTile;
#pragma GCC unroll 8
    for (int g = 0; g < kVecs; ++g) {
      const __m256 scale = Load8(scales + 8 * g);
#pragma GCC unroll 8
      for (int h = 0; h < kHeads; ++h) acc[h][g] = _mm256_fmadd_ps(dot[h][g], scale, acc[h][g]);
    }
  }
  StoreScores(acc, n, t, s);
}

// Whole spans of 8 * kVecs positions, then of 8; the last n % 8 positions one by one.
template <int kHeads, int kVecs, typename Head>
REFINERY_AVX2 void ScorePass(const float* q, const Head& head, int hd, int n, float* s) {
  int t = 0;
  for (; t + 8 * kVecs <= n; t += 8 * kVecs) Span<kHeads, kVecs>(q, head, hd, n, t, s);
  for (; t + 8 <= n; t += 8) Span<kHeads, 1>(q, head, hd, n, t, s);
  for (; t < n; ++t)
    for (int h = 0; h < kHeads; ++h)
      s[size_t(h) * n + t] = ScoreAt(q + size_t(h) * hd, head, hd, t);
}

// The group's heads in passes of 4, 2 and 1; float keys keep 8 accumulators a pass, q8_0 keys 4
// (each also holds a block's dot products).
template <typename Head>
REFINERY_AVX2_KERNEL void Scores(Avx2, const float* q, int group, const Head& head, int hd, int n,
                                 float* s) {
  constexpr int kRegisters = std::is_same_v<Head, Q8Head> ? 4 : 8;
  int h = 0;
  for (; h + 4 <= group; h += 4)
    ScorePass<4, kRegisters / 4>(q + size_t(h) * hd, head, hd, n, s + size_t(h) * n);
  for (; h + 2 <= group; h += 2)
    ScorePass<2, kRegisters / 2>(q + size_t(h) * hd, head, hd, n, s + size_t(h) * n);
  for (; h < group; ++h) ScorePass<1, 4>(q + size_t(h) * hd, head, hd, n, s + size_t(h) * n);
}

// Dimensions [i0, i0 + 8 * kVecs) of kHeads weighted sums of values, summed in registers over all
// positions; w holds each head's n weights, inv each head's softmax normalisation.
template <int kHeads, int kVecs, typename T>
REFINERY_AVX2 void ValueSpan(const float* w, const float* inv, const T* values, int n, int hd,
                             int i0, float* o) {
  ScoreRegisters<kHeads, kVecs> acc;
  Zero(acc);
  AccumulateOuter(w, size_t(n), values + i0, size_t(hd), 0, n, acc);
#pragma GCC unroll 8
  for (int h = 0; h < kHeads; ++h) {
    const __m256 scale = _mm256_set1_ps(inv[h]);
#pragma GCC unroll 8
    for (int g = 0; g < kVecs; ++g)
      _mm256_storeu_ps(o + size_t(h) * hd + i0 + 8 * g, _mm256_mul_ps(acc[h][g], scale));
  }
}

template <int kHeads, int kVecs, typename T>
REFINERY_AVX2 void ValuePass(const float* w, const float* inv, const PlainHead<T>& head, int n,
                             int hd, float* o) {
  int i = 0;
  for (; i + 8 * kVecs <= hd; i += 8 * kVecs)
    ValueSpan<kHeads, kVecs>(w, inv, head.values, n, hd, i, o);
  for (; i + 8 <= hd; i += 8) ValueSpan<kHeads, 1>(w, inv, head.values, n, hd, i, o);
  for (; i < hd; ++i)
    for (int h = 0; h < kHeads; ++h) {
      float acc = 0;
      for (int t = 0; t < n; ++t)
        acc += w[size_t(h) * n + t] * ToFloat(head.values[size_t(t) * hd + i]);
      o[size_t(h) * hd + i] = acc * inv[h];
    }
}

// q8_0 values: 8 * kVecs dimensions from i0 on (within one 32-value block, or two whole blocks
// when kVecs is 8); each position's weight folds in its block's scale.
template <int kHeads, int kVecs>
REFINERY_AVX2 void ValueSpanQ8(const float* w, const float* inv, const Q8Head& head, int n, int hd,
                               int i0, float* o) {
  constexpr int kBlocks = kVecs > 4 ? kVecs / 4 : 1;
  __m256 acc[kHeads][kVecs];
#pragma GCC unroll 8
  for (int h = 0; h < kHeads; ++h)
#pragma GCC unroll 8
    for (int g = 0; g < kVecs; ++g) acc[h][g] = _mm256_setzero_ps();
  const int blocks = hd / kQ8Block, b0 = i0 / kQ8Block;
  for (int t = 0; t < n; ++t) {
    const int8_t* vt = head.values + size_t(t) * hd + i0;
    const uint16_t* st = head.value_scales + size_t(t) * blocks + b0;
    float block_scale[kBlocks];
#pragma GCC unroll 2
    for (int b = 0; b < kBlocks; ++b) block_scale[b] = _cvtsh_ss(st[b]);
#pragma GCC unroll 8
    for (int h = 0; h < kHeads; ++h) {
      const float wt = w[size_t(h) * n + t];
#pragma GCC unroll 8
      for (int g = 0; g < kVecs; ++g)
        acc[h][g] =
            _mm256_fmadd_ps(_mm256_set1_ps(wt * block_scale[g / 4]), Load8(vt + 8 * g), acc[h][g]);
    }
  }
#pragma GCC unroll 8
  for (int h = 0; h < kHeads; ++h) {
    const __m256 scale = _mm256_set1_ps(inv[h]);
#pragma GCC unroll 8
    for (int g = 0; g < kVecs; ++g)
      _mm256_storeu_ps(o + size_t(h) * hd + i0 + 8 * g, _mm256_mul_ps(acc[h][g], scale));
  }
}

template <int kHeads, int kVecs>
REFINERY_AVX2 void ValuePass(const float* w, const float* inv, const Q8Head& head, int n, int hd,
                             float* o) {
  int i = 0;
  for (; i + 8 * kVecs <= hd; i += 8 * kVecs) ValueSpanQ8<kHeads, kVecs>(w, inv, head, n, hd, i, o);
  for (; i < hd; i += kQ8Block) ValueSpanQ8<kHeads, 4>(w, inv, head, n, hd, i, o);
}

// The group's heads in passes of 4 (16 dimensions each), 2 (32) and 1 (64).
template <typename Head>
REFINERY_AVX2_KERNEL void WeightedValues(Avx2, const float* w, const float* inv, int group,
                                         const Head& head, int n, int hd, float* o) {
  int h = 0;
  for (; h + 4 <= group; h += 4)
    ValuePass<4, 2>(w + size_t(h) * n, inv + h, head, n, hd, o + size_t(h) * hd);
  for (; h + 2 <= group; h += 2)
    ValuePass<2, 4>(w + size_t(h) * n, inv + h, head, n, hd, o + size_t(h) * hd);
  for (; h < group; ++h)
    ValuePass<1, 8>(w + size_t(h) * n, inv + h, head, n, hd, o + size_t(h) * hd);
}

// Softmax as above, eight positions at a time.
REFINERY_AVX2_KERNEL float Softmax(Avx2, float* s, int n) {
  __m256 max8 = _mm256_set1_ps(s[0]);
  int t = 0;
  for (; t + 8 <= n; t += 8) max8 = _mm256_max_ps(max8, _mm256_loadu_ps(s + t));
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(max8), _mm256_extractf128_ps(max8, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  float max = _mm_cvtss_f32(m);
  for (; t < n; ++t) max = std::max(max, s[t]);
  const __m256 max_v = _mm256_set1_ps(max);
  __m256 sum8 = _mm256_setzero_ps();
  for (t = 0; t + 8 <= n; t += 8) {
    const __m256 e = FastExpAvx2(_mm256_sub_ps(_mm256_loadu_ps(s + t), max_v));
    _mm256_storeu_ps(s + t, e);
    sum8 = _mm256_add_ps(sum8, e);
  }
  float sum = HorizontalSum(sum8);
  for (; t < n; ++t) {
    s[t] = FastExp(s[t] - max);
    sum += s[t];
  }
  return 1.0f / sum;
}

#undef REFINERY_AVX2
#undef REFINERY_AVX2_KERNEL

// ---- The head loop, one copy per kernel set and cache format ----

// Per KV head: the group's scaled queries, their scores, softmax, and weighted values.
template <typename Kernels, typename Layer>
__attribute__((always_inline)) inline void AttendBody(const LlamaConfig& c, const float* q,
                                                      const Layer& layer, int capacity, int n,
                                                      float* out, std::vector<float>& scratch,
                                                      KvHeadRange heads) {
  const int hd = c.head_dim, group = c.heads / c.kv_heads;
  const float scale = 1.0f / std::sqrt(float(hd));
  scratch.resize(size_t(group) * (size_t(n) + size_t(hd) + 1));
  float* s = scratch.data();                   // [group][n]
  float* scaled_q = s + size_t(group) * n;     // [group][hd]
  float* inv = scaled_q + size_t(group) * hd;  // [group]
  const int last = heads.count < 0 ? c.kv_heads : std::min(c.kv_heads, heads.first + heads.count);
  for (int kvh = std::max(0, heads.first); kvh < last; ++kvh) {
    const auto head = layer.Head(kvh, hd, capacity);
    const float* qg = q + size_t(kvh) * group * hd;
    for (int i = 0; i < group * hd; ++i) scaled_q[i] = qg[i] * scale;
    Scores(Kernels{}, scaled_q, group, head, hd, n, s);
    for (int h = 0; h < group; ++h) inv[h] = Softmax(Kernels{}, s + size_t(h) * n, n);
    WeightedValues(Kernels{}, s, inv, group, head, n, hd, out + size_t(kvh) * group * hd);
  }
}

template <typename Layer>
__attribute__((target("avx2,fma,f16c"))) void AttendAvx2(const LlamaConfig& c, const float* q,
                                                         const Layer& layer, int capacity, int n,
                                                         float* out, std::vector<float>& scratch,
                                                         KvHeadRange heads) {
  AttendBody<Avx2>(c, q, layer, capacity, n, out, scratch, heads);
}

template <typename Layer>
void AttendPlain(const LlamaConfig& c, const float* q, const Layer& layer, int capacity, int n,
                 float* out, std::vector<float>& scratch, KvHeadRange heads) {
  AttendBody<Plain>(c, q, layer, capacity, n, out, scratch, heads);
}

// AVX2, FMA and F16C (quant's check: it reads F16C from CPUID, which clang 14's
// __builtin_cpu_supports does not know).
bool HasAvx2() {
  static const bool avx2 = quant::avx2::Available();
  return avx2;
}

template <typename Layer>
void Attend(const LlamaConfig& c, const float* q, const Layer& layer, int capacity, int n,
            float* out, std::vector<float>& scratch, AttentionKernels kernels, KvHeadRange heads) {
  if (kernels == AttentionKernels::kBest && HasAvx2())
    AttendAvx2(c, q, layer, capacity, n, out, scratch, heads);
  else
    AttendPlain(c, q, layer, capacity, n, out, scratch, heads);
}

// One block of 32 values as a Q8_0 tensor block (scale amax / 127, codes rounded half away from
// zero, as llama.cpp's q8_0 cache stores them).
quant::BlockQ8_0 Q8Block(const float* x) {
  quant::BlockQ8_0 block;
  quant::QuantizeValues(quant::Type::kQ8_0, x, kQ8Block, reinterpret_cast<uint8_t*>(&block));
  return block;
}

// The first key or value of KV head kvh in a layer.
size_t HeadStart(const LlamaConfig& c, int capacity, int kvh) {
  return size_t(kvh) * PaddedCapacity(capacity) * c.head_dim;
}

__attribute__((target("avx2,fma"))) void SwiGluAvx2(const float* gate, const float* up, int n,
                                                    float* out) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 silu =
        _mm256_div_ps(g, _mm256_add_ps(one, FastExpAvx2(_mm256_sub_ps(_mm256_setzero_ps(), g))));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + FastExp(-gate[i])) * up[i];
}
void SwiGluBaseline(const float* gate, const float* up, int n, float* out) {
  for (int i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + FastExp(-gate[i])) * up[i];
}

}  // namespace

void SwiGlu(const float* gate, const float* up, int n, float* out) {
  if (HasAvx2())
    SwiGluAvx2(gate, up, n, out);
  else
    SwiGluBaseline(gate, up, n, out);
}

void AttendCached(const LlamaConfig& c, const float* q, const float* k, const float* v,
                  int capacity, int n, float* out, std::vector<float>& scratch,
                  AttentionKernels kernels, KvHeadRange heads) {
  Attend(c, q, PlainLayer<float>{k, v}, capacity, n, out, scratch, kernels, heads);
}

void AttendCached(const LlamaConfig& c, const float* q, const uint16_t* k, const uint16_t* v,
                  int capacity, int n, float* out, std::vector<float>& scratch,
                  AttentionKernels kernels, KvHeadRange heads) {
  Attend(c, q, PlainLayer<uint16_t>{k, v}, capacity, n, out, scratch, kernels, heads);
}

void AttendCached(const LlamaConfig& c, const float* q, const Q8Cache& k, const Q8Cache& v,
                  int capacity, int n, float* out, std::vector<float>& scratch,
                  AttentionKernels kernels, KvHeadRange heads) {
  Attend(c, q, Q8Layer{k, v}, capacity, n, out, scratch, kernels, heads);
}

void StoreKey(const LlamaConfig& c, const float* key, int capacity, int pos, float* k) {
  for (int kvh = 0; kvh < c.kv_heads; ++kvh) {
    float* head = k + HeadStart(c, capacity, kvh);
    for (int i = 0; i < c.head_dim; ++i)
      head[KeyOffset(pos, i, c.head_dim)] = key[kvh * c.head_dim + i];
  }
}

void StoreKey(const LlamaConfig& c, const float* key, int capacity, int pos, uint16_t* k) {
  for (int kvh = 0; kvh < c.kv_heads; ++kvh) {
    uint16_t* head = k + HeadStart(c, capacity, kvh);
    for (int i = 0; i < c.head_dim; ++i)
      head[KeyOffset(pos, i, c.head_dim)] = FloatToHalf(key[kvh * c.head_dim + i]);
  }
}

void StoreKey(const LlamaConfig& c, const float* key, int capacity, int pos, const Q8Cache& k) {
  const int blocks = c.head_dim / kQ8Block;
  for (int kvh = 0; kvh < c.kv_heads; ++kvh) {
    const size_t start = HeadStart(c, capacity, kvh);
    for (int b = 0; b < blocks; ++b) {
      const quant::BlockQ8_0 block = Q8Block(key + kvh * c.head_dim + b * kQ8Block);
      for (int i = 0; i < kQ8Block; ++i)
        k.codes[start + KeyOffset(pos, b * kQ8Block + i, c.head_dim)] = block.qs[i];
      k.scales[start / kQ8Block + KeyOffset(pos, b, blocks)] = block.d;
    }
  }
}

void StoreValue(const LlamaConfig& c, const float* value, int capacity, int pos, float* v) {
  for (int kvh = 0; kvh < c.kv_heads; ++kvh)
    std::memcpy(v + HeadStart(c, capacity, kvh) + size_t(pos) * c.head_dim,
                value + kvh * c.head_dim, sizeof(float) * size_t(c.head_dim));
}

void StoreValue(const LlamaConfig& c, const float* value, int capacity, int pos, uint16_t* v) {
  for (int kvh = 0; kvh < c.kv_heads; ++kvh) {
    uint16_t* row = v + HeadStart(c, capacity, kvh) + size_t(pos) * c.head_dim;
    for (int i = 0; i < c.head_dim; ++i) row[i] = FloatToHalf(value[kvh * c.head_dim + i]);
  }
}

void StoreValue(const LlamaConfig& c, const float* value, int capacity, int pos, const Q8Cache& v) {
  const int blocks = c.head_dim / kQ8Block;
  for (int kvh = 0; kvh < c.kv_heads; ++kvh) {
    const size_t row = HeadStart(c, capacity, kvh) + size_t(pos) * c.head_dim;
    for (int b = 0; b < blocks; ++b) {
      const quant::BlockQ8_0 block = Q8Block(value + kvh * c.head_dim + b * kQ8Block);
      std::memcpy(v.codes + row + b * kQ8Block, block.qs, kQ8Block);
      v.scales[row / kQ8Block + b] = block.d;
    }
  }
}

}  // namespace refinery::llm
