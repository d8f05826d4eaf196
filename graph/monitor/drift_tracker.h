// DriftTracker: one metric of one request type against its baseline. The baseline is the first
// `baseline` values seen (or values loaded from an earlier run's baseline file); the current
// sample is the last `window` values. Once both are full, every window/10 new values it measures
// PSI and the KS statistic between them and says whether the metric drifted (both above their
// limits). Memory is fixed: baseline + window values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "graph/monitor/rolling_window.h"
#include "graph/monitor_config.h"
#include "graph/stats.h"

namespace refinery::monitor {

class DriftTracker {
 public:
  DriftTracker(std::string metric, const DriftSpec& spec, std::vector<double> saved_baseline = {});
  // Adds a value; returns the state when this value changed `drifting` (to alert on), else nullopt.
  std::optional<DriftState> Add(double value);
  DriftState State() const { return state_; }
  const std::vector<double>& baseline() const { return baseline_; }
  bool baseline_complete() const { return int64_t(baseline_.size()) >= spec_.baseline; }

 private:
  void Measure();
  DriftSpec spec_;
  std::vector<double> baseline_;
  std::vector<double> sorted_baseline_;  // once complete
  RollingWindow current_;
  int64_t since_measure_ = 0;
  DriftState state_;
};

}  // namespace refinery::monitor
