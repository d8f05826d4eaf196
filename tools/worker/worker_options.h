// What `graph-runner work` is told: the pipeline, the broker addresses and the delivery policy.
// docs/queue-workers.md explains each choice.
#pragma once

#include <string>
#include <vector>

#include "tools/worker/amqp_address.h"
#include "tools/worker/scaling_signal.h"

namespace refinery::worker {

struct WorkerOptions {
  std::string pipeline;  // YAML file
  std::string config;    // runtime config ("" = none)
  std::vector<std::string> sets;
  int threads = 0;  // engine threads (0 = one per core)

  AmqpAddress source;  // requests are received from here
  AmqpAddress sink;    // results go here unless a request names its reply-to
  // Environment variable holding the password (SAS key); "" with a user = no password.
  std::string password_env = "REFINERY_AMQP_PASSWORD";
  std::string password;                 // filled from password_env, never from a file or flag
  std::string tls_ca_file;              // amqps: trust these CAs ("" = the system's)
  int max_in_flight = 64;               // unsettled request messages held by this worker
  int max_deliveries = 5;               // dead-letter a retried request at this delivery count
  double drain_seconds = 30;            // SIGTERM: finish in-flight work for at most this long
  double connect_timeout_seconds = 15;  // start-up: give up on an unreachable broker after it
  double reconnect_max_seconds = 30;    // backoff cap after an outage (with jitter)
  bool verify_sink = true;              // check the sink queue exists before consuming
  // The error condition of a dead-lettering reject. Service Bus moves a message rejected with
  // this condition to its dead-letter queue with the reason; RabbitMQ dead-letters any reject.
  std::string dead_letter_condition = "com.microsoft:dead-letter";
  ScalingOptions scaling;
  double scaling_interval_seconds = 5;
};

}  // namespace refinery::worker
