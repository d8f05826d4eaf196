// graph-runner work: a queue worker (tools/worker/worker.h) until SIGTERM or SIGINT (stop taking
// requests, finish the ones in flight, release the rest, exit 0). docs/queue-workers.md.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "graph/engine.h"
#include "graph/monitor/views/metrics_server.h"
#include "tools/graph-runner/commands.h"
#include "tools/worker/worker.h"

namespace refinery::cli {
namespace {

void PrintError(const std::string& message) {
  std::cerr << message;
  if (message.empty() || message.back() != '\n') std::cerr << "\n";
}

}  // namespace

int WorkCommand(const WorkArgs& args) {
  worker::WorkerOptions options = args.options;
  if (args.source.empty() || args.sink.empty()) {
    PrintError(
        "error: work needs --source and --sink (or 'source:' and 'sink:' in "
        "--worker-config)");
    return 2;
  }
  StatusOr<worker::AmqpAddress> source = worker::ParseAmqpAddress(args.source, "--source");
  StatusOr<worker::AmqpAddress> sink = worker::ParseAmqpAddress(args.sink, "--sink");
  if (!source.ok() || !sink.ok()) {
    if (!source.ok()) PrintError("error: " + source.status().message());
    if (!sink.ok()) PrintError("error: " + sink.status().message());
    return 2;
  }
  options.source = *source;
  options.sink = *sink;
  if (!options.source.SameBroker(options.sink)) {
    PrintError(
        "error: --source and --sink must name the same broker and user (one connection "
        "carries both, so a result and its request settle together)");
    return 2;
  }
  if (!options.source.user.empty()) {
    const char* password = std::getenv(options.password_env.c_str());
    if (password == nullptr) {
      PrintError("error: user '" + options.source.user + "' needs a password: set $" +
                 options.password_env + " (the URL and the command line never carry it)");
      return 2;
    }
    options.password = password;
  }

  LoaderInputs loader;
  if (!LoadLoaderInputs(options.sets, options.config, &loader)) return 2;
  EngineOptions engine_options;
  engine_options.threads = options.threads;
  StatusOr<std::unique_ptr<Engine>> engine =
      Engine::FromFile(options.pipeline, loader.overrides, loader.config, engine_options);
  if (!engine.ok()) {
    PrintError(engine.status().message());
    return 2;
  }

  // Signals go to the waiting thread alone: blocked before Proton or the engine start threads.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  worker::Worker worker(engine->get(), options);
  std::unique_ptr<monitor::MetricsServer> metrics;
  if (args.metrics_port >= 0) {
    auto started = monitor::MetricsServer::Start(
        args.metrics_host, args.metrics_port, [&worker] { return worker.MetricsText(); },
        [&worker] { return worker.connected(); });
    if (!started.ok()) {
      PrintError("error: " + started.status().message());
      return 2;
    }
    metrics = std::move(started).value();
    std::fprintf(stderr, "metrics: http://%s:%d/metrics\n", args.metrics_host.c_str(),
                 metrics->port());
  }
  std::fprintf(stderr, "working: %s -> %s (up to %d in flight)\n",
               options.source.ToString().c_str(), options.sink.ToString().c_str(),
               options.max_in_flight);

  std::atomic<bool> finished{false};
  std::thread waiter([&] {
    int signal = 0;
    while (sigwait(&signals, &signal) != 0) {
    }
    if (!finished) {
      std::fprintf(stderr, "%s: finishing in-flight requests (up to %.0f s), then stopping\n",
                   signal == SIGTERM ? "SIGTERM" : "SIGINT", options.drain_seconds);
      worker.Stop();
    }
  });
  Status status = worker.Run();
  finished = true;
  kill(getpid(), SIGTERM);  // wakes the waiter when the worker ended by itself
  waiter.join();
  const worker::WorkerCounters& c = worker.counters();
  std::fprintf(stderr,
               "worker: %lld received, %lld answered, %lld dead-lettered, %lld released, "
               "%lld redelivered, %lld reconnects\n",
               (long long)c.received.load(), (long long)c.succeeded.load(),
               (long long)c.dead_lettered.load(), (long long)c.released.load(),
               (long long)c.redelivered.load(), (long long)c.reconnects.load());
  if (!status.ok()) {
    PrintError(status.message());
    return 2;
  }
  return 0;
}

}  // namespace refinery::cli
