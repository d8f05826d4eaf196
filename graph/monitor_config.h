// MonitorConfig (public): the `monitoring:` section of a runtime config (configs/*.yaml):
// thresholds per request type, anomaly detection, drift detection and where alerts go.
// docs/monitoring.md.
//
//   monitoring:
//     window: 100                 # recent requests per type that thresholds are checked over
//     alerts: {file: alerts.jsonl, webhook: "http://127.0.0.1:9093/hook"}
//     thresholds:
//       default: {error_rate: 0.05}
//       types:
//         news: {latency_p95_ms: 250, cycle_p95_ms: 80, token_budget: 300}
//     anomaly: {z: 4, alpha: 0.05, warmup: 30}
//     drift: {metrics: [score.total, tokens_out], baseline: 200, window: 200, psi: 0.25, ks: 0.3}
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace refinery {

// Limits for one request type; an unset limit is not checked.
struct ThresholdSpec {
  std::optional<double> latency_p95_ms;  // p95 of request latency over the window
  std::optional<double> cycle_p95_ms;    // p95 of refinement-pass latency over the window
  std::optional<double> error_rate;      // failed share of the window, 0..1
  std::optional<double> token_budget;    // mean tokens out per request over the window
  // This type's limits, with unset ones taken from `defaults`.
  ThresholdSpec Over(const ThresholdSpec& defaults) const;
  bool empty() const { return !latency_p95_ms && !cycle_p95_ms && !error_rate && !token_budget; }
};

// A jump from recent behaviour: |z| of the EWMA detector above `z` for `consecutive` results in a
// row (one slow request among many is a tail, not a jump).
struct AnomalySpec {
  bool enabled = false;
  double z = 4;
  double alpha = 0.05;
  int64_t warmup = 30;
  int64_t consecutive = 3;
  std::vector<std::string> metrics = {"latency_ms", "tokens_out"};
};

struct DriftSpec {
  bool enabled = false;
  // Numeric result fields (e.g. score.total) or the built-ins tokens_out, tokens_in, latency_ms.
  std::vector<std::string> metrics = {"tokens_out"};
  int64_t baseline = 200;     // the first N values per type form the baseline...
  std::string baseline_file;  // ...unless loaded from a file saved by an earlier run
  std::string save_baseline;  // write this run's baselines here at the end
  int64_t window = 200;       // current sample: the last N values
  double psi = 0.25;          // drifting when PSI exceeds this...
  double ks = 0.25;           // ...and the KS statistic exceeds this too
  int bins = 10;
};

struct AlertSinkSpec {
  std::string file;     // JSON Lines, appended
  std::string webhook;  // http://host:port/path: each alert POSTed as JSON
  double webhook_timeout_seconds = 2;
};

struct MonitorConfig {
  bool enabled = true;  // false: no per-type accounting, alerts or drift (engine counters stay)
  int64_t window = 100;
  int64_t min_requests = 20;  // thresholds are not checked on fewer requests of a type
  // Distinct request types tracked; later new types share one "(other)" entry, so memory stays
  // bounded whatever the input says its types are.
  int64_t max_types = 1000;
  double trend_seconds = 0.25;  // first width of the over-time windows (they widen on long runs)
  ThresholdSpec default_thresholds;
  std::map<std::string, ThresholdSpec> type_thresholds;
  AnomalySpec anomaly;
  DriftSpec drift;
  AlertSinkSpec alerts;
  ThresholdSpec ThresholdsFor(const std::string& type) const;
};

}  // namespace refinery
