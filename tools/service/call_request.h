// What a call's message and metadata become on the server: the engine Request a RunRequest
// carries (with the call's priority, deadline and cancellation), and the error result a stream
// answers with when it cannot run one. Shared by the unary and the streaming methods.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "graph/proto/refinery_service.grpc.pb.h"
#include "graph/request.h"
#include "graph/status.h"
#include "tools/service/serve_options.h"

namespace refinery::service {

using Clock = std::chrono::steady_clock;

std::optional<std::string> Metadata(const grpc::ServerContextBase& context, const std::string& key);

// The call's deadline on the steady clock (nullopt: the call has none).
std::optional<Clock::time_point> CallDeadline(const grpc::ServerContextBase& context);

// The pipeline a message names: its own field, else the call's metadata, else "" (the only one).
std::string PipelineName(const v1::RunRequest& message, const grpc::ServerContextBase& context);

// A request from its message: the JSON or protobuf body, the limits, and what the call adds
// (priority metadata, deadline, cancellation). `position` (1-based) is the id of a request that
// has none, as the line number is in JSON Lines input.
StatusOr<Request> BuildRequest(const v1::RunRequest& message, int64_t position,
                               const grpc::ServerContextBase& context, const ServeOptions& options,
                               std::shared_ptr<const std::atomic<bool>> cancelled);

// The id a stream answers a request with when it could not build it: its own, else its position.
std::string AnswerId(const v1::RunRequest& message, int64_t position);

// A result with status "error" and `message`, as `run` writes a request that failed.
proto::Result ErrorResult(const std::string& id, const std::string& message);

grpc::Status ToGrpc(const Status& s);

}  // namespace refinery::service
