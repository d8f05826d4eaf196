// Run-level aggregates of per-result numbers (ROUGE F1, composite scores, tokens saved): the mean
// and a bootstrap confidence interval with rouge-score's BootstrapAggregator semantics: resample
// the results with replacement `samples` times, take each resample's mean, and report the
// 2.5th / 50th / 97.5th percentiles of those means (numpy's linear interpolation) for 95%.
//
// Nodes name the fields worth aggregating in FieldIo::metrics; the engine records every
// successful result's values. Memory is bounded: the exact mean and count use running sums, and
// the bootstrap draws from a uniform reservoir sample of at most `reservoir` values per metric
// (exact for runs up to that size).
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "graph/item.h"
#include "graph/stats.h"

namespace refinery {

struct BootstrapInterval {
  double low = 0, mid = 0, high = 0;
};

// Deterministic for a given seed.
BootstrapInterval BootstrapMean(const std::vector<double>& values, int samples = 1000,
                                double confidence = 0.95, uint64_t seed = 0);

class MetricAggregator {
 public:
  explicit MetricAggregator(std::vector<std::string> names, size_t reservoir = 10000);
  void Record(const FieldMap& fields);  // thread-safe
  // With `intervals`, each mean's bootstrap interval (1000 resamples of up to `reservoir`
  // values: tens of ms for a scoring pipeline); without, count and mean only, in O(metrics).
  std::vector<MetricSummary> Summaries(bool intervals = true) const;
  bool empty() const { return slots_.empty(); }

 private:
  struct Slot {
    std::string name;
    int64_t count = 0;
    double sum = 0;
    std::vector<double> sample;
  };
  size_t reservoir_;
  mutable std::mutex mu_;
  std::vector<Slot> slots_;
  std::mt19937_64 rng_{12345};
};

}  // namespace refinery
