// Queue messages <-> engine requests and results. A request message carries the same JSON object
// as a JSON Lines request (docs/io.md), or a serialized refinery.v1 Request when its content-type
// is application/x-protobuf; its AMQP header maps onto the request (docs/queue-workers.md):
//   priority (0-9)               -> Request::priority, unless the body sets one
//   ttl / absolute-expiry-time   -> Request::deadline_ms (the earliest of them and the body's)
//   message-id                   -> Request::id when the body has none
// A message that cannot be decoded still becomes a request, with input_error set: it takes the
// same path as every other (one failure result, then dead-lettered), never a crash or a loss.
#pragma once

#include <chrono>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <string>

#include "graph/request.h"

namespace refinery::worker {

inline constexpr char kJsonContentType[] = "application/json";
inline constexpr char kProtobufContentType[] = "application/x-protobuf";

struct DecodedRequest {
  Request request;
  bool protobuf = false;  // answer in the same encoding
  bool expired = false;   // its absolute-expiry-time had passed on arrival
};

DecodedRequest DecodeRequest(const proton::message& message,
                             std::chrono::system_clock::time_point now);

// The result message for `request_message`: body in the request's encoding, message-id the
// request id (consumers deduplicate on it after a redelivery), correlation-id the request's
// correlation-id or else its message-id, application properties refinery-ok, refinery-failure
// and (on failure) refinery-error. Durable: it survives a broker restart.
proton::message EncodeResult(const Result& result, const proton::message& request_message,
                             bool protobuf);

// Why a failed result failed, in a word (for dead-letter reasons and properties).
std::string FailureWord(const Result& result);

}  // namespace refinery::worker
