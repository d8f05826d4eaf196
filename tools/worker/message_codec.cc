#include "tools/worker/message_codec.h"

#include <proton/binary.hpp>
#include <proton/scalar.hpp>
#include <proton/timestamp.hpp>
#include <proton/types.hpp>
#include <proton/value.hpp>

#include "graph/io/json_io.h"

namespace refinery::worker {
namespace {

// The body as bytes: an AMQP string value, binary value, or data section (which Proton shows as
// binary). Anything else is an error the sender must hear about.
bool BodyBytes(const proton::message& message, std::string* out, std::string* error) {
  const proton::value& body = message.body();
  switch (body.type()) {
    case proton::STRING:
      *out = proton::get<std::string>(body);
      return true;
    case proton::BINARY: {
      const proton::binary bytes = proton::get<proton::binary>(body);
      out->assign(bytes.begin(), bytes.end());
      return true;
    }
    case proton::SYMBOL:
      *out = std::string(proton::get<proton::symbol>(body));
      return true;
    default:
      *error = "message body is an AMQP " + proton::type_name(body.type()) +
               ", not a string or binary holding the request";
      return false;
  }
}

std::string MessageIdText(const proton::message_id& id) {
  return id.empty() ? std::string() : proton::to_string(id);
}

}  // namespace

DecodedRequest DecodeRequest(const proton::message& message,
                             std::chrono::system_clock::time_point now) {
  DecodedRequest out;
  const std::string message_id = MessageIdText(message.id());
  const std::string content_type = message.content_type();
  out.protobuf = content_type == kProtobufContentType || content_type == "application/protobuf";
  std::string bytes, error;
  Request request;
  if (!BodyBytes(message, &bytes, &error)) {
    request.input_error = error;
  } else if (out.protobuf) {
    proto::Request msg;
    if (!msg.ParseFromString(bytes)) {
      request.input_error = "message body is not a serialized refinery.v1.Request (" +
                            std::to_string(bytes.size()) + " bytes, content-type " + content_type +
                            ")";
    } else if (StatusOr<Request> parsed = RequestFromProto(std::move(msg), 0); parsed.ok()) {
      request = std::move(parsed).value();
    } else {
      request.input_error = parsed.status().message();
    }
  } else if (StatusOr<Request> parsed = RequestFromJson(bytes, 0); parsed.ok()) {
    request = std::move(parsed).value();
  } else {
    request.input_error = "message body: " + parsed.status().message();
  }
  // RequestFromJson numbers id-less requests by line; a message has its own id instead.
  if (request.id.empty() || request.id == "0") {
    if (!message_id.empty()) request.id = message_id;
  }
  if (request.priority == 0) request.priority = message.priority();

  // Deadlines: the body's, the ttl (counted from our receipt: the broker already dropped
  // messages whose ttl ran out in the queue), and the absolute expiry; the earliest wins.
  auto earliest = [&](double ms) {
    if (ms > 0 && (request.deadline_ms <= 0 || ms < request.deadline_ms)) request.deadline_ms = ms;
  };
  if (message.ttl().milliseconds() > 0) earliest(double(message.ttl().milliseconds()));
  if (const int64_t expiry_ms = message.expiry_time().milliseconds(); expiry_ms > 0) {
    const int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    if (expiry_ms <= now_ms) {
      out.expired = true;
    } else {
      earliest(double(expiry_ms - now_ms));
    }
  }
  out.request = std::move(request);
  return out;
}

std::string FailureWord(const Result& result) {
  switch (result.failure) {
    case FailureKind::kNone:
      return result.ok ? "" : "error";
    case FailureKind::kError:
      return "error";
    case FailureKind::kDeadline:
      return "deadline";
    case FailureKind::kCancelled:
      return "cancelled";
  }
  return "error";
}

proton::message EncodeResult(const Result& result, const proton::message& request_message,
                             bool protobuf) {
  proton::message out;
  if (protobuf) {
    const std::string bytes = ResultToProto(result).SerializeAsString();
    out.body(proton::binary(bytes));
    out.content_type(kProtobufContentType);
  } else {
    out.body(ResultToJson(result));
    out.content_type(kJsonContentType);
  }
  out.id(result.id);
  const proton::message_id correlation = request_message.correlation_id();
  out.correlation_id(correlation.empty() ? request_message.id() : correlation);
  out.subject("refinery.result");
  out.durable(true);
  out.priority(request_message.priority());
  out.properties().put("refinery-ok", result.ok);
  if (!result.ok) {
    out.properties().put("refinery-failure", FailureWord(result));
    out.properties().put("refinery-error", result.error_message);
  }
  return out;
}

}  // namespace refinery::worker
