// AVX-512 (F, BW, VL, VNNI) kernels for Q4_K and Q5_K, the formats that make up most of a
// Q4_K_M or Q5_K_M file. Against the AVX2 kernels (dot_avx2.cc), each instruction covers two
// 32-value sub-blocks instead of one, and VNNI's dpwssd applies the sub-block scales and
// accumulates in one instruction (AVX2: madd then add). Batch-1 decoding of Q4_K is bound by
// this kernel, not by memory (docs/benchmarks.md), so fewer instructions per block is speed.
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
    default:
      return nullptr;
  }
}

}  // namespace refinery::llm::quant::avx512
