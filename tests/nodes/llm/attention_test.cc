// Attention over each cache format (f32, f16, q8_0): the vector kernels and the plain ones against
// a double-precision attention computed here from what the cache holds, over head sizes and
// position counts that reach every span and tail of the kernels (32-position and 8-position score
// spans, 64/32/16/8-dimension value spans, scalar tails, GQA groups taken 4, 2 or 1 heads at a
// time). And the stores: every key and value lands where the attention reads it, within its
// format's rounding of the value written.
#include "nodes/llm/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "nodes/llm/float_formats.h"

namespace refinery::llm {
namespace {

enum class Format { kF32, kF16, kQ8 };

const char* Name(Format f) {
  return f == Format::kF32 ? "f32" : f == Format::kF16 ? "f16" : "q8_0";
}

// One layer's cache in one format, filled with n random positions, and the values it holds read
// back as floats ([t][kv_dim], keys and values alike) by a decoder written here.
struct FilledCache {
  LlamaConfig c;
  Format format;
  int capacity, n;
  std::vector<float> q, k_written, v_written;  // q [heads][head_dim]; k/v [t][kv_dim]
  std::vector<float> k32, v32;
  std::vector<uint16_t> k16, v16, k8_scales, v8_scales;
  std::vector<int8_t> k8, v8;
  std::vector<float> k_held, v_held;

  FilledCache(Format f, int heads, int kv_heads, int head_dim, int positions, std::mt19937& rng)
      : format(f), capacity(positions + 3), n(positions) {
    c.heads = heads;
    c.kv_heads = kv_heads;
    c.head_dim = head_dim;
    const int kv = c.kv_dim();
    std::uniform_real_distribution<float> u(-1, 1);
    for (int i = 0; i < heads * head_dim; ++i) q.push_back(2 * u(rng));
    for (int i = 0; i < n * kv; ++i) k_written.push_back(u(rng)), v_written.push_back(u(rng));
    const size_t cells = size_t(PaddedCapacity(capacity)) * kv;
    k32.assign(cells, 0), v32.assign(cells, 0), k16.assign(cells, 0), v16.assign(cells, 0);
    k8.assign(cells, 0), v8.assign(cells, 0);
    k8_scales.assign(cells / kQ8Block + 1, 0), v8_scales.assign(cells / kQ8Block + 1, 0);
    for (int t = 0; t < n; ++t) {
      const float* k = &k_written[size_t(t) * kv];
      const float* v = &v_written[size_t(t) * kv];
      switch (f) {
        case Format::kF32:
          StoreKey(c, k, capacity, t, k32.data());
          StoreValue(c, v, capacity, t, v32.data());
          break;
        case Format::kF16:
          StoreKey(c, k, capacity, t, k16.data());
          StoreValue(c, v, capacity, t, v16.data());
          break;
        case Format::kQ8:
          StoreKey(c, k, capacity, t, Q8Keys());
          StoreValue(c, v, capacity, t, Q8Values());
          break;
      }
    }
    // Read back by the layouts attention.h documents, written out here: per KV head
    // PaddedCapacity(capacity) positions; keys in tiles of 32 positions, each [head_dim][32];
    // values [position][head_dim]; q8_0 scales as their codes with head_dim / 32 rows.
    const int blocks = head_dim / kQ8Block;
    const size_t head_cells = size_t(PaddedCapacity(capacity)) * head_dim;
    for (int t = 0; t < n; ++t)
      for (int kvh = 0; kvh < kv_heads; ++kvh)
        for (int i = 0; i < head_dim; ++i) {
          const size_t tile = size_t(t / 32) * 32;
          const size_t key = kvh * head_cells + tile * head_dim + size_t(i) * 32 + t % 32;
          const size_t key_scale =
              kvh * head_cells / kQ8Block + tile * blocks + size_t(i / kQ8Block) * 32 + t % 32;
          const size_t value = kvh * head_cells + size_t(t) * head_dim + i;
          switch (f) {
            case Format::kF32:
              k_held.push_back(k32[key]), v_held.push_back(v32[value]);
              break;
            case Format::kF16:
              k_held.push_back(HalfToFloat(k16[key])), v_held.push_back(HalfToFloat(v16[value]));
              break;
            case Format::kQ8:
              k_held.push_back(float(k8[key]) * HalfToFloat(k8_scales[key_scale]));
              v_held.push_back(float(v8[value]) * HalfToFloat(v8_scales[value / kQ8Block]));
              break;
          }
        }
  }
  Q8Cache Q8Keys() { return {k8.data(), k8_scales.data()}; }
  Q8Cache Q8Values() { return {v8.data(), v8_scales.data()}; }

  std::vector<float> Attend(AttentionKernels kernels) {
    std::vector<float> out(size_t(c.heads) * c.head_dim, -7.0f), scratch;
    switch (format) {
      case Format::kF32:
        AttendCached(c, q.data(), k32.data(), v32.data(), capacity, n, out.data(), scratch,
                     kernels);
        break;
      case Format::kF16:
        AttendCached(c, q.data(), k16.data(), v16.data(), capacity, n, out.data(), scratch,
                     kernels);
        break;
      case Format::kQ8:
        AttendCached(c, q.data(), Q8Keys(), Q8Values(), capacity, n, out.data(), scratch, kernels);
        break;
    }
    return out;
  }

  // softmax(q . k / sqrt(head_dim)) . v in double, over the held values.
  std::vector<double> Reference() const {
    const int hd = c.head_dim, kv = c.kv_dim(), group = c.heads / c.kv_heads;
    std::vector<double> out(size_t(c.heads) * hd, 0.0);
    for (int h = 0; h < c.heads; ++h) {
      const int base = (h / group) * hd;
      std::vector<double> p(static_cast<size_t>(n));
      for (int t = 0; t < n; ++t) {
        double dot = 0;
        for (int i = 0; i < hd; ++i)
          dot += double(q[size_t(h) * hd + i]) * k_held[size_t(t) * kv + base + i];
        p[size_t(t)] = dot / std::sqrt(double(hd));
      }
      const double max = *std::max_element(p.begin(), p.end());
      double sum = 0;
      for (double& x : p) sum += (x = std::exp(x - max));
      for (int t = 0; t < n; ++t)
        for (int i = 0; i < hd; ++i)
          out[size_t(h) * hd + i] += p[size_t(t)] / sum * v_held[size_t(t) * kv + base + i];
    }
    return out;
  }
};

// How far a stored value may sit from the value written: f32 exactly; f16 half a unit in the
// last place (2^-11 relative); q8_0 half a code step plus the f16 rounding of the block's scale
// (127 codes times 2^-11 of a step), so 0.57 of amax / 127 for the block the value is in.
float StoreTolerance(const FilledCache& f, const std::vector<float>& written, size_t at) {
  if (f.format == Format::kF32) return 0;
  if (f.format == Format::kF16) return std::fabs(written[at]) * 0x1p-11f;
  const size_t first = at / kQ8Block * kQ8Block;  // blocks never straddle heads or positions
  float amax = 0;
  for (size_t i = first; i < first + kQ8Block; ++i) amax = std::max(amax, std::fabs(written[i]));
  return 0.57f * amax / 127;
}

void CheckFormat(Format format, const std::vector<int>& head_dims) {
  std::mt19937 rng(20261207);
  double worst = 0;
  // GQA groups of 1, 2 and 7 query heads per KV head (7: the vector kernels' passes of 4, 2, 1).
  const std::pair<int, int> heads[] = {{2, 2}, {4, 2}, {14, 2}};
  for (auto [q_heads, kv_heads] : heads)
    for (int hd : head_dims)
      for (int n : {1, 7, 9, 32, 45, 100, 203}) {
        FilledCache f(format, q_heads, kv_heads, hd, n, rng);
        const std::string where = std::string(Name(format)) + " heads " + std::to_string(q_heads) +
                                  "/" + std::to_string(kv_heads) + " head_dim " +
                                  std::to_string(hd) + " n " + std::to_string(n);
        for (size_t i = 0; i < f.k_written.size(); ++i) {
          ASSERT_LE(std::fabs(f.k_held[i] - f.k_written[i]), StoreTolerance(f, f.k_written, i))
              << where << " key value " << i;
          ASSERT_LE(std::fabs(f.v_held[i] - f.v_written[i]), StoreTolerance(f, f.v_written, i))
              << where << " value " << i;
        }
        const std::vector<double> want = f.Reference();
        for (AttentionKernels k : {AttentionKernels::kBest, AttentionKernels::kPlain}) {
          const std::vector<float> got = f.Attend(k);
          for (size_t i = 0; i < want.size(); ++i) {
            const double gap = std::fabs(got[i] - want[i]);
            worst = std::max(worst, gap);
            // Float sums of up to 203 terms, exp to float rounding: 2.4e-7 measured at worst.
            ASSERT_LE(gap, 2e-6) << where << (k == AttentionKernels::kBest ? " vector" : " plain")
                                 << " kernels, output " << i;
          }
        }
      }
  ::testing::Test::RecordProperty("worst_gap", std::to_string(worst));
  std::printf("%s: worst gap to the double reference %.2e\n", Name(format), worst);
}

TEST(Attention, Float32CacheMatchesTheDoubleReference) {
  CheckFormat(Format::kF32, {8, 12, 40, 64, 128});
}

TEST(Attention, Float16CacheMatchesTheDoubleReferenceOfWhatItHolds) {
  CheckFormat(Format::kF16, {8, 12, 40, 64, 128});
}

TEST(Attention, Q8CacheMatchesTheDoubleReferenceOfWhatItHolds) {
  CheckFormat(Format::kQ8, {32, 64, 96, 128});
}

// The feed-forward gate over gates from -100 to 100 (both clamps of the exponential) and a count
// that leaves a scalar tail after the eight-value spans: silu(g) * u within the exponential's
// polynomial error of the double formula.
TEST(SwiGlu, MatchesTheDoubleFormulaAcrossTheExponentialsRange) {
  const int n = 1003;
  std::vector<float> gate(n), up(n), out(n);
  for (int i = 0; i < n; ++i) {
    gate[size_t(i)] = -100.0f + 200.0f * float(i) / float(n - 1);
    up[size_t(i)] = 0.5f + float(i % 7) * 0.25f;
  }
  SwiGlu(gate.data(), up.data(), n, out.data());
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    const double g = gate[size_t(i)];
    const double want = g / (1.0 + std::exp(-g)) * up[size_t(i)];
    const double gap = std::abs(out[size_t(i)] - want) / (std::abs(want) + 1e-30);
    // Below g = -87 the exponential is clamped: the result is still a vanishing negative number.
    if (g < -87.0) {
      EXPECT_LE(out[size_t(i)], 0.0f) << "gate " << g;
      EXPECT_GT(out[size_t(i)], -1e-30f) << "gate " << g;
      continue;
    }
    worst = std::max(worst, gap);
    EXPECT_LT(gap, 2e-6) << "gate " << g << ": " << out[size_t(i)] << " against " << want;
  }
  std::printf("SwiGlu: worst relative gap to the double formula %.2e\n", worst);
}

}  // namespace
}  // namespace refinery::llm
