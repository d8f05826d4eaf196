// The monitor's statistics: PSI and KS against hand-computed values, the EWMA detector, the
// rolling window, trend windows that widen in bounded memory, and the drift tracker's cadence.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "graph/monitor/distribution_shift.h"
#include "graph/monitor/drift_tracker.h"
#include "graph/monitor/ewma_detector.h"
#include "graph/monitor/rolling_window.h"
#include "graph/monitor/trend_series.h"

namespace refinery::monitor {
namespace {

std::vector<double> Range(int from, int to, int repeat = 1) {
  std::vector<double> v;
  for (int r = 0; r < repeat; ++r) {
    for (int i = from; i < to; ++i) v.push_back(i);
  }
  return v;
}

TEST(PopulationStabilityIndex, SameDistributionIsZero) {
  EXPECT_NEAR(PopulationStabilityIndex(Range(0, 100), Range(0, 100)), 0, 1e-12);
  // Same shape, different sample: tiny.
  std::vector<double> a, b;
  std::mt19937 rng(7);
  std::normal_distribution<double> n(10, 2);
  for (int i = 0; i < 5000; ++i) a.push_back(n(rng)), b.push_back(n(rng));
  EXPECT_LT(PopulationStabilityIndex(a, b), 0.02);
}

TEST(PopulationStabilityIndex, HandComputedShift) {
  // Baseline 0..99 in deciles (0.1 each); current fills the lower five deciles twice (0.2 each),
  // the upper five are empty (floored at 1e-4):
  // 5 * 0.1 * ln 2 + 5 * (1e-4 - 0.1) * ln(1e-4 / 0.1) = 0.346574 + 3.450424.
  EXPECT_NEAR(PopulationStabilityIndex(Range(0, 100), Range(0, 50, 2)), 3.796998, 1e-5);
}

TEST(PopulationStabilityIndex, ConstantBaselineSplitsAtThatValue) {
  const std::vector<double> flat(100, 5.0);
  EXPECT_NEAR(PopulationStabilityIndex(flat, flat), 0, 1e-12);
  // Half above the constant: bins "<= 5" (1 vs 0.5) and "> 5" (1e-4 vs 0.5).
  std::vector<double> half(50, 5.0);
  half.insert(half.end(), 50, 9.0);
  const double expected = (0.5 - 1) * std::log(0.5 / 1) + (0.5 - 1e-4) * std::log(0.5 / 1e-4);
  EXPECT_NEAR(PopulationStabilityIndex(flat, half), expected, 1e-9);
}

TEST(KolmogorovSmirnov, HandComputed) {
  EXPECT_DOUBLE_EQ(KolmogorovSmirnov({1, 2, 3, 4}, {3, 4, 5, 6}), 0.5);
  EXPECT_DOUBLE_EQ(KolmogorovSmirnov({1, 2}, {3, 4}), 1.0);
  EXPECT_DOUBLE_EQ(KolmogorovSmirnov({1, 1, 1, 1}, {1, 1}), 0.0);
  EXPECT_DOUBLE_EQ(KolmogorovSmirnov({0, 0, 1, 1}, {0, 1, 1, 1}), 0.25);  // ties stepped at once
  EXPECT_DOUBLE_EQ(KolmogorovSmirnov({3, 1, 2}, {2, 3, 1}), 0.0);         // order does not matter
}

TEST(EwmaDetector, ScoresOnlyAfterWarmupAndFlagsAJump) {
  EwmaDetector d(0.1, 20);
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(100, 5);
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(d.Score(noise(rng)).has_value());
  double max_z = 0;
  for (int i = 0; i < 200; ++i) max_z = std::max(max_z, std::fabs(*d.Score(noise(rng))));
  EXPECT_LT(max_z, 5);           // steady noise stays within a few sd
  EXPECT_GT(*d.Score(200), 10);  // a jump of 20 sd
}

TEST(EwmaDetector, SteadyStreamHasASpreadFloor) {
  EwmaDetector d(0.1, 5);
  for (int i = 0; i < 50; ++i) d.Score(100);
  EXPECT_NEAR(*d.Score(100.5), 0.5, 1e-9);  // sd floor: 1% of the mean
}

TEST(RollingWindow, KeepsTheLastNAndQuantiles) {
  RollingWindow w(10);
  for (int i = 1; i <= 25; ++i) w.Add(i);
  EXPECT_EQ(w.size(), 10u);
  EXPECT_DOUBLE_EQ(w.Mean(), 20.5);  // 16..25
  EXPECT_DOUBLE_EQ(w.Quantile(0.95), 25);
  EXPECT_DOUBLE_EQ(w.Quantile(0.5), 20);
  EXPECT_DOUBLE_EQ(w.Quantile(0), 16);
}

TEST(TrendSeries, WidensWindowsInsteadOfGrowing) {
  TrendSeries t(1.0, 8);
  for (int s = 0; s < 100; ++s) t.Add(s + 0.5, s % 10 != 0, 10, 4, 2.0);
  const std::vector<TrendPoint> points = t.Points();
  EXPECT_LE(points.size(), 8u);
  EXPECT_DOUBLE_EQ(t.window_seconds(), 16.0);
  int64_t completed = 0, failed = 0, in = 0, out = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    EXPECT_DOUBLE_EQ(points[i].start_seconds, 16.0 * double(i));
    completed += points[i].completed;
    failed += points[i].failed;
    in += points[i].tokens_in;
    out += points[i].tokens_out;
  }
  EXPECT_EQ(completed, 100);  // nothing lost in the merging
  EXPECT_EQ(failed, 10);
  EXPECT_EQ(in, 1000);
  EXPECT_EQ(out, 400);
  EXPECT_EQ(points[0].completed, 16);
}

TEST(DriftTracker, StableThenShiftedThenBack) {
  DriftSpec spec;
  spec.baseline = 200;
  spec.window = 100;
  DriftTracker d("m", spec);
  std::mt19937 rng(3);
  std::normal_distribution<double> before(50, 5), after(80, 5);
  for (int i = 0; i < 2000; ++i) ASSERT_FALSE(d.Add(before(rng)).has_value()) << i;
  EXPECT_TRUE(d.State().measured);
  EXPECT_FALSE(d.State().drifting);
  std::optional<DriftState> changed;
  int at = -1;
  for (int i = 0; i < 100 && !changed; ++i) {
    changed = d.Add(after(rng));
    at = i;
  }
  ASSERT_TRUE(changed.has_value());
  EXPECT_TRUE(changed->drifting);
  EXPECT_LT(at, 50);  // noticed well before the window is all new values
  EXPECT_GT(changed->psi, 0.25);
  EXPECT_NEAR(changed->baseline_mean, 50, 2);
  std::optional<DriftState> back;
  for (int i = 0; i < 300 && !back; ++i) back = d.Add(before(rng));
  ASSERT_TRUE(back.has_value());
  EXPECT_FALSE(back->drifting);
}

TEST(DriftTracker, SavedBaselineIsCompleteAtOnce) {
  DriftSpec spec;
  spec.baseline = 1000;  // ignored: the saved sample is the baseline
  spec.window = 20;
  DriftTracker d("m", spec, Range(0, 30));
  EXPECT_TRUE(d.baseline_complete());
  std::optional<DriftState> changed;
  for (int i = 0; i < 20; ++i) changed = d.Add(100 + i);
  ASSERT_TRUE(changed.has_value());
  EXPECT_TRUE(changed->drifting);
  EXPECT_DOUBLE_EQ(changed->ks, 1.0);
}

}  // namespace
}  // namespace refinery::monitor
