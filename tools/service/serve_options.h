// ServeOptions: what `graph-runner serve` takes besides its pipeline files (docs/serving.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace refinery::service {

struct ServeOptions {
  std::vector<std::string> pipelines;  // pipeline YAML files; each served by its `pipeline:` name
  std::string config;                  // runtime config file ("" = none)
  std::vector<std::string> sets;  // --set overrides, for every pipeline (each must have the node)
  int threads = 0;                // worker threads per engine (0 = one per core)

  std::string listen = "127.0.0.1:50051";  // HOST:PORT; port 0 picks a free one
  std::string tls_cert, tls_key;           // PEM files: TLS when both are set
  std::string tls_client_ca;               // PEM file: clients must present a cert it signed
  std::string auth_token;                  // bearer token every call must carry ("" = none)

  int64_t max_message_bytes = 4 << 20;  // a received message larger than this: RESOURCE_EXHAUSTED
  int64_t max_field_bytes = 1 << 20;    // a request text field larger than this: INVALID_ARGUMENT
  int max_streams = 64;                 // streams (RunStream, RunBatches) open at once, all clients
  int stream_in_flight = 64;            // requests a stream may have read and not yet answered
  int max_threads = 512;  // stream handler threads; Run calls waiting for room (RoomWaiters)
  bool reject_when_full = false;  // unary: RESOURCE_EXHAUSTED at once instead of waiting
};

}  // namespace refinery::service
