// One streaming call (RunStream or RunBatches) from its first message to its status: requests
// read from the client go into the pipelines, results go back as they finish (or in request
// order), at most `stream_in_flight` requests between the two.
//
// Two threads per call: this handler thread writes results, a reader thread reads requests and
// submits them. The reader stops reading while the stream holds its cap of requests, so a client
// that does not take its results is stopped by HTTP/2 flow control instead of being buffered.
// RunBatches differs from RunStream only in framing: a message carries many requests (submitted
// one by one as room frees) or many results (every result ready when the writer takes them).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "graph/proto/refinery_service.grpc.pb.h"
#include "tools/service/call_metrics.h"
#include "tools/service/pipeline_set.h"
#include "tools/service/serve_options.h"

namespace refinery::service {

struct StreamServices {
  const ServeOptions* options;
  ServedPipelines* pipelines;
  CallMetrics* metrics;
  Method method;  // whose message counters this call feeds
};

// In/Out: v1::RunRequest/proto::Result (RunStream) or v1::RunBatch/v1::ResultBatch (RunBatches).
template <class In, class Out>
grpc::Status ServeStream(grpc::ServerContext* context, grpc::ServerReaderWriter<Out, In>* stream,
                         const StreamServices& services);

// A result message holds at most this much (a single larger result goes alone): under the 4 MiB
// that gRPC clients accept by default, so any client reads what RunBatches sends.
inline constexpr size_t kResultBatchBytes = 1 << 20;
// How long a RunBatches writer waits for a fuller message while more results are on their way
// (stream_call.cc): the most a result can be held back.
inline constexpr std::chrono::microseconds kResultLinger{200};

}  // namespace refinery::service
