// RefineryService: the refinery.v1.Refinery methods (graph/proto/refinery_service.proto) over the
// served pipelines. Run is on the callback API and holds no thread while its request is in the
// pipeline (unary_call.h); the streams are synchronous handlers, whose reader may block on room
// under its cap (that wait is the back-pressure).
//
// What each call maps to:
// - the call's deadline -> Request::deadline_ms (the earlier of the two), so a request still
//   queued when it passes fails at that moment (DEADLINE_EXCEEDED);
// - metadata `refinery-priority` -> the priority of requests that carry none;
// - a cancelled call (client gone, deadline, server drain) -> Request::cancelled, so its requests
//   stop before their next node and their results are dropped;
// - a stream reads at most `stream_in_flight` requests ahead of the results the client took
//   (stream_call.h).
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "graph/proto/refinery_service.grpc.pb.h"
#include "tools/service/call_auth.h"
#include "tools/service/call_metrics.h"
#include "tools/service/pipeline_set.h"
#include "tools/service/room_waiters.h"
#include "tools/service/serve_options.h"
#include "tools/service/stream_call.h"
#include "tools/service/unary_call.h"

namespace refinery::service {

// Run is on the callback API (unary_call.h); the streams and the small methods are synchronous
// handlers.
class RefineryService final
    : public refinery::v1::Refinery::WithCallbackMethod_Run<refinery::v1::Refinery::Service> {
 public:
  RefineryService(const ServeOptions& options, ServedPipelines* pipelines, CallMetrics* metrics);

  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, const v1::RunRequest* request,
                                proto::Result* response) override;
  grpc::Status RunStream(grpc::ServerContext* context,
                         grpc::ServerReaderWriter<proto::Result, v1::RunRequest>* stream) override;
  grpc::Status RunBatches(grpc::ServerContext* context,
                          grpc::ServerReaderWriter<v1::ResultBatch, v1::RunBatch>* stream) override;
  grpc::Status ListPipelines(grpc::ServerContext* context, const v1::ListPipelinesRequest* request,
                             v1::ListPipelinesResponse* response) override;
  grpc::Status DescribePipeline(grpc::ServerContext* context,
                                const v1::DescribePipelineRequest* request,
                                v1::PipelineDescription* response) override;
  grpc::Status Stats(grpc::ServerContext* context, const v1::StatsRequest* request,
                     proto::RunReport* response) override;

  int open_streams() const { return open_streams_.load(); }
  int waiting_for_room() const { return room_waiters_.running(); }

 private:
  // Checks the token and the stream limit, then runs `serve` (stream_call.h) for the call.
  grpc::Status OpenStream(grpc::ServerContext* context, Method method,
                          const std::function<grpc::Status(const StreamServices&)>& serve);

  const ServeOptions options_;
  const CallAuth auth_;
  ServedPipelines* pipelines_;
  CallMetrics* metrics_;
  std::atomic<int> open_streams_{0};
  RoomWaiters room_waiters_;  // last: its destructor waits for the calls still waiting
};

}  // namespace refinery::service
