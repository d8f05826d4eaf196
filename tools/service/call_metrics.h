// CallMetrics: the gRPC service's own counters, per method: calls started, calls handled by
// status code, handling time (a LatencyHistogram, exported as a Prometheus histogram) and
// stream messages in and out. Written into the same exposition as the pipelines' metrics.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "graph/monitor/views/exposition.h"
#include "graph/stats/latency_histogram.h"

namespace refinery::service {

enum class Method {
  kRun,
  kRunStream,
  kRunBatches,
  kListPipelines,
  kDescribePipeline,
  kStats,
  kCount
};
const char* MethodName(Method m);

class CallMetrics {
 public:
  static constexpr int kCodes = 17;  // grpc::StatusCode 0..16

  void Started(Method m) { Of(m).started.fetch_add(1, std::memory_order_relaxed); }
  void Handled(Method m, int code, std::chrono::steady_clock::duration took);
  void Received(Method m) { Of(m).received.fetch_add(1, std::memory_order_relaxed); }
  void Sent(Method m) { Of(m).sent.fetch_add(1, std::memory_order_relaxed); }
  int64_t handled(Method m, int code) const {
    return methods_[size_t(m)].handled[size_t(code)].load(std::memory_order_relaxed);
  }

  void AppendTo(monitor::Exposition* e) const;

 private:
  struct PerMethod {
    std::atomic<int64_t> started{0};
    std::array<std::atomic<int64_t>, kCodes> handled{};
    std::atomic<int64_t> received{0};
    std::atomic<int64_t> sent{0};
    LatencyHistogram latency;
  };
  PerMethod& Of(Method m) { return methods_[size_t(m)]; }
  std::array<PerMethod, size_t(Method::kCount)> methods_;
};

}  // namespace refinery::service
