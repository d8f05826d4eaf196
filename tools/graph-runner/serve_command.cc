// graph-runner serve: the pipelines as a gRPC service (tools/service/server.h) until SIGTERM or
// SIGINT (drain, then exit 0); SIGHUP reloads the pipeline files and the config.
#include <signal.h>

#include <cstdio>
#include <iostream>

#include "graph/monitor/views/metrics_server.h"
#include "tools/graph-runner/commands.h"
#include "tools/service/call_auth.h"
#include "tools/service/server.h"

namespace refinery::cli {

int ServeCommand(const ServeArgs& args) {
  service::ServeOptions options = args.options;
  if (!args.auth_token_file.empty()) {
    StatusOr<std::string> token = service::ReadTokenFile(args.auth_token_file);
    if (!token.ok()) {
      std::cerr << token.status().message() << "\n";
      return 2;
    }
    options.auth_token = *token;
  }
  // Signals are taken by this thread alone (sigwait below): blocked before any other thread
  // exists (engines, gRPC), which inherit the mask. Otherwise a gRPC thread may take one.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  StatusOr<std::unique_ptr<service::Server>> server = service::Server::Start(options);
  if (!server.ok()) {
    std::cerr << server.status().message();
    if (server.status().message().back() != '\n') std::cerr << "\n";
    return 2;
  }
  if (const std::string warning = (*server)->ExposureWarning(); !warning.empty())
    std::cerr << warning << "\n";
  std::unique_ptr<monitor::MetricsServer> metrics;
  if (args.metrics_port >= 0) {
    const service::Server* s = server->get();
    auto started = monitor::MetricsServer::Start(
        args.metrics_host, args.metrics_port, [s] { return s->MetricsText(); },
        [] { return true; });
    if (!started.ok()) {
      std::cerr << "error: " << started.status().message() << "\n";
      return 2;
    }
    metrics = std::move(started).value();
    std::fprintf(stderr, "metrics: http://%s:%d/metrics\n", args.metrics_host.c_str(),
                 metrics->port());
  }
  std::string names;
  for (const auto& [name, _] : (*server)->pipelines()->pipelines()) names += " " + name;
  // The address on stdout, alone on its line, for scripts that started us with port 0.
  std::printf("listening on %s\n", (*server)->address().c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "serving%s on %s\n", names.c_str(), (*server)->address().c_str());

  for (;;) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (signal == SIGHUP) {
      Status reloaded = (*server)->Reload();
      if (reloaded.ok()) {
        std::fprintf(stderr, "reloaded: new calls use the new pipelines\n");
      } else {
        std::cerr << "reload refused, the previous pipelines keep serving:\n" << reloaded.message();
        if (reloaded.message().back() != '\n') std::cerr << "\n";
      }
      continue;
    }
    std::fprintf(stderr, "%s: draining (up to %.0f s), then stopping\n",
                 signal == SIGTERM ? "SIGTERM" : "SIGINT", args.drain_seconds);
    (*server)->Shutdown(std::chrono::milliseconds(int64_t(args.drain_seconds * 1000)));
    std::fprintf(stderr, "stopped\n");
    return 0;
  }
}

}  // namespace refinery::cli
