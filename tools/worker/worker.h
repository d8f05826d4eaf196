// Worker: one competing consumer of a request queue. Receives request messages over AMQP 1.0
// (Qpid Proton), runs them through an Engine, sends each result to the sink (or the request's
// reply-to), and settles the request only after the broker confirmed the result:
//
//   result accepted by the broker   -> request accepted (ok) or rejected = dead-lettered
//                                      (failed: bad input or a node error; the failure result
//                                      was sent first, so the caller hears why)
//   result refused / link lost      -> request released: the broker delivers it again
//   SIGTERM                         -> no more credit; in-flight work finishes for up to
//                                      drain_seconds; what is left is released; clean close
//
// At-least-once: a worker killed between sending a result and accepting the request leaves the
// request to be delivered again, and the same result (same message-id) is sent again.
// Credit is explicit (Proton's credit_window does not bound unsettled messages): at most
// max_in_flight request messages are unsettled at this worker at any time.
//
// Broker outages: reconnect with exponential backoff and jitter, forever once connected; at
// start-up an unreachable broker is an error after connect_timeout_seconds, and refused
// credentials or a missing queue are errors at once (clear message, exit 2).
//
// Threads: Proton's container runs on the thread that calls Run(); engine callbacks hand results
// back to it through the connection's work queue. Stop() may be called from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "graph/engine.h"
#include "graph/status.h"
#include "tools/worker/worker_options.h"

namespace refinery::worker {

// Counters a worker exports (Prometheus names in docs/queue-workers.md).
struct WorkerCounters {
  std::atomic<int64_t> received{0};
  std::atomic<int64_t> redelivered{0};  // received with delivery-count > 0 or not first acquirer
  std::atomic<int64_t> succeeded{0};    // result confirmed, request accepted
  std::atomic<int64_t> dead_lettered{0};
  std::atomic<int64_t> released{0};
  std::atomic<int64_t> results_refused{0};  // the broker refused a result message
  std::atomic<int64_t> reconnects{0};
  std::atomic<int64_t> in_flight{0};
};

class Worker {
 public:
  Worker(Engine* engine, WorkerOptions options);
  ~Worker();

  // Connects, consumes until Stop(), drains. Not OK only for a configuration the worker cannot
  // work with (unreachable at start-up, refused credentials, a missing queue).
  Status Run();
  void Stop();  // any thread, e.g. the signal-waiting one

  const WorkerCounters& counters() const;
  // The worker's counters, the scaling signal and the engine's metrics, in Prometheus text.
  std::string MetricsText() const;
  bool connected() const;

 private:
  class Handler;
  std::unique_ptr<Handler> handler_;
};

}  // namespace refinery::worker
