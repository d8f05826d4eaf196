// Run-level metric aggregation: exact means, rouge-score-style bootstrap intervals, bounded memory.
#include "graph/stats/metric_aggregate.h"

#include <gtest/gtest.h>

namespace refinery {
namespace {

TEST(BootstrapMean, ConstantValuesHaveAZeroWidthInterval) {
  const BootstrapInterval ci = BootstrapMean(std::vector<double>(50, 0.25));
  EXPECT_DOUBLE_EQ(ci.low, 0.25);
  EXPECT_DOUBLE_EQ(ci.mid, 0.25);
  EXPECT_DOUBLE_EQ(ci.high, 0.25);
}

TEST(BootstrapMean, IntervalIsDeterministicAndAboutTwoStandardErrors) {
  std::vector<double> v;
  for (int i = 0; i < 400; ++i) v.push_back(i % 2);  // mean 0.5, sd 0.5, se 0.025
  const BootstrapInterval a = BootstrapMean(v, 1000, 0.95, 7), b = BootstrapMean(v, 1000, 0.95, 7);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  EXPECT_NEAR(a.mid, 0.5, 0.01);
  EXPECT_NEAR(a.high - a.low, 2 * 1.96 * 0.025, 0.02);
}

TEST(MetricAggregator, ExactMeanAndBoundedSample) {
  MetricAggregator agg({"x", "y", "x"}, /*reservoir=*/100);
  for (int i = 0; i < 10'000; ++i) {
    FieldMap f;
    f["x"] = double(i);
    if (i % 2) f["y"] = std::string("text is ignored");
    agg.Record(f);
  }
  const auto s = agg.Summaries();
  ASSERT_EQ(s.size(), 1u);  // "y" never had a number; "x" declared twice counts once
  EXPECT_EQ(s[0].name, "x");
  EXPECT_EQ(s[0].count, 10'000);
  EXPECT_DOUBLE_EQ(s[0].mean, 4999.5);
  // The interval comes from a uniform sample of 100 values: wide, but around the mean.
  EXPECT_LT(s[0].low, 4999.5 + 1500);
  EXPECT_GT(s[0].high, 4999.5 - 1500);
}

TEST(MetricAggregator, LiveSummariesHaveTheExactMeanWithoutResampling) {
  MetricAggregator agg({"x"}, /*reservoir=*/100);
  for (int i = 0; i < 1000; ++i) agg.Record(FieldMap{{"x", double(i % 10)}});
  const auto live = agg.Summaries(/*intervals=*/false);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].count, 1000);
  EXPECT_DOUBLE_EQ(live[0].mean, 4.5);
  // No bootstrap: the interval collapses onto the mean (a sampled one would be wider).
  EXPECT_DOUBLE_EQ(live[0].low, 4.5);
  EXPECT_DOUBLE_EQ(live[0].high, 4.5);
  const auto full = agg.Summaries();
  EXPECT_DOUBLE_EQ(full[0].mean, 4.5);
  EXPECT_LT(full[0].low, full[0].high);
}

}  // namespace
}  // namespace refinery
