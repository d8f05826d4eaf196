// Engine (public): the embedding API. Load a pipeline, submit requests, get one Result per request,
// read live stats, drain and shut down.
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

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "graph/monitor_config.h"
#include "graph/request.h"
#include "graph/runtime_config.h"
#include "graph/stats.h"
#include "graph/status.h"

namespace refinery {

struct PipelineSpec;  // graph/spec/pipeline_spec.h: the validated pipeline, for tools
class EngineCore;     // graph/runtime/engine_core.h: what Engine forwards to
namespace monitor {
class Monitor;  // graph/monitor/monitor.h
}

struct EngineOptions {
  bool ordered = false;  // deliver results in submission order (bounded by max_in_flight)
  int threads = 0;       // worker threads for this engine's graph; 0 = one per core
  // Per-type accounting, thresholds, anomalies, drift and alert sinks (docs/monitoring.md).
  // FromFile and FromString take it from the runtime config's `monitoring:` when that has one.
  MonitorConfig monitoring;
};

using ResultCallback = std::function<void(Result&&)>;

class Engine {
 public:
  // Loads and validates a pipeline file (every mistake reported, file:line:col each), applies the
  // overrides and the runtime config, builds every node, and compiles the graph.
  static StatusOr<std::unique_ptr<Engine>> FromFile(const std::string& path,
                                                    const Overrides& overrides = {},
                                                    const RuntimeConfig& config = {},
                                                    EngineOptions options = {});
  static StatusOr<std::unique_ptr<Engine>> FromString(const std::string& yaml,
                                                      const std::string& name = "<string>",
                                                      const Overrides& overrides = {},
                                                      const RuntimeConfig& config = {},
                                                      EngineOptions options = {});
  // From a pipeline already loaded with LoadPipelineFile (graph/spec/pipeline_loader.h).
  static StatusOr<std::unique_ptr<Engine>> Create(PipelineSpec spec, EngineOptions options = {});
  ~Engine();  // Shutdown(): drains first
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Blocks while max_in_flight requests are live. FailedPrecondition after Shutdown().
  Status Submit(Request request, ResultCallback on_result);
  std::future<Result> Submit(Request request);
  // Like Submit, but waits for room only until `wait_until`: ResourceExhausted when none came
  // (the request was not accepted and its callback is never called). For services, whose
  // callers have deadlines of their own.
  Status SubmitUntil(Request request, ResultCallback on_result,
                     std::chrono::steady_clock::time_point wait_until);

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

  // kLive (for scrapes and other frequent readers) leaves out the result fields' bootstrap
  // intervals (low/mid/high = the mean): its cost no longer grows with the results.
  EngineStats Stats(StatsDetail detail = StatsDetail::kFull) const;
  const std::string& pipeline_name() const;
  int threads() const;
  void ClearCaches();

  // For refinery's own tools: the validated pipeline, and the monitor (alert sinks, drift
  // baselines). Their types are internal (not installed).
  const PipelineSpec& spec() const;
  monitor::Monitor& monitor();

 private:
  explicit Engine(std::unique_ptr<EngineCore> core);
  std::unique_ptr<EngineCore> core_;
};

}  // namespace refinery
