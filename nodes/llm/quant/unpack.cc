#include "nodes/llm/quant/unpack.h"

#include <cstring>

#include "nodes/llm/float_formats.h"

namespace refinery::llm::quant {
namespace {

template <typename Block>
const Block& As(const uint8_t* p) {
  return *reinterpret_cast<const Block*>(p);  // packed structs: alignment 1
}

void Legacy(UnpackedBlock* u, float d, float m) {
  u->values = kLegacyBlock;
  u->group = kLegacyBlock;
  u->scale[0] = d;
  u->offset[0] = m;
}

// Low nibbles are values 0-15, high nibbles 16-31.
void Nibbles(const uint8_t* qs, int bias, int8_t* code) {
  for (int j = 0; j < 16; ++j) {
    code[j] = int8_t((qs[j] & 0xF) - bias);
    code[j + 16] = int8_t((qs[j] >> 4) - bias);
  }
}

void FifthBits(const uint8_t qh_bytes[4], int8_t* code, int bias) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int j = 0; j < 32; ++j) code[j] = int8_t(code[j] + bias + (((qh >> j) & 1) << 4) - 16);
}

}  // namespace

void Unpack(Type type, const uint8_t* p, UnpackedBlock* u) {
  switch (type) {
    case Type::kQ4_0: {
      const auto& b = As<BlockQ4_0>(p);
      Legacy(u, HalfToFloat(b.d), 0);
      Nibbles(b.qs, 8, u->code);
      return;
    }
    case Type::kQ4_1: {
      const auto& b = As<BlockQ4_1>(p);
      Legacy(u, HalfToFloat(b.d), HalfToFloat(b.m));
      Nibbles(b.qs, 0, u->code);
      return;
    }
    case Type::kQ5_0: {
      const auto& b = As<BlockQ5_0>(p);
      Legacy(u, HalfToFloat(b.d), 0);
      Nibbles(b.qs, 0, u->code);
      FifthBits(b.qh, u->code, 0);  // 0..31, minus 16
      return;
    }
    case Type::kQ5_1: {
      const auto& b = As<BlockQ5_1>(p);
      Legacy(u, HalfToFloat(b.d), HalfToFloat(b.m));
      Nibbles(b.qs, 0, u->code);
      FifthBits(b.qh, u->code, 16);  // 0..31, unbiased
      return;
    }
    case Type::kIQ4_NL: {
      const auto& b = As<BlockIQ4_NL>(p);
      Legacy(u, HalfToFloat(b.d), 0);
      Nibbles(b.qs, 0, u->code);
      for (int j = 0; j < 32; ++j) u->code[j] = kIq4NlLevels[u->code[j]];
      return;
    }
    case Type::kQ8_0: {
      const auto& b = As<BlockQ8_0>(p);
      Legacy(u, HalfToFloat(b.d), 0);
      std::memcpy(u->code, b.qs, 32);
      return;
    }
    case Type::kQ2_K: {
      const auto& b = As<BlockQ2_K>(p);
      const float d = HalfToFloat(b.d), dmin = HalfToFloat(b.dmin);
      u->values = kSuperBlock;
      u->group = 16;
      for (int g = 0; g < 16; ++g) {
        u->scale[g] = d * float(b.scales[g] & 0xF);
        u->offset[g] = -dmin * float(b.scales[g] >> 4);
      }
      // Each 128-value half: 32 bytes; value (half, shift s, l) sits in bits 2s of byte l.
      for (int half = 0; half < 2; ++half)
        for (int s = 0; s < 4; ++s)
          for (int l = 0; l < 32; ++l)
            u->code[half * 128 + s * 32 + l] = int8_t((b.qs[half * 32 + l] >> (2 * s)) & 3);
      return;
    }
    case Type::kQ3_K: {
      const auto& b = As<BlockQ3_K>(p);
      const float d = HalfToFloat(b.d);
      u->values = kSuperBlock;
      u->group = 16;
      int8_t sc[16];
      UnpackQ3Scales(b.scales, sc);
      for (int g = 0; g < 16; ++g) {
        u->scale[g] = d * float(sc[g]);
        u->offset[g] = 0;
      }
      // Like Q2_K for the low bits; the third bit of value (half, s, l) is bit (4 half + s) of
      // hmask[l], and a clear bit subtracts 4.
      for (int half = 0; half < 2; ++half)
        for (int s = 0; s < 4; ++s)
          for (int l = 0; l < 32; ++l) {
            const int low = (b.qs[half * 32 + l] >> (2 * s)) & 3;
            const bool high = (b.hmask[l] >> (4 * half + s)) & 1;
            u->code[half * 128 + s * 32 + l] = int8_t(low - (high ? 0 : 4));
          }
      return;
    }
    case Type::kQ4_K:
    case Type::kQ5_K: {
      const bool five = type == Type::kQ5_K;
      const uint8_t* scales = five ? As<BlockQ5_K>(p).scales : As<BlockQ4_K>(p).scales;
      const uint8_t* qs = five ? As<BlockQ5_K>(p).qs : As<BlockQ4_K>(p).qs;
      const uint16_t dh = five ? As<BlockQ5_K>(p).d : As<BlockQ4_K>(p).d;
      const uint16_t mh = five ? As<BlockQ5_K>(p).dmin : As<BlockQ4_K>(p).dmin;
      const float d = HalfToFloat(dh), dmin = HalfToFloat(mh);
      u->values = kSuperBlock;
      u->group = 32;
      for (int g = 0; g < 8; ++g) {
        uint8_t sc, mn;
        ScaleMinK4(g, scales, &sc, &mn);
        u->scale[g] = d * float(sc);
        u->offset[g] = -dmin * float(mn);
      }
      // Each 64 values: 32 bytes, low nibbles first then high nibbles; Q5_K's fifth bit of
      // group g is bit g of qh[l].
      for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) {
          const uint8_t byte = qs[c * 32 + l];
          int lo = byte & 0xF, hi = byte >> 4;
          if (five) {
            const uint8_t h = As<BlockQ5_K>(p).qh[l];
            lo += ((h >> (2 * c)) & 1) << 4;
            hi += ((h >> (2 * c + 1)) & 1) << 4;
          }
          u->code[c * 64 + l] = int8_t(lo);
          u->code[c * 64 + 32 + l] = int8_t(hi);
        }
      return;
    }
    case Type::kQ6_K: {
      const auto& b = As<BlockQ6_K>(p);
      const float d = HalfToFloat(b.d);
      u->values = kSuperBlock;
      u->group = 16;
      for (int g = 0; g < 16; ++g) {
        u->scale[g] = d * float(b.scales[g]);
        u->offset[g] = 0;
      }
      // Each 128-value half: 64 bytes of low nibbles, 32 of high bit pairs.
      for (int half = 0; half < 2; ++half) {
        const uint8_t* ql = b.ql + half * 64;
        const uint8_t* qh = b.qh + half * 32;
        int8_t* y = u->code + half * 128;
        for (int l = 0; l < 32; ++l) {
          y[l] = int8_t(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
          y[l + 32] = int8_t(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
          y[l + 64] = int8_t(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
          y[l + 96] = int8_t(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
      }
      return;
    }
    default:
      u->values = 0;
      return;
  }
}

}  // namespace refinery::llm::quant
