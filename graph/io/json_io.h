// The protobuf side of JSON I/O (graph/json_io.h is the public side): results and the run report as
// messages of graph/proto/refinery.proto.
#pragma once

#include <string>

#include "graph/engine.h"
#include "graph/json_io.h"
#include "graph/proto/refinery.pb.h"
#include "graph/request.h"
#include "graph/status.h"

namespace refinery {

proto::Result ResultToProto(const Result& result);
// The inverse, for clients of the gRPC service: ResultToJson(ResultFromProto(ResultToProto(r)))
// writes the same line as ResultToJson(r).
Result ResultFromProto(const proto::Result& msg);

// Requests as messages (the gRPC service's wire form). An empty id becomes `line_number`.
StatusOr<Request> RequestFromProto(proto::Request msg, int64_t line_number);
proto::Request RequestToProto(const Request& request);

// The run report message from engine stats (input_errors: lines that never became requests).
proto::RunReport BuildRunReport(const EngineStats& stats, const PipelineSpec& spec,
                                int64_t input_errors, double wall_seconds, int threads);
std::string MessageToJson(const google::protobuf::Message& message, bool pretty);

}  // namespace refinery
