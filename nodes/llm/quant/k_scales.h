// Pieces of the Q4_K/Q5_K kernels shared by the AVX2 and AVX-512 ones (dot_avx2.cc,
// dot_avx512.cc): the scale unpacking (plain C++) and the minimums term (SSE with FMA, carrying
// its own target attribute, so neither is ever emitted with wider instructions than a caller's).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace refinery::llm::quant {

// Scales and minimums: eight 6-bit values each, packed in 12 bytes (the first four of each in the
// low six bits of bytes 0-7, the last four split over bytes 8-11 and the top two bits of bytes
// 0-7). Unpacked four at a time from 32-bit words, each set of eight returned as the bytes of one
// 64-bit word (value g in byte g), so a kernel moves it into a vector register without a trip
// through memory (two 4-byte stores read back as one 8-byte load defeat store forwarding).
struct ScalesK4 {
  uint64_t scales, minimums;
};
inline ScalesK4 UnpackScalesK4(const uint8_t* packed) {
  uint32_t a, b, c;
  std::memcpy(&a, packed, 4);
  std::memcpy(&b, packed + 4, 4);
  std::memcpy(&c, packed + 8, 4);
  const uint32_t sc_lo = a & 0x3F3F3F3F, mn_lo = b & 0x3F3F3F3F;
  const uint32_t sc_hi = (c & 0x0F0F0F0F) | ((a >> 2) & 0x30303030);
  const uint32_t mn_hi = ((c >> 4) & 0x0F0F0F0F) | ((b >> 2) & 0x30303030);
  return {sc_lo | uint64_t(sc_hi) << 32, mn_lo | uint64_t(mn_hi) << 32};
}
inline void UnpackScalesK4(const uint8_t* packed, uint8_t sc[8], uint8_t mn[8]) {
  const ScalesK4 k = UnpackScalesK4(packed);
  std::memcpy(sc, &k.scales, 8);  // little-endian: byte g is value g
  std::memcpy(mn, &k.minimums, 8);
}

// Adds one block's minimums term for one activation row, dmin * d_x * Σ_g min[g] * Σ x (group g),
// to four float lanes: `mins16` holds the eight minimums as int16, `sum32` the row's eight
// 32-value sums for this block. The lanes are summed once per row, at the end (MinimumsTotal).
__attribute__((target("avx2,fma"))) inline __m128 AddMinimums(__m128 lanes, __m128i mins16,
                                                              const int16_t* sum32, float scale) {
  const __m128i sums = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sum32));
  return _mm_fmadd_ps(_mm_set1_ps(scale), _mm_cvtepi32_ps(_mm_madd_epi16(mins16, sums)), lanes);
}
__attribute__((target("avx2,fma"))) inline float MinimumsTotal(__m128 lanes) {
  __m128 m = _mm_add_ps(lanes, _mm_movehl_ps(lanes, lanes));
  m = _mm_add_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

}  // namespace refinery::llm::quant
