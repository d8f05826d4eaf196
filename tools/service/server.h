// Server: `graph-runner serve` as a library - the refinery.v1.Refinery service, the standard
// grpc.health.v1.Health service (overall, per pipeline under its name, and under
// "refinery.v1.Refinery") and server reflection, on one port.
//
//   auto server = Server::Start(options);         // pipelines validated before the port opens
//   std::cout << (*server)->port();                // the chosen port when listen ends in :0
//   (*server)->Reload();                           // SIGHUP: new files, new graphs, nothing lost
//   (*server)->Shutdown(std::chrono::seconds(30)); // SIGTERM: NOT_SERVING, drain, stop
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "graph/status.h"
#include "tools/service/call_metrics.h"
#include "tools/service/pipeline_set.h"
#include "tools/service/serve_options.h"

namespace grpc {
class Server;
}

namespace refinery::service {

class RefineryService;

class Server {
 public:
  static StatusOr<std::unique_ptr<Server>> Start(ServeOptions options);
  ~Server();  // Shutdown(0) when not shut down yet

  int port() const { return port_; }
  const std::string& address() const { return address_; }  // HOST:PORT as bound
  // A line for the operator when the address is reachable beyond this machine without TLS or a
  // token ("" otherwise).
  std::string ExposureWarning() const;

  // Loads every pipeline file and the config again. If all are valid, new calls go to the new
  // graphs and calls in progress finish on the old ones (which drain and go when the last call
  // using them ends). If any is not, the old set keeps serving and the errors come back.
  Status Reload();

  // Health turns NOT_SERVING, new calls are refused, calls in progress get `drain` to finish and
  // are then cancelled; returns when every call has ended and every engine has drained.
  void Shutdown(std::chrono::milliseconds drain);

  // The Prometheus exposition: every pipeline's families plus the gRPC method counters.
  std::string MetricsText() const;
  std::shared_ptr<const PipelineSet> pipelines() const { return served_->current(); }
  const CallMetrics& call_metrics() const { return *metrics_; }

 private:
  Server() = default;
  void SetHealth(const PipelineSet& set, bool serving);

  ServeOptions options_;
  std::unique_ptr<ServedPipelines> served_;
  std::unique_ptr<CallMetrics> metrics_;
  std::unique_ptr<RefineryService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::mutex reload_mu_;
  bool shut_down_ = false;
  int port_ = 0;
  std::string address_;
};

}  // namespace refinery::service
