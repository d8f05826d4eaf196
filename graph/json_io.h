// JSON I/O (public): one request from a JSON object, one result to a JSON line, in the format
// graph-runner reads and writes (docs/io.md). Conversion goes through protobuf's JSON mapping of
// graph/proto/refinery.proto, so the text matches what other languages generate from that file.
#pragma once

#include <cstdint>
#include <string>

#include "graph/request.h"
#include "graph/status.h"

namespace refinery {

// Parses one JSON object. An empty id becomes the line number. Unknown keys are errors.
StatusOr<Request> RequestFromJson(const std::string& line, int64_t line_number);

// One JSON line in the mapping of proto::Result (written by graph/io/result_json.h: the same
// output as protobuf's printer, faster).
std::string ResultToJson(const Result& result);

}  // namespace refinery
