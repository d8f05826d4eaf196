// Engine: the embedding API. Load a pipeline, submit requests, get one Result per request, read
// live stats, drain and shut down.
//
//   auto engine = refinery::Engine::FromFile("pipelines/clean-text.yaml");
//   if (!engine.ok()) { std::cerr << engine.status().message(); return 2; }
//   std::future<refinery::Result> f = (*engine)->Submit({.id = "1", .fields = {{"text", doc}}});
//   refinery::Result r = f.get();                  // r.ok, r.fields, r.trace, r.latency_ms
//
//   // Streaming: a callback per result; Submit blocks while max_in_flight items are live.
//   for (auto& req : requests) (*engine)->Submit(std::move(req), [&](refinery::Result&& r) { ...
//   });
//   (*engine)->Drain();                            // every submitted request has its result
//
// Guarantees:
// - Exactly one Result per accepted request: successes and failures (node id + message) alike;
//   Drain() checks items in == results out.
// - Memory is bounded: at most max_in_flight requests are live inside the engine; Submit waits,
//   and Run reads the next request only when there is room.
// - One failing item never affects others.
//
// Thread safety: Submit, Stats, Drain may be called from any thread concurrently. Result
// callbacks run on graph threads (concurrently unless EngineOptions::ordered); they must not
// block for long, and must not call Submit (a full engine would wait on itself).
//
// Threads: each engine runs its graph in its own tbb::task_arena of EngineOptions::threads
// slots, all for workers: submitting threads only enqueue work and wait at the admission gate,
// they never run node bodies. So that oneTBB's pool can supply that many workers even when it
// equals the core count, the engine holds a tbb::global_control(max_allowed_parallelism,
// threads + 1) while it lives; a more restrictive global_control set by the host wins.
#pragma once

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "graph/monitor/monitor.h"
#include "graph/request.h"
#include "graph/runtime/admission_gate.h"
#include "graph/runtime/cache.h"
#include "graph/runtime/compiler.h"
#include "graph/spec/pipeline_loader.h"
#include "graph/spec/pipeline_spec.h"
#include "graph/stats/latency_histogram.h"
#include "graph/stats/metric_aggregate.h"
#include "graph/status.h"

namespace refinery {

struct EngineOptions {
  bool ordered = false;  // deliver results in submission order (bounded by max_in_flight)
  int threads = 0;       // worker threads for this engine's graph; 0 = one per core
  // Per-type accounting, thresholds, anomalies, drift and alert sinks (graph/monitor). FromFile
  // and FromString take it from the runtime config's `monitoring:` when that has one.
  MonitorConfig monitoring;
};

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

using ResultCallback = std::function<void(Result&&)>;

class Engine {
 public:
  static StatusOr<std::unique_ptr<Engine>> Create(PipelineSpec spec, EngineOptions options = {});
  static StatusOr<std::unique_ptr<Engine>> FromFile(const std::string& path,
                                                    const Overrides& overrides = {},
                                                    const RuntimeConfig& config = {},
                                                    EngineOptions options = {});
  static StatusOr<std::unique_ptr<Engine>> FromString(const std::string& yaml,
                                                      const std::string& name = "<string>",
                                                      const Overrides& overrides = {},
                                                      const RuntimeConfig& config = {},
                                                      EngineOptions options = {});
  ~Engine();  // Shutdown(): drains first
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Blocks while max_in_flight requests are live. FailedPrecondition after Shutdown().
  Status Submit(Request request, ResultCallback on_result);
  std::future<Result> Submit(Request request);

  // Pull-mode streaming, for batch jobs (graph-runner uses it): the engine calls `next` from its
  // own threads whenever it has room, so reading is paced by back-pressure and the calling
  // thread works on the graph too. Returns once `next` returned false (or StopAccepting() was
  // called) and every request read has its result. Submit() fails while a Run() is in progress;
  // one Run() at a time.
  Status Run(const RequestSource& next, ResultCallback on_result);

  // Waits until every request submitted so far has its result.
  void Drain();
  // Stops accepting requests (Submit fails, a blocked Submit returns), then drains.
  void Shutdown();
  // Unblocks submitters and refuses new requests without waiting (for signal handlers' threads).
  void StopAccepting();

  EngineStats Stats() const;
  const PipelineSpec& spec() const { return spec_; }
  int threads() const { return options_.threads; }
  void ClearCaches();
  // The monitor, to add alert sinks or save drift baselines.
  monitor::Monitor& monitor() { return *monitor_; }

 private:
  Engine(PipelineSpec spec, EngineOptions options);
  void Finish(const ItemPtr& item);
  ItemPtr MakeItem(Request&& request, ResultCallback on_result,
                   const ResultCallback* shared_callback = nullptr);

  PipelineSpec spec_;
  EngineOptions options_;
  AdmissionGate gate_;
  std::unique_ptr<tbb::global_control> parallelism_;
  std::unique_ptr<tbb::task_arena> arena_;
  std::unique_ptr<FlowGraph> graph_;  // declared after the arena: destroyed before it
  std::atomic<uint64_t> next_seq_{0};
  std::atomic<int64_t> submitted_{0};
  std::atomic<int64_t> completed_{0};
  std::atomic<int64_t> failed_{0};
  std::atomic<bool> accepting_{true};
  std::atomic<bool> streaming_{false};
  std::mutex run_mu_;
  std::atomic<int> drainers_{0};
  std::mutex drain_mu_;
  std::condition_variable drain_cv_;
  std::mutex submit_mu_;  // serialises seq assignment with Put in ordered mode
  LatencyHistogram request_latency_;
  std::unique_ptr<MetricAggregator> metrics_;
  std::unique_ptr<monitor::Monitor> monitor_;
  struct TokenFields {
    std::string in, out;
    bool saves = false;
  };
  std::vector<TokenFields> token_fields_;  // nodes that count tokens, in execution order
  void Observe(const Result& r);
  const double nanos_per_tick_;
  Clock::time_point created_ = Clock::now();
  uint64_t created_ticks_ = 0;  // internal::CycleClock at creation (the monitor's time axis)
};

}  // namespace refinery
