#include "graph/monitor/views/metrics_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <system_error>
#include <vector>

namespace refinery::monitor {

// The page callbacks behind a lock: once closed (the server is being destroyed), a connection
// that is still being served answers 503 instead of calling into an engine that may be gone.
struct MetricsServer::Gate {
  std::mutex mu;
  bool open = true;
  std::function<std::string()> metrics;
  std::function<bool()> healthy;
};

// httplib's task queue: a thread per connection, at most kMaxConnections at once (the rest wait
// in order), so one slow client holds one thread, not the pool scrapes need. shutdown() does
// not join: threads still serving a client end by themselves (read/write timeouts), and the
// state they touch is shared, so it outlives the server.
struct MetricsServer::Connections : public std::enable_shared_from_this<Connections> {
  std::mutex mu;
  int active = 0;
  bool stopped = false;
  std::deque<std::function<void()>> waiting;

  void Enqueue(std::function<void()> fn) {
    {
      std::lock_guard lock(mu);
      if (active >= kMaxConnections) {
        waiting.push_back(std::move(fn));
        return;
      }
      ++active;
    }
    try {
      std::thread([self = shared_from_this(), fn]() mutable {
        self->Serve(std::move(fn));
      }).detach();
    } catch (const std::system_error&) {
      // No thread to be had (a process at its limit): serve it on the accept thread rather
      // than take the process down; accepting waits meanwhile.
      Serve(std::move(fn));
    }
  }
  // This connection, then whatever waited for a thread.
  void Serve(std::function<void()> fn) {
    for (;;) {
      fn();
      std::lock_guard lock(mu);
      if (waiting.empty()) {
        --active;
        return;
      }
      fn = std::move(waiting.front());
      waiting.pop_front();
    }
  }
  int Active() {
    std::lock_guard lock(mu);
    return active + int(waiting.size());
  }
};

namespace {
class ConnectionQueue : public httplib::TaskQueue {
 public:
  explicit ConnectionQueue(std::shared_ptr<MetricsServer::Connections> c) : c_(std::move(c)) {}
  void enqueue(std::function<void()> fn) override { c_->Enqueue(std::move(fn)); }
  void shutdown() override {}

 private:
  std::shared_ptr<MetricsServer::Connections> c_;
};
}  // namespace

// The accept loop, restarted when it fails. httplib ends it for good (and closes the listening
// socket) on any accept() error but EMFILE, EINTR and EAGAIN: a machine briefly out of file
// handles system-wide (ENFILE) or kernel memory (ENOBUFS, ENOMEM) would otherwise leave the
// process running with its metrics and health endpoint gone and nothing said. The port is bound
// again (SO_REUSEADDR) until that works or the server is stopped.
struct MetricsServer::Listening {
  std::atomic<bool> stopping{false};
  std::atomic<bool> ended{false};
};

namespace {
void KeepListening(httplib::Server& server, MetricsServer::Listening& state,
                   const std::string& host, int port) {
  for (;;) {
    server.listen_after_bind();
    if (state.stopping) break;
    spdlog::warn("metrics endpoint {}:{}: accepting connections failed ({}); listening again", host,
                 port, std::strerror(errno));
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (state.stopping || server.bind_to_port(host, port)) break;
    }
    if (state.stopping) break;
  }
  state.ended = true;
}
}  // namespace

StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& host, int port,
                                                              std::function<std::string()> metrics,
                                                              std::function<bool()> healthy) {
  auto s = std::unique_ptr<MetricsServer>(new MetricsServer());
  s->server_ = std::make_unique<httplib::Server>();
  s->host_ = host;
  s->gate_ = std::make_shared<Gate>();
  s->gate_->metrics = std::move(metrics);
  s->gate_->healthy = std::move(healthy);
  s->connections_ = std::make_shared<Connections>();
  s->listening_ = std::make_unique<Listening>();
  s->server_->new_task_queue = [c = s->connections_] { return new ConnectionQueue(c); };
  // httplib's default also sets SO_REUSEPORT, which lets a second process bind the same port and
  // silently take half the scrapes; refuse that: address reuse after a restart only.
  s->server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // Every buffer a client controls is bounded and every wait has a timeout: the endpoints take
  // no body (a larger one gets 413 before it is read into memory), a client that stops reading
  // or writing is dropped after 5 s, and a failure never shows its exception text to the client.
  s->server_->set_payload_max_length(kMaxRequestBodyBytes);
  s->server_->set_read_timeout(5, 0);
  s->server_->set_write_timeout(5, 0);
  s->server_->set_keep_alive_timeout(2);
  s->server_->set_keep_alive_max_count(100);
  s->server_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content("internal error\n", "text/plain");
      });
  s->server_->Get("/metrics", [gate = s->gate_](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(gate->mu);
    if (!gate->open) {
      res.status = 503;
      res.set_content("stopping\n", "text/plain");
      return;
    }
    res.set_content(gate->metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s->server_->Get("/healthz", [gate = s->gate_](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(gate->mu);
    const bool ok = gate->open && gate->healthy();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ok\n" : "stopping\n", "text/plain");
  });
  s->server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("refinery: /metrics (Prometheus), /healthz\n", "text/plain");
  });
  if (port == 0) {
    s->port_ = s->server_->bind_to_any_port(host);
    if (s->port_ <= 0) return Status::InvalidArgument("metrics endpoint: cannot listen on " + host);
  } else {
    if (!s->server_->bind_to_port(host, port)) {
      return Status::InvalidArgument("metrics endpoint: cannot listen on " + host + ":" +
                                     std::to_string(port) +
                                     " (in use, or not an address of this machine)");
    }
    s->port_ = port;
  }
  httplib::Server* server = s->server_.get();
  s->thread_ = std::thread([server, state = s->listening_.get(), host, port = s->port_] {
    KeepListening(*server, *state, host, port);
  });
  // stop() before the accept loop runs would be lost (and the destructor's join would wait
  // forever), so Start returns only once the server is running.
  for (int i = 0; i < 5000 && !server->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return s;
}

int MetricsServer::open_connections() const { return connections_->Active(); }

MetricsServer::~MetricsServer() {
  if (gate_) {
    std::lock_guard lock(gate_->mu);  // waits for a page being produced right now, no longer
    gate_->open = false;
    gate_->metrics = nullptr;
    gate_->healthy = nullptr;
  }
  // The accept loop ends; the connection queue does not join. stop() does nothing while the
  // loop is between a failure and listening again, so it is repeated until the loop has seen
  // `stopping`.
  if (listening_) listening_->stopping = true;
  while (thread_.joinable() && !listening_->ended) {
    server_->stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (thread_.joinable()) thread_.join();
  // A connection still open runs httplib::Server members until its client times out: the server
  // object must outlive it, so it is abandoned (a few KB, once per server with slow clients).
  if (connections_ && connections_->Active() > 0) {
    // Kept reachable (not a leak to LeakSanitizer): a deliberate, bounded abandonment.
    static auto* abandoned = new std::vector<std::unique_ptr<httplib::Server>>;
    static std::mutex abandoned_mu;
    std::lock_guard lock(abandoned_mu);
    abandoned->push_back(std::move(server_));
  }
}

}  // namespace refinery::monitor
