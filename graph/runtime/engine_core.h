// EngineCore: the engine behind refinery::Engine (graph/engine.h documents its guarantees and
// threading). It owns the compiled flow graph, the task arena, the admission gate and the result
// accounting (latency, metrics, monitor). Engine is a pImpl over it, so an embedder includes none
// of the headers below.
#pragma once

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "graph/engine.h"
#include "graph/internal/cycle_clock.h"
#include "graph/monitor/monitor.h"
#include "graph/runtime/admission_gate.h"
#include "graph/runtime/cache.h"
#include "graph/runtime/compiler.h"
#include "graph/spec/pipeline_loader.h"
#include "graph/spec/pipeline_spec.h"
#include "graph/stats/latency_histogram.h"
#include "graph/stats/metric_aggregate.h"
#include "graph/status.h"

namespace refinery {

class EngineCore {
 public:
  static StatusOr<std::unique_ptr<EngineCore>> Create(PipelineSpec spec,
                                                      EngineOptions options = {});
  ~EngineCore();  // Shutdown(): drains first
  EngineCore(const EngineCore&) = delete;
  EngineCore& operator=(const EngineCore&) = delete;

  // The contract of each of these is Engine's (graph/engine.h).
  Status Submit(Request request, ResultCallback on_result);
  Status SubmitUntil(Request request, ResultCallback on_result,
                     std::optional<std::chrono::steady_clock::time_point> wait_until);
  std::future<Result> Submit(Request request);
  Status Run(const RequestSource& next, ResultCallback on_result);
  void Drain();
  void Shutdown();
  void StopAccepting();
  EngineStats Stats(StatsDetail detail = StatsDetail::kFull) const;
  const PipelineSpec& spec() const { return spec_; }
  int threads() const { return options_.threads; }
  void ClearCaches();
  monitor::Monitor& monitor() { return *monitor_; }

 private:
  EngineCore(PipelineSpec spec, EngineOptions options);
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
  // Results counted before their callback runs, so a caller holding its result sees it in Stats.
  std::atomic<int64_t> counted_{0};
  // Callbacks that have returned; Drain waits for these, so every result is delivered first.
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
    std::string cost;
    std::string node;  // its id: a cache hit there cost nothing
  };
  std::vector<TokenFields> token_fields_;  // nodes that count tokens, in execution order
  void Observe(const Result& r);
  const double nanos_per_tick_;
  Clock::time_point created_ = Clock::now();
  uint64_t created_ticks_ = 0;  // internal::CycleClock at creation (the monitor's time axis)
};

}  // namespace refinery
