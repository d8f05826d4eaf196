// ggml's block formats (GGUF tensor types), as they lie in a file: what a block holds and how
// many bytes it takes. Weights stay in these blocks in memory (the file is mapped); kernels read
// them in place (dequantize.h, dot.h).
//
// IQ4_NL: a legacy-shaped block (32 values, one f16 scale) whose 4-bit codes index a fixed table
// of 16 non-uniform levels (kIq4NlLevels) instead of counting evenly; llama-quantize writes it
// where a Q2_K or Q3_K file has rows a 256-value super block cannot hold.
//
// Legacy formats: 32 values per block, one f16 scale (and a minimum for the _1 kinds); the
// 5-bit kinds keep the fifth bits in a 32-bit mask. K formats ("k-quants"): 256-value super
// blocks of 8 or 16 sub-blocks, each with a small integer scale (and minimum) that multiplies the
// super block's f16 scale. Layouts: ggml's docs and the GGUF specification.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace refinery::llm::quant {

inline constexpr int kLegacyBlock = 32;  // values per legacy block
inline constexpr int kSuperBlock = 256;  // values per K super block

// GGUF type ids (ggml_type).
enum class Type : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kIQ4_NL = 20,
  kBF16 = 30,
};

struct TypeInfo {
  const char* name;
  int block_values;  // values per block (1 for plain floats)
  int block_bytes;   // bytes per block
  bool quantized;    // a block format (kernels here), not a plain float type
};

// Null for a type id this project cannot read.
const TypeInfo* Info(uint32_t type);

// Blocks are packed structs in the file; these mirror them byte for byte (static_asserts below).
#pragma pack(push, 1)
struct BlockQ4_0 {
  uint16_t d;      // f16 scale
  uint8_t qs[16];  // value j in the low nibble of byte j, value j+16 in its high nibble; minus 8
};
struct BlockQ4_1 {
  uint16_t d, m;  // f16 scale and minimum: value = q * d + m
  uint8_t qs[16];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];   // bit j: fifth bit of value j
  uint8_t qs[16];  // low four bits, as Q4_0; minus 16
};
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockIQ4_NL {
  uint16_t d;
  uint8_t qs[16];  // nibble layout as Q4_0; each nibble indexes kIq4NlLevels
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
struct BlockQ2_K {
  uint8_t scales[16];  // per 16 values: low nibble scale, high nibble minimum
  uint8_t qs[64];      // 2-bit values: four 32-value groups share each byte run
  uint16_t d, dmin;
};
struct BlockQ3_K {
  uint8_t hmask[32];   // third bits
  uint8_t qs[64];      // low two bits
  uint8_t scales[12];  // sixteen 6-bit scales, biased by 32
  uint16_t d;
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];  // eight 6-bit scales and eight 6-bit minimums
  uint8_t qs[128];
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
struct BlockQ6_K {
  uint8_t ql[128];    // low four bits
  uint8_t qh[64];     // high two bits
  int8_t scales[16];  // per 16 values
  uint16_t d;
};
#pragma pack(pop)

static_assert(sizeof(BlockIQ4_NL) == 18);
static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
              sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144 &&
              sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210);

// IQ4_NL's levels (the format's definition in ggml): value = d * kIq4NlLevels[nibble].
inline constexpr int8_t kIq4NlLevels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// The K formats' packed 6-bit scale and minimum of sub-block j (0..7) of Q4_K and Q5_K.
inline void ScaleMinK4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *min = uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Q3_K's sixteen 6-bit scales, unbiased (-32..31). Scale k has its low four bits in a nibble of
// bytes 0-7 (low nibbles for k < 8, high nibbles for k >= 8) and its top two bits at bit
// 2 * (k / 4) of byte 8 + k % 4; eight scales at a time in a 64-bit word (a per-scale loop was
// 18% of a Q3_K_M decode step).
inline void UnpackQ3Scales(const uint8_t p[12], int8_t out[16]) {
  static_assert(std::endian::native == std::endian::little, "bytes are read as words");
  uint64_t nibbles;
  uint32_t top;
  std::memcpy(&nibbles, p, 8);
  std::memcpy(&top, p + 8, 4);
  constexpr uint64_t kLow4 = 0x0F0F0F0F0F0F0F0Full;
  constexpr uint32_t kLow2 = 0x03030303u;
  const uint64_t top_first = uint64_t(top & kLow2) | uint64_t((top >> 2) & kLow2) << 32;
  const uint64_t top_last = uint64_t((top >> 4) & kLow2) | uint64_t((top >> 6) & kLow2) << 32;
  // Minus 32 in every byte at once: each byte is 0..63, so adding 0x60 never carries into the
  // next byte, and adding the remaining 0x80 (mod 256) is flipping the top bit.
  constexpr uint64_t kPlus96 = 0x6060606060606060ull, kTopBits = 0x8080808080808080ull;
  const uint64_t a = (((nibbles & kLow4) | top_first << 4) + kPlus96) ^ kTopBits;
  const uint64_t b = ((((nibbles >> 4) & kLow4) | top_last << 4) + kPlus96) ^ kTopBits;
  std::memcpy(out, &a, 8);
  std::memcpy(out + 8, &b, 8);
}

}  // namespace refinery::llm::quant
