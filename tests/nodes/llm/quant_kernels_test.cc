// The block formats, block by block: DequantizeRow against a second, independent decoder written
// here in the formats' published loop order (ggml's reference loops: scales applied per 16 or 32
// values as the layout lists them), the reference dot product against the dequantised values,
// and every AVX2 kernel against the reference dot product, on random blocks of every format.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "nodes/llm/float_formats.h"
#include "nodes/llm/quant/activations.h"
#include "nodes/llm/quant/dequantize.h"
#include "nodes/llm/quant/dot.h"
#include "nodes/llm/quant/formats.h"

namespace refinery::llm::quant {
namespace {

const Type kTypes[] = {Type::kQ4_0, Type::kQ4_1, Type::kQ5_0,  Type::kQ5_1,
                       Type::kQ8_0, Type::kQ2_K, Type::kQ3_K,  Type::kQ4_K,
                       Type::kQ5_K, Type::kQ6_K, Type::kIQ4_NL};

float H(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return HalfToFloat(h);
}

// Random bytes with every f16 scale field set to a modest random value (random bits would
// include infinities and NaNs).
std::vector<uint8_t> RandomBlocks(Type type, int blocks, std::mt19937& rng) {
  const TypeInfo& info = *Info(uint32_t(type));
  std::vector<uint8_t> bytes(size_t(blocks) * info.block_bytes);
  for (auto& b : bytes) b = uint8_t(rng());
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  auto set = [&](uint8_t* p) {
    const uint16_t h = FloatToHalf(scale(rng));
    std::memcpy(p, &h, 2);
  };
  for (int b = 0; b < blocks; ++b) {
    uint8_t* p = &bytes[size_t(b) * info.block_bytes];
    switch (type) {
      case Type::kQ4_0:
      case Type::kQ5_0:
      case Type::kQ8_0:
      case Type::kIQ4_NL:
        set(p);
        break;
      case Type::kQ4_1:
      case Type::kQ5_1:
      case Type::kQ4_K:
      case Type::kQ5_K:
        set(p);
        set(p + 2);
        break;
      case Type::kQ2_K:
        set(p + 80);
        set(p + 82);
        break;
      case Type::kQ3_K:
        set(p + 108);
        break;
      case Type::kQ6_K:
        set(p + 208);
        break;
      default:
        break;
    }
  }
  return bytes;
}

// The published decoders, one super block or block at a time.
void SpecBlock(Type type, const uint8_t* p, float* y) {
  switch (type) {
    case Type::kQ4_0:
    case Type::kQ4_1:
    case Type::kQ5_0:
    case Type::kQ5_1: {
      const bool has_min = type == Type::kQ4_1 || type == Type::kQ5_1;
      const bool five = type == Type::kQ5_0 || type == Type::kQ5_1;
      const float d = H(p), m = has_min ? H(p + 2) : 0;
      const uint8_t* after = p + (has_min ? 4 : 2);
      uint32_t qh = 0;
      if (five) std::memcpy(&qh, after, 4);
      const uint8_t* qs = after + (five ? 4 : 0);
      const int bias = has_min ? 0 : (five ? 16 : 8);
      for (int j = 0; j < 16; ++j) {
        const int x0 = (qs[j] & 0x0F) | (five ? int((qh >> j) & 1) << 4 : 0);
        const int x1 = (qs[j] >> 4) | (five ? int((qh >> (j + 16)) & 1) << 4 : 0);
        y[j] = float(x0 - bias) * d + m;
        y[j + 16] = float(x1 - bias) * d + m;
      }
      return;
    }
    case Type::kQ8_0:
      for (int j = 0; j < 32; ++j) y[j] = H(p) * float(int8_t(p[2 + j]));
      return;
    case Type::kIQ4_NL: {
      // The format's 16 levels, written out here rather than taken from formats.h.
      static const int kLevels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                      1,    13,   25,  38,  53,  69,  89,  113};
      for (int j = 0; j < 16; ++j) {
        y[j] = H(p) * float(kLevels[p[2 + j] & 0x0F]);
        y[j + 16] = H(p) * float(kLevels[p[2 + j] >> 4]);
      }
      return;
    }
    case Type::kQ2_K: {
      const uint8_t *scales = p, *q = p + 16;
      const float d = H(p + 80), min = H(p + 82);
      int is = 0;
      for (int n = 0; n < 256; n += 128) {
        for (int shift = 0; shift < 8; shift += 2) {
          for (int half = 0; half < 2; ++half) {
            const uint8_t sc = scales[is++];
            for (int l = 0; l < 16; ++l)
              *y++ = d * float(sc & 0xF) * float((q[l + 16 * half] >> shift) & 3) -
                     min * float(sc >> 4);
          }
        }
        q += 32;
      }
      return;
    }
    case Type::kQ3_K: {
      const uint8_t *hm = p, *q = p + 32, *packed = p + 96;
      const float d = H(p + 108);
      int8_t sc[16];
      for (int j = 0; j < 16; ++j) {
        // Scale j: low 4 bits from nibble (j % 8) of bytes 0-7 (low nibbles first), high 2
        // bits from bit pair (j / 4) of byte 8 + j % 4.
        const int low = j < 8 ? (packed[j] & 0xF) : (packed[j - 8] >> 4);
        const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
        sc[j] = int8_t((low | (high << 4)) - 32);
      }
      int is = 0;
      uint8_t m = 1;
      for (int n = 0; n < 256; n += 128) {
        for (int shift = 0; shift < 8; shift += 2) {
          for (int half = 0; half < 2; ++half) {
            const float dl = d * float(sc[is++]);
            for (int l = 16 * half; l < 16 * half + 16; ++l)
              *y++ = dl * float(((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
          }
          m = uint8_t(m << 1);
        }
        q += 32;
      }
      return;
    }
    case Type::kQ4_K:
    case Type::kQ5_K: {
      const bool five = type == Type::kQ5_K;
      const float d = H(p), min = H(p + 2);
      const uint8_t* scales = p + 4;
      const uint8_t* qh = p + 16;
      const uint8_t* q = p + (five ? 48 : 16);
      for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
        uint8_t s1, m1, s2, m2;
        ScaleMinK4(is, scales, &s1, &m1);
        ScaleMinK4(is + 1, scales, &s2, &m2);
        for (int l = 0; l < 32; ++l) {
          const int hi1 = five ? ((qh[l] >> is) & 1) << 4 : 0;
          *y++ = d * float(s1) * float((q[l] & 0xF) + hi1) - min * float(m1);
        }
        for (int l = 0; l < 32; ++l) {
          const int hi2 = five ? ((qh[l] >> (is + 1)) & 1) << 4 : 0;
          *y++ = d * float(s2) * float((q[l] >> 4) + hi2) - min * float(m2);
        }
      }
      return;
    }
    case Type::kQ6_K: {
      const uint8_t *ql = p, *qh = p + 128;
      const int8_t* sc = reinterpret_cast<const int8_t*>(p + 192);
      const float d = H(p + 208);
      for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
        for (int l = 0; l < 32; ++l) {
          const int is = l / 16;
          y[l] = d * sc[is] * float(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
          y[l + 32] = d * sc[is + 2] * float(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
          y[l + 64] = d * sc[is + 4] * float(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
          y[l + 96] = d * sc[is + 6] * float(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
      }
      return;
    }
    default:
      FAIL() << "no decoder for type " << int(type);
  }
}

TEST(QuantBlocks, DequantizationMatchesThePublishedDecoderBlockByBlock) {
  std::mt19937 rng(3);
  for (Type type : kTypes) {
    const TypeInfo& info = *Info(uint32_t(type));
    const int blocks = 64;
    const auto bytes = RandomBlocks(type, blocks, rng);
    std::vector<float> ours(size_t(blocks) * info.block_values), spec(ours.size());
    DequantizeRow(type, bytes.data(), ours.data(), int64_t(ours.size()));
    for (int b = 0; b < blocks; ++b)
      SpecBlock(type, &bytes[size_t(b) * info.block_bytes], &spec[size_t(b) * info.block_values]);
    for (size_t i = 0; i < ours.size(); ++i) {
      ASSERT_NEAR(ours[i], spec[i], 1e-6f * (1 + std::fabs(spec[i])))
          << info.name << " block " << i / info.block_values << " value " << i % info.block_values;
    }
  }
}

// The AVX2 widening (where this CPU has it) gives the plain loop's floats exactly.
TEST(QuantBlocks, VectorDequantisationGivesThePlainFloats) {
  std::mt19937 rng(4);
  for (Type type : kTypes) {
    const TypeInfo& info = *Info(uint32_t(type));
    const auto bytes = RandomBlocks(type, 16, rng);
    std::vector<float> fast(size_t(16) * info.block_values), plain(fast.size());
    DequantizeRow(type, bytes.data(), fast.data(), int64_t(fast.size()));
    DequantizeRow(type, bytes.data(), plain.data(), int64_t(plain.size()), /*plain=*/true);
    for (size_t i = 0; i < fast.size(); ++i)
      ASSERT_EQ(fast[i], plain[i]) << info.name << " value " << i;
  }
}

std::vector<float> RandomActivations(int n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = normal(rng);
  x[size_t(n / 3)] = 9.5f;  // an outlier, as real activations have
  return x;
}

TEST(QuantBlocks, ReferenceDotIsTheDotOfTheDequantisedRows) {
  std::mt19937 rng(5);
  for (Type type : kTypes) {
    const int n = 1024;
    const auto row = RandomBlocks(type, n / Info(uint32_t(type))->block_values, rng);
    const auto x = RandomActivations(n, rng);
    QuantizedRow a;
    QuantizeRow(ActivationKindFor(type), x.data(), n, &a);
    std::vector<float> w(static_cast<size_t>(n));
    DequantizeRow(type, row.data(), w.data(), n);
    const int block = a.kind == ActivationKind::kQ8_0 ? kLegacyBlock : kSuperBlock;
    double expect = 0, magnitude = 0;
    for (int k = 0; k < n; ++k) {
      const double term = double(w[size_t(k)]) * a.d[size_t(k / block)] * a.q[size_t(k)];
      expect += term;
      magnitude += std::fabs(term);
    }
    EXPECT_NEAR(DotReference(type, row.data(), a), expect, 1e-5 * magnitude)
        << Info(uint32_t(type))->name;
  }
}

TEST(QuantBlocks, ActivationRoundingIsWithinHalfAStep) {
  std::mt19937 rng(9);
  const auto x = RandomActivations(512, rng);
  for (ActivationKind kind : {ActivationKind::kQ8_0, ActivationKind::kQ8_K}) {
    QuantizedRow a;
    QuantizeRow(kind, x.data(), 512, &a);
    const int block = kind == ActivationKind::kQ8_0 ? kLegacyBlock : kSuperBlock;
    for (int k = 0; k < 512; ++k) {
      const float d = std::fabs(a.d[size_t(k / block)]);
      // Q8_0's scale is stored as f16: allow its rounding (2^-11 relative) over 127 steps.
      EXPECT_LE(std::fabs(a.d[size_t(k / block)] * a.q[size_t(k)] - x[size_t(k)]),
                d * (0.5f + 127 * 0.0005f))
          << (kind == ActivationKind::kQ8_0 ? "Q8_0" : "Q8_K") << " value " << k;
    }
    if (kind == ActivationKind::kQ8_K) {
      for (int g = 0; g < 32; ++g) {
        int sum = 0;
        for (int k = 0; k < 16; ++k) sum += a.q[size_t(g * 16 + k)];
        EXPECT_EQ(a.sum16[size_t(g)], sum);
      }
    }
  }
}

// The vector Q8_K quantiser (used where the CPU has AVX2) gives the plain one's codes, scales
// and sums exactly: on random rows, on a block of zeros, and on a block whose largest magnitude
// is reached by +a and -a both (there either sign may win; every code, the scale and the sums
// are then negated together, so each must equal the plain value or its negation as a whole).
TEST(QuantBlocks, VectorActivationQuantiserGivesThePlainOnesBlocks) {
  std::mt19937 rng(21);
  std::vector<float> x = RandomActivations(1024, rng);
  std::fill(x.begin() + 256, x.begin() + 512, 0.0f);  // block 1: all zero
  x[600] = 8.0f, x[700] = -8.0f;                      // block 2: a tie for the largest
  QuantizedRow fast, plain;
  QuantizeRow(ActivationKind::kQ8_K, x.data(), 1024, &fast);
  QuantizeRow(ActivationKind::kQ8_K, x.data(), 1024, &plain, /*plain=*/true);
  for (int b = 0; b < 4; ++b) {
    const float sign = fast.d[size_t(b)] == -plain.d[size_t(b)] && b == 2 ? -1.0f : 1.0f;
    EXPECT_EQ(fast.d[size_t(b)], sign * plain.d[size_t(b)]) << "block " << b;
    for (int k = b * 256; k < (b + 1) * 256; ++k)
      ASSERT_EQ(fast.q[size_t(k)], int(sign) * plain.q[size_t(k)]) << "value " << k;
    for (int g = b * 16; g < (b + 1) * 16; ++g)
      EXPECT_EQ(fast.sum16[size_t(g)], int(sign) * plain.sum16[size_t(g)]) << "group " << g;
    for (int g = b * 8; g < (b + 1) * 8; ++g)
      EXPECT_EQ(fast.sum32[size_t(g)], int(sign) * plain.sum32[size_t(g)]) << "group " << g;
  }
  EXPECT_EQ(plain.d[1], 0.0f);
  EXPECT_EQ(std::abs(int(plain.q[600])), 127);
  EXPECT_EQ(std::abs(int(plain.q[700])), 127);
}

// The same for Q8_0 activation blocks, which have no sign choice: every code and scale equal.
// Block 1 is all zero; in block 2 the largest magnitude is 127, so the scale is 1 and the values
// placed on half steps must round away from zero (2.5 -> 3, -3.5 -> -4), as the plain code does.
TEST(QuantBlocks, VectorQ8_0QuantiserGivesThePlainOnesBlocks) {
  std::mt19937 rng(22);
  std::vector<float> x = RandomActivations(128, rng);
  std::fill(x.begin() + 32, x.begin() + 64, 0.0f);
  for (int k = 64; k < 96; ++k) x[size_t(k)] = (k % 2 ? -1.0f : 1.0f) * (float(k - 64) + 0.5f);
  x[64] = 127.0f;
  QuantizedRow fast, plain;
  QuantizeRow(ActivationKind::kQ8_0, x.data(), 128, &fast);
  QuantizeRow(ActivationKind::kQ8_0, x.data(), 128, &plain, /*plain=*/true);
  for (int b = 0; b < 4; ++b) EXPECT_EQ(fast.d[size_t(b)], plain.d[size_t(b)]) << "block " << b;
  for (int k = 0; k < 128; ++k) ASSERT_EQ(fast.q[size_t(k)], plain.q[size_t(k)]) << "value " << k;
  EXPECT_EQ(plain.d[1], 0.0f);
  EXPECT_EQ(plain.d[2], 1.0f);
  EXPECT_EQ(plain.q[66], 3);   //  2.5
  EXPECT_EQ(plain.q[67], -4);  // -3.5
}

// The kernel families this CPU can run, each with the number of formats it must cover. A family
// the CPU lacks is not run here; the dispatcher must then never hand out its kernels
// (DispatchMatchesTheCpu).
struct Family {
  const char* name;
  DotFn (*kernel)(Type);
  DotRowsFn (*rows)(Type);
  int formats;
};
std::vector<Family> RunnableFamilies() {
  std::vector<Family> f;
  if (avx2::Available()) f.push_back({"avx2", avx2::Kernel, avx2::RowsKernel, 11});
  if (avx512::Available()) f.push_back({"avx512", avx512::Kernel, avx512::RowsKernel, 3});
  return f;
}

// What FastDot hands out follows the CPU: AVX-512 kernels for the K formats where AVX-512 VNNI
// exists, AVX2 for the other formats, nothing without AVX2 (only the reference runs, and the
// model tests check it against llama.cpp).
// (REFINERY_QUANT_KERNELS=avx2 or =reference narrow that down.)
TEST(QuantBlocks, DispatchMatchesTheCpu) {
  const char* forced = std::getenv("REFINERY_QUANT_KERNELS");
  const bool reference = forced != nullptr && std::strcmp(forced, "reference") == 0;
  const bool avx2_only = reference || (forced != nullptr && std::strcmp(forced, "avx2") == 0);
  const bool avx2 = avx2::Available() && !reference;
  for (Type type : kTypes) {
    const bool k = type == Type::kQ4_K || type == Type::kQ5_K || type == Type::kQ6_K;
    DotFn want = nullptr;
    if (avx512::Available() && !avx2_only && k)
      want = avx512::Kernel(type);
    else if (avx2)
      want = avx2::Kernel(type);
    EXPECT_EQ(FastDot(type), want) << Info(uint32_t(type))->name;
    if (!avx2) {
      EXPECT_EQ(FastDotRows(type), nullptr);
    }
  }
  std::printf("quant kernels on this CPU: %s\n", KernelName());
}

TEST(QuantBlocks, FastKernelsAgreeWithTheReference) {
  std::mt19937 rng(11);
  for (const Family& family : RunnableFamilies()) {
    int kernels = 0;
    for (Type type : kTypes) {
      const DotFn fast = family.kernel(type);
      if (fast == nullptr) continue;
      ++kernels;
      for (int trial = 0; trial < 20; ++trial) {
        const int n = 256 * (1 + trial % 4);
        const auto row = RandomBlocks(type, n / Info(uint32_t(type))->block_values, rng);
        const auto x = RandomActivations(n, rng);
        QuantizedRow a;
        QuantizeRow(ActivationKindFor(type), x.data(), n, &a);
        const float want = DotReference(type, row.data(), a);
        std::vector<float> w(static_cast<size_t>(n));
        DequantizeRow(type, row.data(), w.data(), n);
        double magnitude = 0;
        for (int k = 0; k < n; ++k) magnitude += std::fabs(w[size_t(k)] * x[size_t(k)]);
        EXPECT_NEAR(fast(row.data(), a), want, 1e-5 * magnitude)
            << family.name << " " << Info(uint32_t(type))->name;
      }
    }
    EXPECT_EQ(kernels, family.formats) << family.name;
  }
}

// The multi-row kernels (one weight row against up to kMaxRows activation rows) give each row
// what the reference gives it alone.
TEST(QuantBlocks, MultiRowKernelsGiveEachRowItsOwnDot) {
  std::mt19937 rng(13);
  for (const Family& family : RunnableFamilies()) {
    int kernels = 0;
    for (Type type : kTypes) {
      const DotRowsFn fast = family.rows(type);
      if (fast == nullptr) continue;
      ++kernels;
      const int n = 512;
      const auto row = RandomBlocks(type, n / Info(uint32_t(type))->block_values, rng);
      for (int count = 1; count <= kMaxRows; ++count) {
        std::vector<QuantizedRow> acts(static_cast<size_t>(count));
        const QuantizedRow* ptrs[kMaxRows];
        for (int r = 0; r < count; ++r) {
          const auto x = RandomActivations(n, rng);
          QuantizeRow(ActivationKindFor(type), x.data(), n, &acts[size_t(r)]);
          ptrs[r] = &acts[size_t(r)];
        }
        float out[kMaxRows];
        fast(row.data(), ptrs, count, out);
        for (int r = 0; r < count; ++r) {
          const float want = DotReference(type, row.data(), acts[size_t(r)]);
          EXPECT_NEAR(out[r], want, 1e-4f * (1 + std::fabs(want)))
              << family.name << " " << Info(uint32_t(type))->name << " row " << r << " of "
              << count;
        }
      }
    }
    EXPECT_EQ(kernels, family.formats) << family.name;
  }
}

// The range kernels (batch-1 steps: many weight rows against one activation row) give every row
// the same float the one-row kernel gives it, whatever the row count (groups of four and the
// rest), so a step's result does not depend on how rows are split across threads.
TEST(QuantBlocks, RangeKernelsGiveEachRowTheOneRowKernelsFloat) {
  std::mt19937 rng(17);
  int kernels = 0;
  for (Type type : kTypes) {
    const DotRangeFn range = avx2::Available() ? avx2::RangeKernel(type) : nullptr;
    if (range == nullptr) continue;
    ++kernels;
    const DotFn one = avx2::Kernel(type);
    const int n = 512, rows = 11;
    const TypeInfo& info = *Info(uint32_t(type));
    const size_t row_bytes = size_t(n / info.block_values) * info.block_bytes;
    const auto weights = RandomBlocks(type, rows * (n / info.block_values), rng);
    const auto x = RandomActivations(n, rng);
    QuantizedRow a;
    QuantizeRow(ActivationKindFor(type), x.data(), n, &a);
    for (int count = 1; count <= rows; ++count) {
      std::vector<float> y(size_t(count), -1.0f);
      range(weights.data(), row_bytes, count, a, y.data());
      for (int r = 0; r < count; ++r)
        ASSERT_EQ(y[size_t(r)], one(&weights[size_t(r) * row_bytes], a))
            << info.name << " row " << r << " of " << count;
    }
  }
  if (avx2::Available()) {
    EXPECT_EQ(kernels, 11);
  }
}

}  // namespace
}  // namespace refinery::llm::quant
