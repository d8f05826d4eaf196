// Where a queue worker connects: `amqp[s]://[USER@]HOST[:PORT]/ADDRESS`. The password never
// appears in the URL or on a command line: it comes from an environment variable (for Azure
// Service Bus, USER is the SAS key name and the variable holds the key).
#pragma once

#include <string>

#include "graph/status.h"

namespace refinery::worker {

struct AmqpAddress {
  bool tls = false;  // amqps: TLS (Service Bus only speaks amqps on 5671)
  std::string user;  // "" = SASL ANONYMOUS
  std::string host;
  int port = 5672;      // 5672 for amqp, 5671 for amqps unless given
  std::string address;  // the node: RabbitMQ 3.10 `/amq/queue/NAME`, Service Bus `NAME`

  // The connection URL for Proton, without the node address or credentials.
  std::string ConnectionUrl() const;
  // Same broker and credentials: one connection serves both.
  bool SameBroker(const AmqpAddress& other) const;
  std::string ToString() const;  // for messages: no password, ever
};

// Parses `amqp[s]://[USER@]HOST[:PORT]/ADDRESS`. RabbitMQ's addresses keep their leading slash:
// amqp://h/amq/queue/jobs is the address /amq/queue/jobs; amqp://h/jobs is `jobs` (Service Bus). A
// URL with a password (USER:PASS@) is refused with a message saying where the password goes
// instead. `what` names the option in errors.
StatusOr<AmqpAddress> ParseAmqpAddress(const std::string& url, const std::string& what);

}  // namespace refinery::worker
