#include "graph/stats/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace refinery {
namespace {

TEST(LatencyHistogram, BucketsCoverEveryValueWithinSixPercent) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    uint64_t v = (rng() >> 2) >> (rng() % 60);  // recorded values are int64 nanoseconds
    int b = LatencyHistogram::BucketOf(v);
    ASSERT_GE(LatencyHistogram::BucketUpper(b), int64_t(v));
    if (v >= 16) {
      ASSERT_LE(LatencyHistogram::BucketUpper(b), int64_t(v * 1.0625) + 1);
    }
    if (b > 0) {
      ASSERT_LT(LatencyHistogram::BucketUpper(b - 1), int64_t(v));
    }
  }
}

TEST(LatencyHistogram, QuantilesMatchExactOnes) {
  LatencyHistogram h;
  std::mt19937 rng(7);
  std::lognormal_distribution<double> dist(10, 1.5);
  std::vector<int64_t> values;
  for (int i = 0; i < 50000; ++i) {
    values.push_back(int64_t(dist(rng)));
    h.Record(values.back());
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.95, 0.99}) {
    int64_t exact = values[size_t(q * values.size()) - 1];
    EXPECT_NEAR(double(h.Quantile(q)), double(exact), exact * 0.07 + 1) << q;
  }
  LatencySummary s = h.Summary();
  EXPECT_EQ(s.count, 50000);
  EXPECT_DOUBLE_EQ(s.max_us, values.back() / 1e3);
}

TEST(LatencyHistogram, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.Summary().count, 0);
  EXPECT_EQ(h.Quantile(0.99), 0);
}

}  // namespace
}  // namespace refinery
