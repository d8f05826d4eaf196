// The few-row products that stream weights as stored (f32_gemv.h): float32, float16 and bfloat16
// weights against a double-precision product of the same values, for one to four activation rows,
// a width with a scalar tail after the 32-value spans, an output stride and offset (a matrix in a
// stack), and one and two threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "nodes/llm/f32_gemv.h"
#include "nodes/llm/float_formats.h"

namespace refinery::llm {
namespace {

constexpr int kK = 100, kN = 37, kStride = kN + 5, kOffset = 3;

struct Weights {
  std::vector<float> f32;  // the values the 16-bit encodings hold, widened
  std::vector<uint16_t> f16, bf16;
  std::vector<float> f16_held, bf16_held;
};

Weights RandomWeights(std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 0.5f);
  Weights w;
  for (int i = 0; i < kN * kK; ++i) {
    const float v = dist(rng);
    w.f32.push_back(v);
    w.f16.push_back(FloatToHalf(v));
    w.bf16.push_back(FloatToBf16(v));
    w.f16_held.push_back(HalfToFloat(w.f16.back()));
    w.bf16_held.push_back(Bf16ToFloat(w.bf16.back()));
  }
  return w;
}

// Worst |got - want| over the M rows' outputs, relative to the largest |want|; and that nothing
// outside the matrix's columns was written.
double Gap(const std::vector<float>& y, const float* x, int M, const std::vector<float>& w) {
  double worst = 0, scale = 0;
  for (int m = 0; m < M; ++m) {
    for (int c = 0; c < kStride; ++c) {
      const float got = y[size_t(m) * kStride + size_t(c)];
      if (c < kOffset || c >= kOffset + kN) {
        EXPECT_EQ(got, -7.0f) << "row " << m << " column " << c << " outside the matrix";
        continue;
      }
      double want = 0;
      for (int k = 0; k < kK; ++k)
        want += double(x[size_t(m) * kK + size_t(k)]) * w[size_t(c - kOffset) * kK + size_t(k)];
      worst = std::max(worst, std::abs(double(got) - want));
      scale = std::max(scale, std::abs(want));
    }
  }
  return worst / scale;
}

TEST(Gemv, EveryWeightTypeMatchesTheDoubleProductOfItsValues) {
  std::mt19937 rng(11);
  const Weights w = RandomWeights(rng);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(size_t(kF32GemvMaxRows) * kK);
  for (float& v : x) v = dist(rng);
  tbb::task_arena two(2);
  for (tbb::task_arena* arena : {static_cast<tbb::task_arena*>(nullptr), &two}) {
    for (int M = 1; M <= kF32GemvMaxRows; ++M) {
      std::vector<float> y(size_t(M) * kStride, -7.0f);
      HalfGemv(x.data(), M, kK, w.f16.data(), HalfType::kF16, kN, y.data(), kStride, kOffset,
               arena);
      EXPECT_LT(Gap(y, x.data(), M, w.f16_held), 1e-6) << "f16, " << M << " rows";
      std::fill(y.begin(), y.end(), -7.0f);
      HalfGemv(x.data(), M, kK, w.bf16.data(), HalfType::kBF16, kN, y.data(), kStride, kOffset,
               arena);
      EXPECT_LT(Gap(y, x.data(), M, w.bf16_held), 1e-6) << "bf16, " << M << " rows";
      // F32Gemv writes rows N apart from column 0.
      std::vector<float> dense(size_t(M) * kN);
      F32Gemv(x.data(), M, kK, w.f32.data(), kN, dense.data(), arena);
      std::vector<float> placed(size_t(M) * kStride, -7.0f);
      for (int m = 0; m < M; ++m)
        std::copy_n(&dense[size_t(m) * kN], kN, &placed[size_t(m) * kStride + kOffset]);
      EXPECT_LT(Gap(placed, x.data(), M, w.f32), 1e-6) << "f32, " << M << " rows";
    }
  }
}

}  // namespace
}  // namespace refinery::llm
