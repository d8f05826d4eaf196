// MetricsServer: an HTTP endpoint (cpp-httplib) for scrapers: GET /metrics (Prometheus text
// format 0.0.4) and GET /healthz. Runs on its own thread; the page is produced per request by
// the callback, so what a scrape sees is the engine's state at that moment.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "graph/status.h"

namespace httplib {
class Server;
}

namespace refinery::monitor {

class MetricsServer {
 public:
  // Requests carry no body; anything larger than this is refused (413) unread.
  static constexpr size_t kMaxRequestBodyBytes = 64 << 10;

  // port 0: any free port (see port()). Fails with a clear message when the address is taken.
  static StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& host, int port,
                                                        std::function<std::string()> metrics,
                                                        std::function<bool()> healthy);
  ~MetricsServer();  // stops and joins
  int port() const { return port_; }
  const std::string& host() const { return host_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string host_;
  int port_ = 0;
};

}  // namespace refinery::monitor
