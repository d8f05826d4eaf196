#include "tools/service/call_metrics.h"

#include "graph/stats.h"

namespace refinery::service {

namespace {

// grpc::StatusCode names, as grpc-go and the Prometheus gRPC interceptors label them.
constexpr const char* kCodeNames[CallMetrics::kCodes] = {
    "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated"};

}  // namespace

const char* MethodName(Method m) {
  switch (m) {
    case Method::kRun:
      return "Run";
    case Method::kRunStream:
      return "RunStream";
    case Method::kRunBatches:
      return "RunBatches";
    case Method::kListPipelines:
      return "ListPipelines";
    case Method::kDescribePipeline:
      return "DescribePipeline";
    case Method::kStats:
      return "Stats";
    case Method::kCount:
      break;
  }
  return "?";
}

void CallMetrics::Handled(Method m, int code, std::chrono::steady_clock::duration took) {
  PerMethod& p = Of(m);
  p.handled[size_t(code >= 0 && code < kCodes ? code : 2)].fetch_add(1, std::memory_order_relaxed);
  p.latency.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
}

void CallMetrics::AppendTo(monitor::Exposition* e) const {
  const std::string service = "refinery.v1.Refinery";
  e->Family("refinery_grpc_server_started_total", "counter", "gRPC calls started, by method.");
  e->Family("refinery_grpc_server_handled_total", "counter",
            "gRPC calls completed, by method and status code.");
  e->Family("refinery_grpc_server_handling_seconds", "histogram",
            "Time from the start of a gRPC call to its status, by method.");
  e->Family("refinery_grpc_server_msg_received_total", "counter",
            "Stream messages received, by method.");
  e->Family("refinery_grpc_server_msg_sent_total", "counter", "Stream messages sent, by method.");
  const std::vector<double>& bounds = LatencyBucketBounds();
  for (size_t i = 0; i < methods_.size(); ++i) {
    const PerMethod& p = methods_[i];
    const monitor::Labels labels = {{"grpc_service", service},
                                    {"grpc_method", MethodName(Method(i))}};
    e->Value("refinery_grpc_server_started_total", labels,
             double(p.started.load(std::memory_order_relaxed)));
    for (int code = 0; code < kCodes; ++code) {
      const int64_t n = p.handled[size_t(code)].load(std::memory_order_relaxed);
      if (n == 0 && code != 0) continue;  // OK always, the others once seen
      monitor::Labels l = labels;
      l.push_back({"grpc_code", kCodeNames[code]});
      e->Value("refinery_grpc_server_handled_total", l, double(n));
    }
    e->Histogram("refinery_grpc_server_handling_seconds", labels,
                 p.latency.CumulativeCounts(bounds), bounds, p.latency.count(),
                 double(p.latency.sum_ns()) / 1e9);
    e->Value("refinery_grpc_server_msg_received_total", labels,
             double(p.received.load(std::memory_order_relaxed)));
    e->Value("refinery_grpc_server_msg_sent_total", labels,
             double(p.sent.load(std::memory_order_relaxed)));
  }
}

}  // namespace refinery::service
