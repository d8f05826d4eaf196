#include "nodes/llm/quant/dequantize.h"

#include <immintrin.h>

#include <cstring>

#include "nodes/llm/float_formats.h"
#include "nodes/llm/quant/dot.h"
#include "nodes/llm/quant/unpack.h"

namespace refinery::llm::quant {
namespace {

// value = scale * code + offset, group by group (a multiply and an add, never fused, so every
// CPU gives the same floats).
void Groups(const UnpackedBlock& u, float* y) {
  for (int g = 0; g < u.values / u.group; ++g) {
    const float scale = u.scale[g], offset = u.offset[g];
    const int8_t* code = u.code + g * u.group;
    float* yg = y + g * u.group;
    for (int k = 0; k < u.group; ++k) yg[k] = scale * float(code[k]) + offset;
  }
}

// The same with AVX2: eight codes widened to floats per instruction pair. The baseline build
// converts int8 to float with SSE2 shuffles, which was most of the dequantisation time of the
// tiled prompt products (nodes/llm/tiled_gemm.h).
__attribute__((target("avx2"))) void CodesAvx2(const int8_t* code, int n, float scale, float offset,
                                               float* y) {
  const __m256 s = _mm256_set1_ps(scale), o = _mm256_set1_ps(offset);
  for (int k = 0; k < n; k += 8) {
    const __m256i wide =
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(code + k)));
    _mm256_storeu_ps(y + k, _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(wide), s), o));
  }
}

__attribute__((target("avx2"))) void GroupsAvx2(const UnpackedBlock& u, float* y) {
  for (int g = 0; g < u.values / u.group; ++g)
    CodesAvx2(u.code + g * u.group, u.group, u.scale[g], u.offset[g], y + g * u.group);
}

// float16 (F16C) or bfloat16 (the upper half of a float32) values to floats, eight at a time.
__attribute__((target("avx2,f16c"))) void HalvesAvx2(bool bf16, const uint16_t* src, int64_t n,
                                                     float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m256 f = bf16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16))
                          : _mm256_cvtph_ps(h);
    _mm256_storeu_ps(out + i, f);
  }
  for (; i < n; ++i) out[i] = bf16 ? Bf16ToFloat(src[i]) : HalfToFloat(src[i]);
}

}  // namespace

void DequantizeRow(Type type, const uint8_t* src, float* out, int64_t n, bool plain) {
  switch (type) {
    case Type::kF32:
      std::memcpy(out, src, size_t(n) * 4);
      return;
    case Type::kF16:
    case Type::kBF16:
      if (UseAvx2Kernels() && !plain) {
        HalvesAvx2(type == Type::kBF16, reinterpret_cast<const uint16_t*>(src), n, out);
        return;
      }
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = type == Type::kF16 ? HalfToFloat(h) : Bf16ToFloat(h);
      }
      return;
    default:
      break;
  }
  const TypeInfo& info = *Info(uint32_t(type));
  const bool avx2 = UseAvx2Kernels() && !plain;
  if (type == Type::kQ8_0 && avx2) {  // the codes are already int8: no unpacking
    for (int64_t b = 0; b < n / kLegacyBlock; ++b) {
      const auto& block = *reinterpret_cast<const BlockQ8_0*>(src + b * int64_t(sizeof(BlockQ8_0)));
      CodesAvx2(block.qs, kLegacyBlock, HalfToFloat(block.d), 0.0f, out + b * kLegacyBlock);
    }
    return;
  }
  UnpackedBlock u;
  for (int64_t b = 0; b < n / info.block_values; ++b) {
    Unpack(type, src + b * info.block_bytes, &u);
    if (avx2)
      GroupsAvx2(u, out + b * info.block_values);
    else
      Groups(u, out + b * info.block_values);
  }
}

}  // namespace refinery::llm::quant
