// QueueClient: the other side of a worker, for tests, benchmarks and scripts. Blocking calls,
// each on its own short-lived AMQP connection (Qpid Proton): publish messages and wait until the
// broker confirmed every one; collect messages from a queue.
#pragma once

#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <string>
#include <vector>

#include "graph/status.h"
#include "tools/worker/amqp_address.h"

namespace refinery::worker {

struct ClientConnection {
  AmqpAddress broker;    // host, port, tls, user (address unused)
  std::string password;  // for broker.user
};

// Sends every message to `address`; OK once the broker accepted all of them (a rejection or a
// timeout is an error naming how many were confirmed).
Status Publish(const ClientConnection& connection, const std::string& address,
               const std::vector<proton::message>& messages, double timeout_seconds = 60);

// Receives (and accepts) messages from `address` until `count` arrived and then nothing more for
// `quiet_seconds` (to catch duplicates), or `timeout_seconds` passed. Returns what arrived.
StatusOr<std::vector<proton::message>> Collect(const ClientConnection& connection,
                                               const std::string& address, size_t count,
                                               double timeout_seconds, double quiet_seconds = 0);

}  // namespace refinery::worker
