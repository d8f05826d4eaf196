// TypeMonitor: everything the monitor keeps for one request type - counts, latency and pass
// histograms, iterations, tokens, trend windows, threshold windows, anomaly detectors and drift
// trackers - and the rules that turn them into alerts. One mutex per type: types never contend.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "graph/item.h"
#include "graph/monitor/alert.h"
#include "graph/monitor/drift_tracker.h"
#include "graph/monitor/ewma_detector.h"
#include "graph/monitor/rolling_window.h"
#include "graph/monitor/trend_series.h"
#include "graph/monitor_config.h"
#include "graph/stats.h"
#include "graph/stats/latency_histogram.h"

namespace refinery::monitor {

// One finished request as the monitor sees it.
struct Observation {
  std::string_view type;
  bool ok = true;
  double latency_ms = 0;
  int iterations = 1;
  const std::vector<double>* pass_ms = nullptr;  // per refinement pass (empty without a loop)
  bool has_tokens = false;                       // some node counted tokens
  double tokens_in = 0;                          // at the first node that counts them
  double tokens_out = 0;                         // at the last
  double tokens_saved = 0;                       // summed over compressing nodes
  double cost = 0;                               // summed over nodes that declare one
  const FieldMap* fields = nullptr;              // for drift metrics
  double at_seconds = -1;  // since the monitor started; < 0: Observe reads the clock
};

class TypeMonitor {
 public:
  TypeMonitor(std::string type, const MonitorConfig& config,
              const std::map<std::string, std::vector<double>>& saved_baselines);
  // Records the observation; returns the alerts it raised or resolved (the caller publishes them).
  std::vector<Alert> Observe(const Observation& o);
  TypeSnapshot Snapshot() const;
  std::map<std::string, std::vector<double>> Baselines() const;

 private:
  void CheckThresholds(std::vector<Alert>& out);
  void Transition(const std::string& kind, const std::string& rule, bool broken, double value,
                  double limit, const std::string& message, std::vector<Alert>& out);
  std::optional<double> MetricValue(const std::string& metric, const Observation& o) const;

  const std::string type_;
  const MonitorConfig& config_;
  const ThresholdSpec thresholds_;
  mutable std::mutex mu_;
  int64_t requests_ = 0;
  int64_t failed_ = 0;
  LatencyHistogram latency_;
  LatencyHistogram pass_latency_;
  std::vector<int64_t> iterations_ = std::vector<int64_t>(kIterationSlots, 0);
  double tokens_in_ = 0, tokens_out_ = 0, tokens_saved_ = 0, cost_ = 0;
  TrendSeries trend_;
  RollingWindow recent_latency_, recent_pass_, recent_errors_, recent_tokens_;
  int64_t since_check_ = 0;
  std::map<std::string, EwmaDetector> anomaly_;
  std::map<std::string, int64_t>
      anomaly_quiet_until_;  // request count before which an anomaly is not re-raised
  std::map<std::string, int64_t> anomaly_run_;  // anomalous results in a row, per metric
  std::vector<DriftTracker> drift_;
  std::map<std::string, bool> firing_;  // by kind/rule
};

}  // namespace refinery::monitor
