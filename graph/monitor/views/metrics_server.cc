#include "graph/monitor/views/metrics_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>

namespace refinery::monitor {

StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& host, int port,
                                                              std::function<std::string()> metrics,
                                                              std::function<bool()> healthy) {
  auto s = std::unique_ptr<MetricsServer>(new MetricsServer());
  s->server_ = std::make_unique<httplib::Server>();
  s->host_ = host;
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
  s->server_->Get("/metrics", [metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s->server_->Get("/healthz", [healthy](const httplib::Request&, httplib::Response& res) {
    const bool ok = healthy();
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
  s->thread_ = std::thread([server] { server->listen_after_bind(); });
  // stop() before the accept loop runs would be lost (and the destructor's join would wait
  // forever), so Start returns only once the server is running.
  for (int i = 0; i < 5000 && !server->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return s;
}

MetricsServer::~MetricsServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace refinery::monitor
