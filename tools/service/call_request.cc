#include "tools/service/call_request.h"

#include <climits>
#include <cstdlib>

#include "graph/io/json_io.h"

namespace refinery::service {

namespace {

grpc::StatusCode GrpcCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return grpc::StatusCode::OK;
    case StatusCode::kInvalidArgument:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case StatusCode::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case StatusCode::kFailedPrecondition:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case StatusCode::kResourceExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case StatusCode::kInternal:
      break;
  }
  return grpc::StatusCode::INTERNAL;
}

}  // namespace

grpc::Status ToGrpc(const Status& s) { return {GrpcCode(s.code()), s.message()}; }

std::optional<std::string> Metadata(const grpc::ServerContextBase& context,
                                    const std::string& key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  if (it == metadata.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

std::optional<Clock::time_point> CallDeadline(const grpc::ServerContextBase& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return std::nullopt;
  return Clock::now() + (deadline - std::chrono::system_clock::now());
}

std::string PipelineName(const v1::RunRequest& message, const grpc::ServerContextBase& context) {
  if (!message.pipeline().empty()) return message.pipeline();
  return Metadata(context, "refinery-pipeline").value_or("");
}

StatusOr<Request> BuildRequest(const v1::RunRequest& message, int64_t position,
                               const grpc::ServerContextBase& context, const ServeOptions& options,
                               std::shared_ptr<const std::atomic<bool>> cancelled) {
  StatusOr<Request> request =
      message.has_request() ? RequestFromProto(message.request(), position)
      : message.body_case() == v1::RunRequest::kJson
          ? RequestFromJson(message.json(), position)
          : StatusOr<Request>(Status::InvalidArgument(
                "the message has no request: set RunRequest.request or RunRequest.json"));
  if (!request.ok()) return request;
  Request& r = *request;
  for (const auto& [name, value] : r.fields) {
    const auto* text = std::get_if<std::string>(&value);
    if (text != nullptr && int64_t(text->size()) > options.max_field_bytes) {
      return Status::InvalidArgument(
          "request '" + r.id + "': field '" + name + "' is " + std::to_string(text->size()) +
          " bytes, over this server's limit of " + std::to_string(options.max_field_bytes) +
          " (--max-field-bytes)");
    }
  }
  if (r.priority == 0) {
    if (std::optional<std::string> p = Metadata(context, "refinery-priority")) {
      char* end = nullptr;
      const long v = std::strtol(p->c_str(), &end, 10);
      if (p->empty() || *end != '\0' || v < INT32_MIN || v > INT32_MAX) {
        return Status::InvalidArgument("the metadata 'refinery-priority' is '" + *p +
                                       "', not an integer");
      }
      r.priority = int32_t(v);
    }
  }
  if (std::optional<Clock::time_point> deadline = CallDeadline(context)) {
    const double left_ms = std::max(
        0.001, std::chrono::duration<double, std::milli>(*deadline - Clock::now()).count());
    r.deadline_ms = r.deadline_ms > 0 ? std::min(r.deadline_ms, left_ms) : left_ms;
  }
  r.cancelled = std::move(cancelled);
  return request;
}

std::string AnswerId(const v1::RunRequest& message, int64_t position) {
  return message.has_request() && !message.request().id().empty() ? message.request().id()
                                                                  : std::to_string(position);
}

proto::Result ErrorResult(const std::string& id, const std::string& message) {
  proto::Result r;
  r.set_id(id);
  r.set_status("error");
  r.mutable_error()->set_message(message);
  return r;
}

}  // namespace refinery::service
