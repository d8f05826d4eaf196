// Stats (public): the snapshots an embedder reads from Engine::Stats() - requests, per-node
// latency, caches and queues, run-level metrics, and the monitor's per-type accounting, alerts and
// drift. Plain data, copied out under the engine's locks; reading them never blocks the graph.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/monitor_config.h"

namespace refinery {

// Latency over every observation (log-linear histogram, within 6.25%), in microseconds.
struct LatencySummary {
  int64_t count = 0;
  double mean_us = 0;
  double p50_us = 0;
  double p95_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

// The `le` bounds (seconds) refinery exports latency histograms with: 50 us to 60 s.
const std::vector<double>& LatencyBucketBounds();

// A node's output cache (`cache:`).
struct CacheStats {
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t evictions = 0;
  int64_t expirations = 0;
  int64_t entries = 0;
  int64_t bytes = 0;
};

// Why a waiting room released a batch; WaitingRoomStats::flushes is indexed by it.
enum class FlushReason { kFull, kTokens, kDelay, kDrain };
const char* FlushReasonName(FlushReason r);

// A node's waiting room (`queue:`): order, batching, deadlines, adaptation.
struct WaitingRoomStats {
  std::string order;  // fifo | priority
  int64_t arrived = 0;
  int64_t waiting = 0;  // now
  int64_t peak_waiting = 0;
  int64_t expired = 0;  // failed by their deadline while waiting
  int64_t batches = 0;
  int64_t batched_items = 0;
  std::vector<int64_t> batch_sizes;   // [n] = batches of n items (index 0 unused)
  int64_t flushes[4] = {0, 0, 0, 0};  // by FlushReason
  double wait_ms_sum = 0;             // arrival to batch start, over batched items
  double max_wait_ms = 0;
  // Batch settings now (they move when adapt is on) and the adaptation's record.
  int max_items = 1;
  double max_delay_ms = 0;
  bool adapt = false;
  int64_t adapt_grow = 0, adapt_shrink = 0, adapt_fits = 0;  // fits: max_items cut to the arrivals
  double last_window_p95_ms = 0;  // p95 time at the node over the last adaptation window
};

// A numeric field (FieldIo::metrics) over successful results: mean and bootstrap interval.
// How much Engine::Stats computes: everything (reports), or what a live view needs.
enum class StatsDetail { kFull, kLive };

struct MetricSummary {
  std::string name;
  int64_t count = 0;
  double mean = 0;
  double low = 0;  // bootstrap interval of the mean
  double mid = 0;
  double high = 0;
};

namespace monitor {

inline constexpr int kIterationSlots = 32;  // iterations 1..31, then "32 or more"

// One window of a request type's over-time counts.
struct TrendPoint {
  double start_seconds = 0;  // since the series began
  double seconds = 0;        // window length
  int64_t completed = 0;
  int64_t failed = 0;
  int64_t tokens_in = 0;
  int64_t tokens_out = 0;
  double latency_ms_sum = 0;
};

// One drift metric of a request type: baseline against the current window.
struct DriftState {
  std::string metric;
  int64_t baseline_count = 0;
  int64_t current_count = 0;
  double baseline_mean = 0;
  double current_mean = 0;
  double psi = 0;
  double ks = 0;
  bool measured = false;  // both samples complete and compared at least once
  bool drifting = false;
};

// Everything the monitor keeps for one request type.
struct TypeSnapshot {
  std::string type;
  int64_t requests = 0;
  int64_t failed = 0;
  LatencySummary latency;
  std::vector<int64_t> latency_buckets;  // cumulative, at LatencyBucketBounds()
  LatencySummary pass_latency;
  std::vector<int64_t> pass_buckets;
  std::vector<int64_t> iterations;  // [i] = requests that took i + 1 passes
  double tokens_in = 0;
  double tokens_out = 0;
  double tokens_saved = 0;
  double cost = 0;  // summed from the fields nodes declare as their cost (FieldIo::cost)
  ThresholdSpec thresholds;
  std::vector<TrendPoint> trend;
  std::vector<DriftState> drift;
};

// A threshold, anomaly or drift alert, as the sinks receive it.
struct Alert {
  std::string time;  // UTC, RFC 3339 with milliseconds
  std::string pipeline;
  std::string type;   // request type ("" when requests carry none)
  std::string kind;   // "threshold", "anomaly" or "drift"
  std::string rule;   // e.g. latency_p95_ms, error_rate, latency_ms, score.total
  std::string state;  // "firing", or "resolved" when the value is back within the limit
  double value = 0;
  double limit = 0;
  int64_t results = 0;  // results of this type seen when it was raised
  std::string message;  // one sentence for a person
  std::string ToJson() const;
};

struct AlertCount {
  std::string kind, rule, type;
  int64_t firing = 0;  // times it fired (resolutions are not counted)
};

struct MonitorSnapshot {
  bool enabled = false;
  std::vector<TypeSnapshot> types;  // by type name
  std::vector<AlertCount> alert_counts;
  std::vector<Alert> recent_alerts;  // the last 200, oldest first
  int64_t alerts_firing_total = 0;
};

}  // namespace monitor

struct NodeStatsSnapshot {
  std::string id;
  std::string type;
  std::string concurrency;
  int64_t items = 0;  // bodies finished (ok, error, or cache hit)
  int64_t errors = 0;
  int64_t waiting = 0;  // handed to the node and not finished (queued or running)
  double busy_seconds = 0;
  LatencySummary latency;
  std::vector<int64_t> latency_buckets;  // cumulative at LatencyBucketBounds()
  std::vector<std::string> inputs;       // upstream node ids
  bool cache_enabled = false;
  CacheStats cache;
  std::optional<WaitingRoomStats> queue;  // the node's waiting room (`queue:`), if it has one
};

struct EngineStats {
  int64_t submitted = 0;
  int64_t completed = 0;  // succeeded + failed
  int64_t succeeded = 0;
  int64_t failed = 0;
  int64_t in_flight = 0;
  int64_t peak_in_flight = 0;
  int64_t max_in_flight = 0;
  double elapsed_seconds = 0;  // since the engine was created
  LatencySummary request_latency;
  std::vector<NodeStatsSnapshot> nodes;  // in execution order
  std::vector<MetricSummary> metrics;    // FieldIo::metrics of the nodes, over successful results
  monitor::MonitorSnapshot monitor;      // per request type, alerts, drift
};

}  // namespace refinery
