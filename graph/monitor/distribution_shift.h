// Distribution-shift statistics for drift detection (graph/monitor/drift_tracker.h): how far a
// current sample of a metric has moved from a baseline sample.
#pragma once

#include <vector>

namespace refinery::monitor {

// Population Stability Index over `bins` bins cut at the baseline's quantiles (so each bin holds
// about the same share of the baseline), shares floored at 1e-4 so an empty bin does not give
// infinity. Conventional reading: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift.
// Ties in the baseline merge bins (a constant baseline has one edge: "at or below it" / "above").
double PopulationStabilityIndex(std::vector<double> baseline, const std::vector<double>& current,
                                int bins = 10);

// Two-sample Kolmogorov-Smirnov statistic: the largest distance between the two empirical
// distribution functions, in [0, 1]. Ties are handled by stepping past every equal value at once.
double KolmogorovSmirnov(std::vector<double> a, std::vector<double> b);

// The same on samples already sorted ascending (a drift tracker sorts its baseline once).
double PopulationStabilityIndexSorted(const std::vector<double>& sorted_baseline,
                                      const std::vector<double>& current, int bins);
double KolmogorovSmirnovSorted(const std::vector<double>& sorted_a,
                               const std::vector<double>& sorted_b);

}  // namespace refinery::monitor
