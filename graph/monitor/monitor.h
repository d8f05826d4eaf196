// Monitor: the engine's real-time view per request type - latency and refinement-pass
// histograms, iterations, tokens in/out/saved over time - plus the rules that raise alerts
// (thresholds from configs/, EWMA anomalies, drift against a baseline) and the sinks alerts go
// to. The engine feeds it one Observation per result; Snapshot() is what the run report, the
// Prometheus endpoint and the HTML report read. docs/monitoring.md.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "graph/monitor/alert.h"
#include "graph/monitor/type_monitor.h"
#include "graph/monitor_config.h"
#include "graph/stats.h"
#include "graph/status.h"

namespace refinery::monitor {

// Where requests of types beyond MonitorConfig::max_types are counted.
inline constexpr std::string_view kOtherTypes = "(other)";

class Monitor {
 public:
  // Opens the alert sinks and loads the drift baseline file named in the config.
  static StatusOr<std::unique_ptr<Monitor>> Create(MonitorConfig config, std::string pipeline);
  ~Monitor();

  // Thread-safe. The engine passes o.at_seconds from the TSC it already read for the request's
  // latency (clock_gettime per result measured ~9% of the framework-only chain's time).
  void Observe(Observation o);
  MonitorSnapshot Snapshot() const;
  // Writes every type's complete drift baselines (for `drift.baseline_file` in a later run).
  Status SaveBaselines(const std::string& path) const;
  void AddSink(std::unique_ptr<AlertSink> sink);  // before the first Observe
  // OK unless a sink lost alerts it had to keep (the first such sink's error).
  Status SinkStatus() const;
  const MonitorConfig& config() const { return config_; }

 private:
  Monitor(MonitorConfig config, std::string pipeline);
  TypeMonitor& ForType(std::string_view type);
  void Publish(std::vector<Alert>& alerts);

  const MonitorConfig config_;
  const std::string pipeline_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::map<std::string, std::map<std::string, std::vector<double>>>
      saved_baselines_;  // type -> metric
  mutable std::shared_mutex types_mu_;
  std::map<std::string, std::unique_ptr<TypeMonitor>, std::less<>> types_;
  std::vector<std::unique_ptr<AlertSink>> sinks_;
  mutable std::mutex alerts_mu_;
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> alert_counts_;
  std::deque<Alert> recent_alerts_;
  int64_t alerts_firing_ = 0;
};

}  // namespace refinery::monitor
