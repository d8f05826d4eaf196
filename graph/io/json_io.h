// JSON Lines conversion through protobuf's JSON mapping (no hand-written JSON parser):
// requests in, results out, and the run report.
#pragma once

#include <string>

#include "graph/engine.h"
#include "graph/proto/refinery.pb.h"
#include "graph/request.h"
#include "graph/status.h"

namespace refinery {

// Parses one JSON object. An empty id becomes the line number. Unknown keys are errors.
StatusOr<Request> RequestFromJson(const std::string& line, int64_t line_number);

proto::Result ResultToProto(const Result& result);
// One JSON line in the mapping of proto::Result (written by result_json.h: same output, faster).
std::string ResultToJson(const Result& result);

// The run report message from engine stats (input_errors: lines that never became requests).
proto::RunReport BuildRunReport(const EngineStats& stats, const PipelineSpec& spec,
                                int64_t input_errors, double wall_seconds, int threads);
std::string MessageToJson(const google::protobuf::Message& message, bool pretty);

}  // namespace refinery
