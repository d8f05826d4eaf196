// refinery::client: calling a refinery server (graph-runner serve) from C++.
//
//   auto client = refinery::client::Client::Connect({.target = "127.0.0.1:50051"});
//   StatusOr<Result> r = (*client)->Run("clean-text", request);        // one request
//   (*client)->Stream("clean-text", next_request, on_result);           // many, streamed
//
// Results come back as the same refinery::Result an in-process Engine gives, so code written
// against the engine works against a server. tools/service/example_client.cc is a whole program.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "graph/engine.h"
#include "graph/proto/refinery_service.grpc.pb.h"
#include "graph/status.h"

namespace refinery::client {

struct ClientOptions {
  std::string target = "127.0.0.1:50051";  // HOST:PORT
  std::string auth_token;                  // sent as `authorization: Bearer <token>`
  std::string tls_ca;                      // PEM file: use TLS, trusting this CA
  std::string tls_cert, tls_key;           // PEM files: the client certificate (mTLS)
  std::string tls_server_name;  // the name the server's certificate carries, if not the host
  int64_t max_message_bytes = 64 << 20;  // largest result accepted
};

struct StreamOptions {
  bool ordered = false;             // results in request order (the server holds early ones back)
  std::optional<int32_t> priority;  // for requests that carry none (metadata refinery-priority)
  std::optional<std::chrono::milliseconds> timeout;  // for the whole stream
  // Requests per message (RunBatches). `next` is called until a message holds this many or the
  // source ends, so a source that waits for its requests (an agent's queue) wants 1: each
  // request then leaves as soon as `next` gives it. Results come back packed either way.
  int batch = 64;
};

class Client {
 public:
  static StatusOr<std::unique_ptr<Client>> Connect(const ClientOptions& options);

  // One request. A request the pipeline failed is a Result with ok == false; a call that failed
  // (deadline, unknown pipeline, server full, no token) is a non-OK Status naming the gRPC code.
  StatusOr<Result> Run(const std::string& pipeline, const Request& request,
                       std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Sends what `next` gives over one RunBatches call (it is called again only when the stream
  // can take more) and calls `on_result` for each result, on this thread. Returns once every result
  // came back, or the first error of the call (results already delivered stay delivered).
  Status Stream(const std::string& pipeline, const RequestSource& next,
                const ResultCallback& on_result, const StreamOptions& options = {});

  StatusOr<v1::ListPipelinesResponse> ListPipelines();
  StatusOr<v1::PipelineDescription> DescribePipeline(const std::string& pipeline);
  StatusOr<proto::RunReport> Stats(const std::string& pipeline);

 private:
  explicit Client(const ClientOptions& options, std::shared_ptr<grpc::Channel> channel);
  void Prepare(grpc::ClientContext* context) const;
  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Refinery::Stub> stub_;
};

// "CODE: message" of a failed call, e.g. "DEADLINE_EXCEEDED: deadline passed while waiting".
std::string DescribeGrpcStatus(const grpc::Status& status);

}  // namespace refinery::client
