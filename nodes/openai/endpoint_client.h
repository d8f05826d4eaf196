// EndpointClient: calls one OpenAI-compatible server (llama-server, vLLM, Ollama, a hosted API,
// or refinery's own `graph-runner serve-models`) for the infer node's `backend: openai`.
//
//   auto client = EndpointClient::Get(options);           // shared by nodes with equal options
//   (*client)->Submit(request, priority, deadline, [](CallResult r) { ... });
//
// - Persistent connections: max_concurrency workers, each with its own keep-alive connection;
//   calls wait in priority order (highest first, first come first served within a priority).
// - Limits become back-pressure: a call waits for a worker and for the rate limiter
//   (requests/min, tokens/min), never fails because of them; the engine's admission gate then
//   stops new requests.
// - Timeouts: connect, first byte (or first streamed token), and total, each also cut to the
//   request's deadline.
// - Retries with exponential backoff and full jitter for connection errors, 429 and 5xx
//   (Retry-After in seconds wins), never for other 4xx, never past the deadline.
// - Every failure is a message naming the endpoint, the model and the cause; the API key never
//   appears in one.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph/status.h"
#include "nodes/openai/protocol.h"

namespace refinery::openai {

struct EndpointOptions {
  std::string base_url;              // scheme://host[:port][/path], e.g. http://127.0.0.1:8080/v1
  std::string api_key_env;           // environment variable holding the key ("" = no key)
  std::vector<std::string> headers;  // extra "Name: value" headers
  std::string tls_ca_file;           // PEM CAs to trust instead of the system's ("" = system CAs)
  int max_concurrency = 4;
  double requests_per_minute = 0;  // 0 = no limit
  double tokens_per_minute = 0;
  int connect_timeout_ms = 5'000;
  int first_token_timeout_ms = 60'000;
  int timeout_ms = 300'000;
  int max_retries = 3;
  int backoff_ms = 250;  // first retry's ceiling; doubles each attempt, at most 20 s
};

struct CallResult {
  Status status;
  Completion completion;
  int attempts = 0;
  double first_token_ms = 0;  // from send to the first streamed token (or the whole answer)
  double inter_token_ms = 0;  // mean gap between streamed chunks (0 when not streamed)
  double total_ms = 0;        // including waits for a worker, the rate limit and retries
};

class EndpointClient {
 public:
  using Clock = std::chrono::steady_clock;
  using Callback = std::function<void(CallResult)>;

  // Fails (clearly) for a URL that does not parse or an API key variable that is not set.
  static StatusOr<std::shared_ptr<EndpointClient>> Get(const EndpointOptions& options);
  ~EndpointClient();

  void Submit(CompletionRequest request, int priority, std::optional<Clock::time_point> deadline,
              Callback done);

  // "openai endpoint URL": how messages name it.
  const std::string& name() const;

  struct State;  // endpoint_client.cc

 private:
  explicit EndpointClient(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace refinery::openai
