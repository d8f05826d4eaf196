// AVX2+FMA kernels for every quantized format (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K ... Q6_K):
// the weight block's integer codes times the activation block's int8 values with maddubs/madd,
// one float multiply per (sub)block. Functions carry target attributes instead of the file being
// compiled with -mavx2, so no inline function from a shared header is ever emitted with AVX2
// instructions for the linker to pick for the plain path.
#include <cpuid.h>
#include <immintrin.h>

#include <cstring>

#include "nodes/llm/quant/dot.h"
#include "nodes/llm/quant/k_scales.h"

#define REFINERY_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace refinery::llm::quant::avx2 {
namespace {

REFINERY_AVX2 inline float Half(uint16_t h) { return _cvtsh_ss(h); }

// Σ of signed-byte products, as eight int32 sums (maddubs needs an unsigned operand: |a| and
// b with a's sign).
REFINERY_AVX2 inline __m256i SignedDot(__m256i a, __m256i b) {
  const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
  return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

// 32 nibbles from 16 bytes: low nibbles are values 0-15, high nibbles 16-31.
REFINERY_AVX2 inline __m256i Nibbles(const uint8_t* qs) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i m = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m), _mm_and_si128(b, m));
}

// 0xFF in byte k where bit k of `bits` is set.
REFINERY_AVX2 inline __m256i BitsToBytes(uint32_t bits) {
  const __m256i shuffle = _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101,
                                             0x0202020202020202, 0x0303030303030303);
  const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(int(bits)), shuffle);
  const __m256i others = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);  // every bit but bit k % 8
  return _mm256_cmpeq_epi8(_mm256_or_si256(v, others), _mm256_set1_epi64x(-1));
}

REFINERY_AVX2 inline __m256i Load(const int8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// Asks for the block kPrefetchBytes ahead of `block` (one request per cache line). A matrix is
// one sequential stream, but at one thread the hardware prefetchers alone left the Q8_0 kernel
// stalled on its weight loads at 10 GB/s of the 13 GB/s one thread reads; 2-8 KB ahead measured
// alike (llm_bench --b1-only on the 114.6 M Q8_0 file: 54-70 tok/s without, 67-87 with). Past the
// end of the matrix the requests are for other memory, which a prefetch never faults on.
inline constexpr int kPrefetchBytes = 4096;
template <size_t kBlockBytes>
REFINERY_AVX2 inline void PrefetchAhead(const uint8_t* block) {
  for (size_t line = 0; line < kBlockBytes; line += 64)
    _mm_prefetch(reinterpret_cast<const char*>(block) + kPrefetchBytes + line, _MM_HINT_T0);
}

// A row's dot product before its last reduction: total(plus) - total(minus), where total(v) is
// (v0 + v2) + (v1 + v3), the order HorizontalSum and MinimumsTotal add in. Rows finished four at a
// time (Totals: one transpose) get the same floats as rows finished one at a time.
struct RowSums {
  __m128 plus, minus;
};
REFINERY_AVX2 inline RowSums Sums(__m256 acc, __m128 minus = _mm_setzero_ps()) {
  return {_mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1)), minus};
}
REFINERY_AVX2 inline float Finish(const RowSums& s) {
  return MinimumsTotal(s.plus) - MinimumsTotal(s.minus);
}
REFINERY_AVX2 inline __m128 Totals(__m128 a, __m128 b, __m128 c, __m128 d) {
  _MM_TRANSPOSE4_PS(a, b, c, d);  // a: lane 0 of each row, b: lane 1, ...
  return _mm_add_ps(_mm_add_ps(a, c), _mm_add_ps(b, d));
}

// A kernel's row sums, finished: out[r] for each of its kCount activation rows.
template <auto kSums, int kCount>
REFINERY_AVX2 void Finished(const uint8_t* row, const QuantizedRow* const* xs, float* out) {
  RowSums sums[kCount];
  kSums(row, xs, sums);
  for (int r = 0; r < kCount; ++r) out[r] = Finish(sums[r]);
}

// One weight row against one activation row.
template <auto kSums>
REFINERY_AVX2 float DotOne(const uint8_t* row, const QuantizedRow& x) {
  const QuantizedRow* xs[1] = {&x};
  float out;
  Finished<kSums, 1>(row, xs, &out);
  return out;
}

// `count` weight rows, `stride` bytes apart, against one activation row (batch-1 steps): the
// kernel runs once per row, with no call and dispatch per row, and every four rows finish
// together.
template <auto kSums>
REFINERY_AVX2 void DotRange(const uint8_t* rows, size_t stride, int count, const QuantizedRow& x,
                            float* y) {
  const QuantizedRow* xs[1] = {&x};
  int i = 0;
  for (; i + 4 <= count; i += 4) {
    RowSums s[4];
    for (int k = 0; k < 4; ++k) kSums(rows + size_t(i + k) * stride, xs, &s[k]);
    _mm_storeu_ps(y + i, _mm_sub_ps(Totals(s[0].plus, s[1].plus, s[2].plus, s[3].plus),
                                    Totals(s[0].minus, s[1].minus, s[2].minus, s[3].minus)));
  }
  for (; i < count; ++i) {
    RowSums s;
    kSums(rows + size_t(i) * stride, xs, &s);
    y[i] = Finish(s);
  }
}

// A legacy block's 32 codes as signed bytes (value = d * code, plus m for the _1 kinds).
REFINERY_AVX2 inline __m256i CodesQ8_0(const uint8_t* block) {
  return Load(reinterpret_cast<const BlockQ8_0*>(block)->qs);
}
REFINERY_AVX2 inline __m256i CodesQ4_0(const uint8_t* block) {
  return _mm256_sub_epi8(Nibbles(reinterpret_cast<const BlockQ4_0*>(block)->qs),
                         _mm256_set1_epi8(8));
}
// IQ4_NL: each nibble looked up in the 16 levels (one shuffle per 32 codes).
REFINERY_AVX2 inline __m256i CodesIQ4_NL(const uint8_t* block) {
  const __m256i levels =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4NlLevels)));
  return _mm256_shuffle_epi8(levels, Nibbles(reinterpret_cast<const BlockIQ4_NL*>(block)->qs));
}
REFINERY_AVX2 inline __m256i CodesQ5_0(const uint8_t* block) {
  const auto& b = *reinterpret_cast<const BlockQ5_0*>(block);
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  // value - 16 = nibble | 0xF0 (as int8) when the fifth bit is clear, the nibble when set.
  return _mm256_or_si256(Nibbles(b.qs),
                         _mm256_andnot_si256(BitsToBytes(qh), _mm256_set1_epi8(char(0xF0))));
}

// Q8_0, Q4_0, Q5_0, IQ4_NL (one f16 scale per 32 values, first in the block) against `count` rows:
// each block decoded once.
template <int kBlockBytes, __m256i (*kCodes)(const uint8_t*), int kCount>
REFINERY_AVX2 void DotLegacyN(const uint8_t* row, const QuantizedRow* const* xs, RowSums* out) {
  constexpr int count = kCount;
  __m256 acc[kMaxRows];
  for (int r = 0; r < count; ++r) acc[r] = _mm256_setzero_ps();
  for (int b = 0; b < xs[0]->n / kLegacyBlock; ++b) {
    const uint8_t* block = row + size_t(b) * kBlockBytes;
    PrefetchAhead<kBlockBytes>(block);
    uint16_t dh;
    std::memcpy(&dh, block, 2);
    const float d = Half(dh);
    const __m256i q = kCodes(block);
    for (int r = 0; r < count; ++r) {
      const QuantizedRow& x = *xs[r];
      const __m256i p = SignedDot(q, Load(&x.q[size_t(b) * kLegacyBlock]));
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * x.d[size_t(b)]), _mm256_cvtepi32_ps(p), acc[r]);
    }
  }
  for (int r = 0; r < count; ++r) out[r] = Sums(acc[r]);
}

// A _1 block's 32 codes, unsigned (value = d * code + m, d and m the block's first two f16s).
REFINERY_AVX2 inline __m256i CodesQ4_1(const uint8_t* block) {
  return Nibbles(reinterpret_cast<const BlockQ4_1*>(block)->qs);
}
REFINERY_AVX2 inline __m256i CodesQ5_1(const uint8_t* block) {
  const auto& b = *reinterpret_cast<const BlockQ5_1*>(block);
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  return _mm256_or_si256(Nibbles(b.qs), _mm256_and_si256(BitsToBytes(qh), _mm256_set1_epi8(0x10)));
}

// Q4_1 and Q5_1 against `count` rows: d * Σ code * a plus m * Σ a per block, both sums from the
// same activation load (codes are unsigned, so maddubs takes them as they are).
template <int kBlockBytes, __m256i (*kCodes)(const uint8_t*), int kCount>
REFINERY_AVX2 void DotLegacyMinN(const uint8_t* row, const QuantizedRow* const* xs, RowSums* out) {
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  __m256 acc[kMaxRows];
  for (int r = 0; r < kCount; ++r) acc[r] = _mm256_setzero_ps();
  for (int b = 0; b < xs[0]->n / kLegacyBlock; ++b) {
    const uint8_t* block = row + size_t(b) * kBlockBytes;
    PrefetchAhead<kBlockBytes>(block);
    uint16_t dh, mh;
    std::memcpy(&dh, block, 2);
    std::memcpy(&mh, block + 2, 2);
    const float d = Half(dh), m = Half(mh);
    const __m256i q = kCodes(block);
    for (int r = 0; r < kCount; ++r) {
      const QuantizedRow& x = *xs[r];
      const __m256i a = Load(&x.q[size_t(b) * kLegacyBlock]);
      const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(q, a), ones16);
      const __m256i sum = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, a), ones16);
      const float da = x.d[size_t(b)];
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * da), _mm256_cvtepi32_ps(dot), acc[r]);
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(m * da), _mm256_cvtepi32_ps(sum), acc[r]);
    }
  }
  for (int r = 0; r < kCount; ++r) out[r] = Sums(acc[r]);
}

// A shuffle control that fills the low half of a register with 16-bit value g_low of its low
// 128-bit lane and the high half with value g_high of its high lane (PickScale: g in both): one
// instruction instead of taking values out to a general register and broadcasting them back.
REFINERY_AVX2 inline __m256i PickScales(int g_low, int g_high) {
  return _mm256_set_m128i(_mm_set1_epi16(short((2 * g_high + 1) << 8 | 2 * g_high)),
                          _mm_set1_epi16(short((2 * g_low + 1) << 8 | 2 * g_low)));
}
REFINERY_AVX2 inline __m256i PickScale(int g) { return PickScales(g, g); }

// Q4_K and Q5_K (8 sub-blocks of 32, 6-bit scales and minimums) against `count` activation
// rows: each weight block is decoded once into eight 32-value vectors and eight scale vectors.
// kCount is a template argument so the accumulators stay in registers and the loops unroll.
template <bool kFive, int kCount>
REFINERY_AVX2 void DotK45N(const uint8_t* row, const QuantizedRow* const* xs, RowSums* out) {
  constexpr int count = kCount;
  constexpr size_t kBytes = kFive ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  const __m256i low4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
  __m256 acc[kMaxRows];
  __m128 minimums[kMaxRows];  // in a register, summed once at the end: no per-block reduction
  for (int r = 0; r < count; ++r) acc[r] = _mm256_setzero_ps(), minimums[r] = _mm_setzero_ps();
  for (int b = 0; b < xs[0]->n / kSuperBlock; ++b) {
    const uint8_t* block = row + size_t(b) * kBytes;
    PrefetchAhead<kBytes>(block);
    uint16_t dh, mh;
    std::memcpy(&dh, block, 2);
    std::memcpy(&mh, block + 2, 2);
    const ScalesK4 k4 = UnpackScalesK4(block + 4);
    const __m128i mins16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(int64_t(k4.minimums)));
    const __m256i scales16 =
        _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(int64_t(k4.scales))));
    const uint8_t* qs = block + (kFive ? 48 : 16);
    __m256i w[8], s[8];
    const __m256i hbits = kFive ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 16))
                                : _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
      w[2 * c] = _mm256_and_si256(q, low4);
      w[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
      if (kFive) {
        const __m256i bl = _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c), one);
        const __m256i bh = _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c + 1), one);
        w[2 * c] = _mm256_or_si256(w[2 * c], _mm256_slli_epi16(bl, 4));
        w[2 * c + 1] = _mm256_or_si256(w[2 * c + 1], _mm256_slli_epi16(bh, 4));
      }
    }
    for (int g = 0; g < 8; ++g) s[g] = _mm256_shuffle_epi8(scales16, PickScale(g));
    const float d = Half(dh), dmin = Half(mh);
    for (int r = 0; r < count; ++r) {
      const QuantizedRow& x = *xs[r];
      const int8_t* a = &x.q[size_t(b) * kSuperBlock];
      __m256i sumi = _mm256_setzero_si256();
      for (int g = 0; g < 8; ++g)
        sumi = _mm256_add_epi32(
            sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(w[g], Load(a + 32 * g)), s[g]));
      const float da = x.d[size_t(b)];
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * da), _mm256_cvtepi32_ps(sumi), acc[r]);
      minimums[r] = AddMinimums(minimums[r], mins16, &x.sum32[size_t(b) * 8], dmin * da);
    }
  }
  for (int r = 0; r < count; ++r) {
    out[r] = Sums(acc[r], minimums[r]);
  }
}

// Q6_K's two high bits at `kShift` of each byte, moved to bits 4-5.
template <int kShift>
REFINERY_AVX2 inline __m256i HighPair(__m256i h, __m256i three) {
  return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, kShift), three), 4);
}

// Q6_K (sixteen 16-value groups, int8 scales, codes stored +32) against `count` rows.
template <int kCount>
REFINERY_AVX2 void DotQ6_KN(const uint8_t* row, const QuantizedRow* const* xs, RowSums* out) {
  constexpr int count = kCount;
  const auto* w = reinterpret_cast<const BlockQ6_K*>(row);
  const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3);  // two bits
  __m256 acc[kMaxRows];
  for (int r = 0; r < count; ++r) acc[r] = _mm256_setzero_ps();
  for (int b = 0; b < xs[0]->n / kSuperBlock; ++b) {
    const BlockQ6_K& B = w[b];
    PrefetchAhead<sizeof(BlockQ6_K)>(reinterpret_cast<const uint8_t*>(&B));
    const float d = Half(B.d);
    const __m256i scales16 =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(B.scales)));
    __m256i v[8], s[8];
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = B.ql + 64 * half;
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(B.qh + 32 * half));
      const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      v[4 * half + 0] = _mm256_or_si256(_mm256_and_si256(l0, low4), HighPair<0>(h, two));
      v[4 * half + 1] = _mm256_or_si256(_mm256_and_si256(l1, low4), HighPair<2>(h, two));
      v[4 * half + 2] =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), HighPair<4>(h, two));
      v[4 * half + 3] =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4), HighPair<6>(h, two));
      // Register k of this half: group 8 half + 2k's scale in the low lane, the next group's in
      // the high lane. Both lanes get this half's eight scales, then an in-lane shuffle picks.
      const __m256i lanes = half == 0 ? _mm256_permute4x64_epi64(scales16, 0x44)
                                      : _mm256_permute4x64_epi64(scales16, 0xEE);
      for (int k = 0; k < 4; ++k)
        s[4 * half + k] = _mm256_shuffle_epi8(
            lanes, _mm256_set_m128i(_mm_set1_epi16(short((4 * k + 3) << 8 | (4 * k + 2))),
                                    _mm_set1_epi16(short((4 * k + 1) << 8 | 4 * k))));
    }
    for (int r = 0; r < count; ++r) {
      const QuantizedRow& x = *xs[r];
      const int8_t* a = &x.q[size_t(b) * kSuperBlock];
      __m256i sumi = _mm256_setzero_si256();
      for (int j = 0; j < 8; ++j)
        sumi = _mm256_add_epi32(
            sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(v[j], Load(a + 32 * j)), s[j]));
      // The +32 of every code: 32 * Σ scale * Σ activations per 16 values, taken off the
      // integer sums lane by lane (all lanes are summed in the end; no per-block reduction).
      const __m256i sums =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&x.sum16[size_t(b) * 16]));
      sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(_mm256_madd_epi16(scales16, sums), 5));
      const float da = d * x.d[size_t(b)];
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(da), _mm256_cvtepi32_ps(sumi), acc[r]);
    }
  }
  for (int r = 0; r < count; ++r) out[r] = Sums(acc[r]);
}

// Q2_K and Q3_K: sixteen 16-value groups. Each 128-value half of a block keeps its low two bits
// in 32 bytes, value 32s + l of the half in bits 2s of byte l; Q3_K's third bit of that value is
// bit 4 half + s of hmask[l] (clear: the value is 4 lower). Codes go into maddubs unsigned (Q2_K
// 0-3, Q3_K 0-7); what that leaves out comes off afterwards from the activations' 16-value sums:
// Q2_K's minimums (dmin * min * sum), Q3_K's -4 (4 * scale * sum).
template <bool kThree, int kCount>
REFINERY_AVX2 void DotK23N(const uint8_t* row, const QuantizedRow* const* xs, RowSums* out) {
  constexpr size_t kBytes = kThree ? sizeof(BlockQ3_K) : sizeof(BlockQ2_K);
  const __m256i two = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
  __m256 acc[kMaxRows], low[kMaxRows];  // the scaled dot; what comes off it (Q2_K's minimums)
  for (int r = 0; r < kCount; ++r) acc[r] = _mm256_setzero_ps(), low[r] = _mm256_setzero_ps();
  for (int b = 0; b < xs[0]->n / kSuperBlock; ++b) {
    const uint8_t* block = row + size_t(b) * kBytes;
    PrefetchAhead<kBytes>(block);
    // The sixteen scales (and Q2_K's minimums) as bytes in one register.
    __m128i sc8, mins8 = _mm_setzero_si128();
    float d, dmin = 0;
    const uint8_t* qs;
    __m256i hmask = _mm256_setzero_si256();
    if constexpr (kThree) {
      const auto& B = *reinterpret_cast<const BlockQ3_K*>(block);
      alignas(16) int8_t sc[16];
      UnpackQ3Scales(B.scales, sc);
      sc8 = _mm_load_si128(reinterpret_cast<const __m128i*>(sc));
      d = Half(B.d);
      qs = B.qs;
      hmask = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(B.hmask));
    } else {
      const auto& B = *reinterpret_cast<const BlockQ2_K*>(block);
      const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(B.scales));
      const __m128i low4 = _mm_set1_epi8(0x0F);
      sc8 = _mm_and_si128(packed, low4);
      mins8 = _mm_and_si128(_mm_srli_epi16(packed, 4), low4);
      d = Half(B.d);
      dmin = Half(B.dmin);
      qs = B.qs;
    }
    const __m256i scales16 = _mm256_cvtepi8_epi16(sc8);
    const __m256i mins16 = _mm256_cvtepu8_epi16(mins8);
    // Scales 0-7 and 8-15 each in both 128-bit halves, for the in-lane shuffles below.
    const __m256i first8 = _mm256_permute2x128_si256(scales16, scales16, 0x00);
    const __m256i last8 = _mm256_permute2x128_si256(scales16, scales16, 0x11);
    __m256i w[8], s[8];
    for (int half = 0; half < 2; ++half) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * half));
      for (int k = 0; k < 4; ++k) {
        const int j = 4 * half + k;
        w[j] = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), two);
        if constexpr (kThree) {
          const __m256i third = _mm256_and_si256(_mm256_srli_epi16(hmask, j), one);
          w[j] = _mm256_or_si256(w[j], _mm256_slli_epi16(third, 2));
        }
        // Values 0-15 of w[j] take scale 2j, values 16-31 scale 2j + 1.
        s[j] =
            _mm256_shuffle_epi8(j < 4 ? first8 : last8, PickScales((2 * j) % 8, (2 * j + 1) % 8));
      }
    }
    for (int r = 0; r < kCount; ++r) {
      const QuantizedRow& x = *xs[r];
      const int8_t* a = &x.q[size_t(b) * kSuperBlock];
      __m256i sumi = _mm256_setzero_si256();
      for (int j = 0; j < 8; ++j)
        sumi = _mm256_add_epi32(
            sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(w[j], Load(a + 32 * j)), s[j]));
      const __m256i sums =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&x.sum16[size_t(b) * 16]));
      const float da = x.d[size_t(b)];
      if constexpr (kThree) {
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(_mm256_madd_epi16(scales16, sums), 2));
      } else {
        low[r] = _mm256_fmadd_ps(_mm256_set1_ps(dmin * da),
                                 _mm256_cvtepi32_ps(_mm256_madd_epi16(mins16, sums)), low[r]);
      }
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * da), _mm256_cvtepi32_ps(sumi), acc[r]);
    }
  }
  for (int r = 0; r < kCount; ++r) out[r] = Sums(_mm256_sub_ps(acc[r], low[r]));
}

// Runtime row counts (1..kMaxRows) to the unrolled kernels.
template <template <int> class K>
REFINERY_AVX2 void ByCount(const uint8_t* row, const QuantizedRow* const* xs, int count,
                           float* out) {
  switch (count) {
    case 1:
      return K<1>::Run(row, xs, out);
    case 2:
      return K<2>::Run(row, xs, out);
    case 3:
      return K<3>::Run(row, xs, out);
    default:
      return K<4>::Run(row, xs, out);
  }
}
template <bool kFive>
struct K45 {
  template <int N>
  struct Of {
    static void Run(const uint8_t* r, const QuantizedRow* const* x, float* o) {
      Finished<&DotK45N<kFive, N>, N>(r, x, o);
    }
  };
};
template <int N>
struct Q6K {
  static void Run(const uint8_t* r, const QuantizedRow* const* x, float* o) {
    Finished<&DotQ6_KN<N>, N>(r, x, o);
  }
};
template <int kBlockBytes, __m256i (*kCodes)(const uint8_t*)>
struct Legacy {
  template <int N>
  struct Of {
    static void Run(const uint8_t* r, const QuantizedRow* const* x, float* o) {
      Finished<&DotLegacyN<kBlockBytes, kCodes, N>, N>(r, x, o);
    }
  };
};

template <int kBlockBytes, __m256i (*kCodes)(const uint8_t*)>
struct LegacyMin {
  template <int N>
  struct Of {
    static void Run(const uint8_t* r, const QuantizedRow* const* x, float* o) {
      Finished<&DotLegacyMinN<kBlockBytes, kCodes, N>, N>(r, x, o);
    }
  };
};

template <bool kThree>
struct K23 {
  template <int N>
  struct Of {
    static void Run(const uint8_t* r, const QuantizedRow* const* x, float* o) {
      Finished<&DotK23N<kThree, N>, N>(r, x, o);
    }
  };
};
template <bool kThree>
REFINERY_AVX2 void DotK23Rows(const uint8_t* row, const QuantizedRow* const* xs, int count,
                              float* out) {
  ByCount<K23<kThree>::template Of>(row, xs, count, out);
}

template <bool kFive>
REFINERY_AVX2 void DotK45Rows(const uint8_t* row, const QuantizedRow* const* xs, int count,
                              float* out) {
  ByCount<K45<kFive>::template Of>(row, xs, count, out);
}
REFINERY_AVX2 void DotQ6_KRows(const uint8_t* row, const QuantizedRow* const* xs, int count,
                               float* out) {
  ByCount<Q6K>(row, xs, count, out);
}
template <int kBlockBytes, __m256i (*kCodes)(const uint8_t*)>
REFINERY_AVX2 void DotLegacyRows(const uint8_t* row, const QuantizedRow* const* xs, int count,
                                 float* out) {
  ByCount<Legacy<kBlockBytes, kCodes>::template Of>(row, xs, count, out);
}

template <int kBlockBytes, __m256i (*kCodes)(const uint8_t*)>
REFINERY_AVX2 void DotLegacyMinRows(const uint8_t* row, const QuantizedRow* const* xs, int count,
                                    float* out) {
  ByCount<LegacyMin<kBlockBytes, kCodes>::template Of>(row, xs, count, out);
}

}  // namespace

bool Available() {
  __builtin_cpu_init();
  // F16C by CPUID (leaf 1, ECX bit 29): clang 14's __builtin_cpu_supports does not know it.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
}

namespace {

// A type's three entry points, all built on its one kernel: `kSums` (one or more activation rows'
// sums for one weight row), wrapped for one row and for a range of rows, and its multi-row form.
struct KernelSet {
  DotFn one = nullptr;
  DotRowsFn rows = nullptr;
  DotRangeFn range = nullptr;
};
template <auto kSums, DotRowsFn kRows>
KernelSet Set() {
  return {DotOne<kSums>, kRows, DotRange<kSums>};
}

KernelSet Kernels(Type type) {
  switch (type) {
    case Type::kQ8_0:
      return Set<&DotLegacyN<sizeof(BlockQ8_0), CodesQ8_0, 1>,
                 DotLegacyRows<sizeof(BlockQ8_0), CodesQ8_0>>();
    case Type::kQ4_0:
      return Set<&DotLegacyN<sizeof(BlockQ4_0), CodesQ4_0, 1>,
                 DotLegacyRows<sizeof(BlockQ4_0), CodesQ4_0>>();
    case Type::kQ5_0:
      return Set<&DotLegacyN<sizeof(BlockQ5_0), CodesQ5_0, 1>,
                 DotLegacyRows<sizeof(BlockQ5_0), CodesQ5_0>>();
    case Type::kIQ4_NL:
      return Set<&DotLegacyN<sizeof(BlockIQ4_NL), CodesIQ4_NL, 1>,
                 DotLegacyRows<sizeof(BlockIQ4_NL), CodesIQ4_NL>>();
    case Type::kQ4_1:
      return Set<&DotLegacyMinN<sizeof(BlockQ4_1), CodesQ4_1, 1>,
                 DotLegacyMinRows<sizeof(BlockQ4_1), CodesQ4_1>>();
    case Type::kQ5_1:
      return Set<&DotLegacyMinN<sizeof(BlockQ5_1), CodesQ5_1, 1>,
                 DotLegacyMinRows<sizeof(BlockQ5_1), CodesQ5_1>>();
    case Type::kQ2_K:
      return Set<&DotK23N<false, 1>, DotK23Rows<false>>();
    case Type::kQ3_K:
      return Set<&DotK23N<true, 1>, DotK23Rows<true>>();
    case Type::kQ4_K:
      return Set<&DotK45N<false, 1>, DotK45Rows<false>>();
    case Type::kQ5_K:
      return Set<&DotK45N<true, 1>, DotK45Rows<true>>();
    case Type::kQ6_K:
      return Set<&DotQ6_KN<1>, DotQ6_KRows>();
    default:
      return {};
  }
}

}  // namespace

DotFn Kernel(Type type) { return Kernels(type).one; }
DotRowsFn RowsKernel(Type type) { return Kernels(type).rows; }
DotRangeFn RangeKernel(Type type) { return Kernels(type).range; }

}  // namespace refinery::llm::quant::avx2
