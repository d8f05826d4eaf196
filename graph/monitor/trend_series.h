// TrendSeries: counts per time window over a whole run in bounded memory. Windows start at
// `window_seconds`; when `max_windows` are full, neighbours are merged pairwise and the window
// doubles, so a day-long run keeps the same number of points as a minute-long one. Not
// thread-safe: the owner (Monitor) serialises access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "graph/stats.h"

namespace refinery::monitor {

class TrendSeries {
 public:
  explicit TrendSeries(double window_seconds = 1.0, size_t max_windows = 240);
  // `at_seconds`: time since the series began (callers pass one clock for every series).
  void Add(double at_seconds, bool ok, int64_t tokens_in, int64_t tokens_out, double latency_ms);
  std::vector<TrendPoint> Points() const;  // oldest first, empty windows included
  double window_seconds() const { return window_; }

 private:
  void Coarsen();
  double window_;
  size_t max_windows_;
  std::vector<TrendPoint> points_;  // points_[i] covers [i * window_, (i + 1) * window_)
};

}  // namespace refinery::monitor
