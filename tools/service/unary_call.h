// UnaryCall: one Run call on gRPC's callback API. No thread waits for its result: the request
// goes into the pipeline from the gRPC thread that received it, and its result finishes the call
// from the graph thread that produced it (one thread handoff fewer than a synchronous handler,
// and no handler thread held per call in flight). A call that finds its pipeline full waits for
// room on a RoomWaiters thread, or fails at once with --reject-when-full.
//
// What the call maps to is as for streams (call_request.h): its deadline becomes the request's,
// `refinery-priority` the priority of a request without one, and a cancelled call (client gone,
// deadline, server drain) cancels its request, which stops before its next node.
#pragma once

#include <grpcpp/grpcpp.h>

#include "graph/proto/refinery_service.grpc.pb.h"
#include "tools/service/call_auth.h"
#include "tools/service/call_metrics.h"
#include "tools/service/pipeline_set.h"
#include "tools/service/room_waiters.h"
#include "tools/service/serve_options.h"

namespace refinery::service {

struct UnaryServices {
  const ServeOptions* options;
  const CallAuth* auth;
  ServedPipelines* pipelines;
  CallMetrics* metrics;
  RoomWaiters* waiters;
};

// Starts the call; gRPC owns the reactor returned and it deletes itself when the call is done.
grpc::ServerUnaryReactor* StartUnaryCall(grpc::CallbackServerContext* context,
                                         const v1::RunRequest* message, proto::Result* response,
                                         const UnaryServices& services);

}  // namespace refinery::service
