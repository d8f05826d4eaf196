// Result -> one line of JSON, in protobuf's JSON mapping of refinery.proto.Result
// (preserve_proto_field_names), written directly.
//
// Why not google::protobuf::util::MessageToJsonString: in protobuf 3.21 it goes through a
// binary -> type-resolver -> JSON stream and measured 32 us for a 750-byte result
// (`engine_bench json`), more than the whole pipeline's work per request. This writer produces
// the same mapping (tests parse its output back with protobuf's own JSON parser and compare
// messages). Text is emitted as valid UTF-8 whatever a node wrote (invalid bytes -> U+FFFD).
#pragma once

#include <string>

#include "graph/request.h"

namespace refinery {

void AppendResultJson(const Result& result, std::string* out);

// refinery.proto.Error.reason of a failure: "deadline_exceeded", "cancelled" or "".
const char* FailureReason(FailureKind kind);

// A JSON string literal (quotes included), valid UTF-8 whatever the input.
void AppendJsonString(std::string_view s, std::string* out);
inline std::string JsonQuote(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

}  // namespace refinery
