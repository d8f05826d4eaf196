// AVX2+FMA kernels for the formats most files use (Q4_0, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K): the
// weight block's integer codes times the activation block's int8 values with maddubs/madd, one
// float multiply per (sub)block. Functions carry target attributes instead of the file being
// compiled with -mavx2, so no inline function from a shared header is ever emitted with AVX2
// instructions for the linker to pick for the plain path.
#include <cpuid.h>
#include <immintrin.h>

#include <cstring>

#include "nodes/llm/quant/dot.h"

#define REFINERY_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace refinery::llm::quant::avx2 {
namespace {

REFINERY_AVX2 inline float Half(uint16_t h) { return _cvtsh_ss(h); }

REFINERY_AVX2 inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

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

REFINERY_AVX2 float DotQ8_0(const uint8_t* row, const QuantizedRow& x) {
  const auto* w = reinterpret_cast<const BlockQ8_0*>(row);
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < x.n / kLegacyBlock; ++b) {
    const __m256i p = SignedDot(Load(w[b].qs), Load(&x.q[size_t(b) * kLegacyBlock]));
    acc =
        _mm256_fmadd_ps(_mm256_set1_ps(Half(w[b].d) * x.d[size_t(b)]), _mm256_cvtepi32_ps(p), acc);
  }
  return HorizontalSum(acc);
}

REFINERY_AVX2 float DotQ4_0(const uint8_t* row, const QuantizedRow& x) {
  const auto* w = reinterpret_cast<const BlockQ4_0*>(row);
  __m256 acc = _mm256_setzero_ps();
  const __m256i eight = _mm256_set1_epi8(8);
  for (int b = 0; b < x.n / kLegacyBlock; ++b) {
    const __m256i q = _mm256_sub_epi8(Nibbles(w[b].qs), eight);
    const __m256i p = SignedDot(q, Load(&x.q[size_t(b) * kLegacyBlock]));
    acc =
        _mm256_fmadd_ps(_mm256_set1_ps(Half(w[b].d) * x.d[size_t(b)]), _mm256_cvtepi32_ps(p), acc);
  }
  return HorizontalSum(acc);
}

REFINERY_AVX2 float DotQ5_0(const uint8_t* row, const QuantizedRow& x) {
  const auto* w = reinterpret_cast<const BlockQ5_0*>(row);
  __m256 acc = _mm256_setzero_ps();
  const __m256i high = _mm256_set1_epi8(char(0xF0));
  for (int b = 0; b < x.n / kLegacyBlock; ++b) {
    uint32_t qh;
    std::memcpy(&qh, w[b].qh, 4);
    // value - 16 = nibble | 0xF0 (as int8) when the fifth bit is clear, the nibble when set.
    const __m256i q = _mm256_or_si256(Nibbles(w[b].qs), _mm256_andnot_si256(BitsToBytes(qh), high));
    const __m256i p = SignedDot(q, Load(&x.q[size_t(b) * kLegacyBlock]));
    acc =
        _mm256_fmadd_ps(_mm256_set1_ps(Half(w[b].d) * x.d[size_t(b)]), _mm256_cvtepi32_ps(p), acc);
  }
  return HorizontalSum(acc);
}

// Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scales and minimums.
template <bool kFive>
REFINERY_AVX2 float DotK45(const uint8_t* row, const QuantizedRow& x) {
  constexpr size_t kBytes = kFive ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  const __m256i low4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps();
  float minimums = 0;
  for (int b = 0; b < x.n / kSuperBlock; ++b) {
    const uint8_t* block = row + size_t(b) * kBytes;
    uint16_t dh, mh;
    std::memcpy(&dh, block, 2);
    std::memcpy(&mh, block + 2, 2);
    const uint8_t* scales = block + 4;
    const uint8_t* qh = block + 16;
    const uint8_t* qs = block + (kFive ? 48 : 16);
    uint8_t sc[8], mn[8];
    for (int g = 0; g < 8; ++g) ScaleMinK4(g, scales, &sc[g], &mn[g]);
    const float d = Half(dh) * x.d[size_t(b)];
    const int32_t* bsums = &x.sum16[size_t(b) * 16];
    int32_t min_sum = 0;
    for (int g = 0; g < 8; ++g) min_sum += int32_t(mn[g]) * (bsums[2 * g] + bsums[2 * g + 1]);
    minimums += Half(mh) * x.d[size_t(b)] * float(min_sum);
    const int8_t* a = &x.q[size_t(b) * kSuperBlock];
    const __m256i hbits =
        kFive ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh)) : _mm256_setzero_si256();
    __m256i sumi = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
      __m256i lo = _mm256_and_si256(q, low4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
      if (kFive) {
        const __m256i bl = _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c), one);
        const __m256i bh = _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c + 1), one);
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(bl, 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(bh, 4));
      }
      const __m256i plo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, Load(a + 64 * c)),
                                            _mm256_set1_epi16(sc[2 * c]));
      const __m256i phi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, Load(a + 64 * c + 32)),
                                            _mm256_set1_epi16(sc[2 * c + 1]));
      sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(plo, phi));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return HorizontalSum(acc) - minimums;
}

REFINERY_AVX2 float DotQ6_K(const uint8_t* row, const QuantizedRow& x) {
  const auto* w = reinterpret_cast<const BlockQ6_K*>(row);
  const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  float bias = 0;
  for (int b = 0; b < x.n / kSuperBlock; ++b) {
    const BlockQ6_K& B = w[b];
    const float d = Half(B.d) * x.d[size_t(b)];
    // Codes are stored +32: subtract 32 * Σ scale * Σ activations per 16 values.
    const int32_t* bsums = &x.sum16[size_t(b) * 16];
    int32_t correction = 0;
    for (int g = 0; g < 16; ++g) correction += int32_t(B.scales[g]) * bsums[g];
    bias += d * float(32 * correction);
    const int8_t* a = &x.q[size_t(b) * kSuperBlock];
    __m256i sumi = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = B.ql + 64 * half;
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(B.qh + 32 * half));
      const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      const __m256i v[4] = {
          _mm256_or_si256(_mm256_and_si256(l0, low4),
                          _mm256_slli_epi16(_mm256_and_si256(h, two), 4)),
          _mm256_or_si256(_mm256_and_si256(l1, low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), two), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), two), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), two), 4)),
      };
      const int8_t* s = B.scales + 8 * half;
      for (int k = 0; k < 4; ++k) {
        const __m256i p16 = _mm256_maddubs_epi16(v[k], Load(a + 128 * half + 32 * k));
        const __m256i scale =
            _mm256_set_m128i(_mm_set1_epi16(s[2 * k + 1]), _mm_set1_epi16(s[2 * k]));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p16, scale));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return HorizontalSum(acc) - bias;
}

}  // namespace

bool Available() {
  __builtin_cpu_init();
  // F16C by CPUID (leaf 1, ECX bit 29): clang 14's __builtin_cpu_supports does not know it.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
}

DotFn Kernel(Type type) {
  switch (type) {
    case Type::kQ8_0:
      return DotQ8_0;
    case Type::kQ4_0:
      return DotQ4_0;
    case Type::kQ5_0:
      return DotQ5_0;
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

}  // namespace refinery::llm::quant::avx2
