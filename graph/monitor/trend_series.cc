#include "graph/monitor/trend_series.h"

#include <algorithm>

namespace refinery::monitor {

TrendSeries::TrendSeries(double window_seconds, size_t max_windows)
    : window_(window_seconds > 0 ? window_seconds : 1.0),
      max_windows_(std::max<size_t>(2, max_windows & ~size_t{1})) {}

void TrendSeries::Add(double at_seconds, bool ok, int64_t tokens_in, int64_t tokens_out,
                      double latency_ms) {
  while (at_seconds / window_ >= double(max_windows_)) Coarsen();
  const size_t i = at_seconds <= 0 ? 0 : size_t(at_seconds / window_);
  while (points_.size() <= i) points_.push_back(TrendPoint{});
  TrendPoint& p = points_[i];
  p.completed += 1;
  p.failed += ok ? 0 : 1;
  p.tokens_in += tokens_in;
  p.tokens_out += tokens_out;
  p.latency_ms_sum += latency_ms;
}

void TrendSeries::Coarsen() {
  std::vector<TrendPoint> merged((points_.size() + 1) / 2);
  for (size_t i = 0; i < points_.size(); ++i) {
    TrendPoint& m = merged[i / 2];
    const TrendPoint& p = points_[i];
    m.completed += p.completed;
    m.failed += p.failed;
    m.tokens_in += p.tokens_in;
    m.tokens_out += p.tokens_out;
    m.latency_ms_sum += p.latency_ms_sum;
  }
  points_ = std::move(merged);
  window_ *= 2;
}

std::vector<TrendPoint> TrendSeries::Points() const {
  std::vector<TrendPoint> out = points_;
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].start_seconds = i * window_;
    out[i].seconds = window_;
  }
  return out;
}

}  // namespace refinery::monitor
