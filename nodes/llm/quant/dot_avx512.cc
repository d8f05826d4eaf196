// AVX-512 (F, BW, VL, VNNI) kernels for Q4_K, Q5_K and Q6_K, the formats that make up a Q4_K_M,
// Q5_K_M or Q6_K file. Against the AVX2 kernels (dot_avx2.cc), each instruction covers two
// 32-value sub-blocks instead of one, and VNNI's dpwssd applies the sub-block scales and
// accumulates in one instruction (AVX2: madd then add). Batch-1 decoding of Q4_K_M is bound by
// these kernels, not by memory (docs/benchmarks.md), so fewer instructions per block is speed.
// Other formats stay on the AVX2 kernels. Target attributes, as in dot_avx2.cc, keep every
// instruction wider than the baseline inside these functions.
// GCC 12's AVX-512 headers initialise a dummy register from itself (_mm512_undefined_*), which
// its own -Wuninitialized then reports at every intrinsic that uses one (a GCC 12 bug, gone in
// GCC 13); the code here never reads an undefined lane.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <array>
#include <cstring>

#include "nodes/llm/quant/dot.h"
#include "nodes/llm/quant/k_scales.h"

#define REFINERY_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

namespace refinery::llm::quant::avx512 {
namespace {

// vpshufb controls that pick, from the eight 16-bit sub-block scales repeated in each 128-bit
// lane, scale 2c for the lower 256 bits and scale 2c+1 for the upper 256 bits (the two
// sub-blocks one register holds for chunk c).
constexpr std::array<std::array<int8_t, 64>, 4> kScalePick = [] {
  std::array<std::array<int8_t, 64>, 4> t{};
  for (int c = 0; c < 4; ++c)
    for (int j = 0; j < 64; ++j) t[size_t(c)][size_t(j)] = int8_t(2 * (2 * c + j / 32) + (j & 1));
  return t;
}();

// A Q4_K/Q5_K block stores its 256 codes as four chunks of 32 bytes: the low nibbles of chunk c
// are sub-block 2c, the high nibbles sub-block 2c+1. The chunk is broadcast to both halves of a
// register and each half shifted by its own amount (0 or 4), so one register holds the two
// sub-blocks in the order of the activations (values 64c..64c+63), with no cross-lane shuffle.
//
// Q5_K's fifth bits: bit 2c of each of the 32 qh bytes for sub-block 2c, bit 2c+1 for 2c+1,
// shifted the same way into bit 4.
template <bool kFive, int kCount>
REFINERY_AVX512 void DotK45N(const uint8_t* row, const QuantizedRow* const* xs, float* out) {
  constexpr size_t kBytes = kFive ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  const __m512i low4 = _mm512_set1_epi8(0x0F), bit4 = _mm512_set1_epi8(0x10);
  const __m512i nibble_shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
  __m512i pick[4], high_shift[4];
  for (int c = 0; c < 4; ++c) {
    pick[c] = _mm512_loadu_si512(kScalePick[size_t(c)].data());
    high_shift[c] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(short(2 * c))),
                                       _mm256_set1_epi16(short(2 * c + 1)), 1);
  }
  __m512 acc[kMaxRows];
  __m128 minimums[kMaxRows];  // summed once at the end, as in the AVX2 kernel
  for (int r = 0; r < kCount; ++r) acc[r] = _mm512_setzero_ps(), minimums[r] = _mm_setzero_ps();
  for (int b = 0; b < xs[0]->n / kSuperBlock; ++b) {
    const uint8_t* block = row + size_t(b) * kBytes;
    uint16_t dh, mh;
    std::memcpy(&dh, block, 2);
    std::memcpy(&mh, block + 2, 2);
    alignas(16) uint8_t sc[16], mn[16];
    UnpackScalesK4(block + 4, sc, mn);
    const __m128i mins16 = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(mn)));
    const __m512i scales16 = _mm512_broadcast_i32x4(
        _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc))));
    const uint8_t* qs = block + (kFive ? 48 : 16);
    __m512i hbits = _mm512_setzero_si512();
    if constexpr (kFive)
      hbits =
          _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 16)));
    __m512i w[4], s[4];
    for (int c = 0; c < 4; ++c) {
      const __m512i q =
          _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c)));
      w[c] = _mm512_and_si512(_mm512_srlv_epi16(q, nibble_shift), low4);
      if constexpr (kFive) {
        const __m512i fifth = _mm512_slli_epi16(_mm512_srlv_epi16(hbits, high_shift[c]), 4);
        w[c] = _mm512_or_si512(w[c], _mm512_and_si512(fifth, bit4));
      }
      s[c] = _mm512_shuffle_epi8(scales16, pick[c]);
    }
    const float d = _cvtsh_ss(dh), dmin = _cvtsh_ss(mh);
    for (int r = 0; r < kCount; ++r) {
      const QuantizedRow& x = *xs[r];
      const int8_t* a = &x.q[size_t(b) * kSuperBlock];
      __m512i sumi = _mm512_setzero_si512();
      for (int c = 0; c < 4; ++c)
        sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(w[c], _mm512_loadu_si512(a + 64 * c)),
                                   s[c]);
      const float da = x.d[size_t(b)];
      acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(d * da), _mm512_cvtepi32_ps(sumi), acc[r]);
      minimums[r] = AddMinimums(minimums[r], mins16, &x.sum32[size_t(b) * 8], dmin * da);
    }
  }
  for (int r = 0; r < kCount; ++r) {
    out[r] = _mm512_reduce_add_ps(acc[r]) - MinimumsTotal(minimums[r]);
  }
}

// vpermw indices for Q6_K: register k of a block (two 32-value sub-blocks, four 16-value
// groups) gets, in 128-bit lane q, the 16-bit scale of group 4k + q.
constexpr std::array<std::array<int16_t, 32>, 4> kQ6ScalePick = [] {
  std::array<std::array<int16_t, 32>, 4> t{};
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 32; ++j) t[size_t(k)][size_t(j)] = int16_t(4 * k + j / 8);
  return t;
}();

// Q6_K (sixteen 16-value groups, int8 scales, codes stored +32) against `kCount` rows. Each half
// of the block keeps 128 values as 64 bytes of low nibbles (ql) and 32 bytes of two-bit highs
// (qh): values 0-63 are the low nibbles of ql with qh's bits 0-1 and 2-3, values 64-127 the high
// nibbles with bits 4-5 and 6-7; so one 64-byte load of ql gives two registers in activation
// order, and qh, broadcast to both halves, is shifted per half.
template <int kCount>
REFINERY_AVX512 void DotQ6_KN(const uint8_t* row, const QuantizedRow* const* xs, float* out) {
  const auto* blocks = reinterpret_cast<const BlockQ6_K*>(row);
  const __m512i low4 = _mm512_set1_epi8(0x0F), two = _mm512_set1_epi8(3);
  __m512i pick[4];
  for (int k = 0; k < 4; ++k) pick[k] = _mm512_loadu_si512(kQ6ScalePick[size_t(k)].data());
  // qh shifts: bits 0-1 | 2-3 for the first register of a half, 4-5 | 6-7 for the second.
  const __m512i shift_lo = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
  const __m512i shift_hi = _mm512_add_epi16(shift_lo, _mm512_set1_epi16(4));
  __m512 acc[kMaxRows];
  for (int r = 0; r < kCount; ++r) acc[r] = _mm512_setzero_ps();
  for (int b = 0; b < xs[0]->n / kSuperBlock; ++b) {
    const BlockQ6_K& B = blocks[b];
    const __m256i scales16 =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(B.scales)));
    const __m512i scales512 = _mm512_castsi256_si512(scales16);
    __m512i w[4], s[4];
    for (int half = 0; half < 2; ++half) {
      const __m512i ql = _mm512_loadu_si512(B.ql + 64 * half);
      const __m512i h = _mm512_broadcast_i64x4(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(B.qh + 32 * half)));
      const __m512i h_lo =
          _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(h, shift_lo), two), 4);
      const __m512i h_hi =
          _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(h, shift_hi), two), 4);
      w[2 * half] = _mm512_or_si512(_mm512_and_si512(ql, low4), h_lo);
      w[2 * half + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4), h_hi);
    }
    for (int k = 0; k < 4; ++k) s[k] = _mm512_permutexvar_epi16(pick[k], scales512);
    const float d = _cvtsh_ss(B.d);
    for (int r = 0; r < kCount; ++r) {
      const QuantizedRow& x = *xs[r];
      const int8_t* a = &x.q[size_t(b) * kSuperBlock];
      __m512i sumi = _mm512_setzero_si512();
      for (int k = 0; k < 4; ++k)
        sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(w[k], _mm512_loadu_si512(a + 64 * k)),
                                   s[k]);
      // The +32 of every code: 32 * Σ scale * Σ activations per 16 values, off the lower lanes
      // (all lanes are summed in the end).
      const __m256i sums =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&x.sum16[size_t(b) * 16]));
      sumi = _mm512_sub_epi32(
          sumi, _mm512_zextsi256_si512(_mm256_slli_epi32(_mm256_madd_epi16(scales16, sums), 5)));
      acc[r] =
          _mm512_fmadd_ps(_mm512_set1_ps(d * x.d[size_t(b)]), _mm512_cvtepi32_ps(sumi), acc[r]);
    }
  }
  for (int r = 0; r < kCount; ++r) out[r] = _mm512_reduce_add_ps(acc[r]);
}

REFINERY_AVX512 float DotQ6_K(const uint8_t* row, const QuantizedRow& x) {
  const QuantizedRow* xs[1] = {&x};
  float out;
  DotQ6_KN<1>(row, xs, &out);
  return out;
}

REFINERY_AVX512 void DotQ6_KRows(const uint8_t* row, const QuantizedRow* const* xs, int count,
                                 float* out) {
  switch (count) {
    case 1:
      return DotQ6_KN<1>(row, xs, out);
    case 2:
      return DotQ6_KN<2>(row, xs, out);
    case 3:
      return DotQ6_KN<3>(row, xs, out);
    default:
      return DotQ6_KN<4>(row, xs, out);
  }
}

template <bool kFive>
REFINERY_AVX512 float DotK45(const uint8_t* row, const QuantizedRow& x) {
  const QuantizedRow* xs[1] = {&x};
  float out;
  DotK45N<kFive, 1>(row, xs, &out);
  return out;
}

template <bool kFive>
REFINERY_AVX512 void DotK45Rows(const uint8_t* row, const QuantizedRow* const* xs, int count,
                                float* out) {
  switch (count) {
    case 1:
      return DotK45N<kFive, 1>(row, xs, out);
    case 2:
      return DotK45N<kFive, 2>(row, xs, out);
    case 3:
      return DotK45N<kFive, 3>(row, xs, out);
    default:
      return DotK45N<kFive, 4>(row, xs, out);
  }
}

}  // namespace

bool Available() {
  __builtin_cpu_init();
  return avx2::Available() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vnni");
}

DotFn Kernel(Type type) {
  switch (type) {
    case Type::kQ4_K:
      return DotK45<false>;
    case Type::kQ5_K:
      return DotK45<true>;
    case Type::kQ6_K:
      return DotQ6_K;
    default:
      return nullptr;
  }
}

DotRowsFn RowsKernel(Type type) {
  switch (type) {
    case Type::kQ4_K:
      return DotK45Rows<false>;
    case Type::kQ5_K:
      return DotK45Rows<true>;
    case Type::kQ6_K:
      return DotQ6_KRows;
    default:
      return nullptr;
  }
}

}  // namespace refinery::llm::quant::avx512
