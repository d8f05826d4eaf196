// MetricsServer: an HTTP endpoint (cpp-httplib) for scrapers: GET /metrics (Prometheus text
// format 0.0.4) and GET /healthz. Runs on its own thread; the page is produced per request by
// the callback, so what a scrape sees is the engine's state at that moment.
//
// Slow clients cannot starve scrapes or hold up shutdown: each connection gets its own thread
// (up to kMaxConnections at once; more wait for one to end), reads and writes time out after
// 5 s, and the destructor never waits for a client: connections still open are abandoned to
// finish on their own (their handlers answer 503 from then on and never touch the engine). An
// accept loop that fails (the system out of file handles or memory) listens again on the same
// port instead of ending.
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
  static constexpr int kMaxConnections = 64;

  // port 0: any free port (see port()). Fails with a clear message when the address is taken.
  static StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& host, int port,
                                                        std::function<std::string()> metrics,
                                                        std::function<bool()> healthy);
  ~MetricsServer();  // stops; returns without waiting for open client connections
  int port() const { return port_; }
  const std::string& host() const { return host_; }
  // Connections being served or waiting for a thread right now (each ends when its client closes
  // or after the 5 s timeouts).
  int open_connections() const;

  // Defined in metrics_server.cc.
  struct Gate;         // the callbacks, closed when the server is destroyed
  struct Connections;  // per-connection threads
  struct Listening;    // the accept loop's stop flag, and whether it has ended

 private:
  MetricsServer() = default;
  std::shared_ptr<Gate> gate_;
  std::shared_ptr<Connections> connections_;
  std::unique_ptr<Listening> listening_;  // read by the accept thread, joined before it goes
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string host_;
  int port_ = 0;
};

}  // namespace refinery::monitor
