#include "tools/service/unary_call.h"

#include <atomic>
#include <memory>

#include "graph/io/json_io.h"
#include "tools/service/call_request.h"

namespace refinery::service {

namespace {

class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  UnaryCall(grpc::CallbackServerContext* context, const v1::RunRequest* message,
            proto::Result* response, const UnaryServices& services)
      : context_(context), message_(message), response_(response), services_(services) {
    services_.metrics->Started(Method::kRun);
  }

  // Runs inside the gRPC handler: until it returns, no OnCancel and no OnDone can run.
  void Begin();

  // The client went away, the deadline passed or the server drains: the request stops before
  // its next node and its result, if it still comes, is dropped.
  void OnCancel() override {
    state_->cancelled->store(true);
    if (Claim()) End({grpc::StatusCode::CANCELLED, "the call ended before its result"});
  }
  void OnDone() override { delete this; }

 private:
  // What the result callback and the room waiter share with the call; it outlives the call.
  struct State {
    std::atomic<bool> finished{false};
    std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  };

  // Whoever claims the call (its result, a refusal, its cancellation) finishes it; the others
  // leave it alone, as it may be gone already.
  bool Claim() { return !state_->finished.exchange(true); }
  void End(grpc::Status status) {
    services_.metrics->Handled(Method::kRun, int(status.error_code()), Clock::now() - start_);
    Finish(status);
  }
  void Deliver(Result&& result);
  // Waits for room on a RoomWaiters thread; the request was built from the message again.
  void WaitForRoom(std::shared_ptr<Engine> engine, Request request);
  void RefuseFull(const Engine& engine, const Status& submitted);
  ResultCallback OnResult() {
    return [this, state = state_](Result&& r) {
      if (!state->finished.exchange(true)) Deliver(std::move(r));
    };
  }

  grpc::CallbackServerContext* const context_;
  const v1::RunRequest* const message_;
  proto::Result* const response_;
  const UnaryServices services_;
  const Clock::time_point start_ = Clock::now();
  const std::shared_ptr<State> state_ = std::make_shared<State>();
  // The pipelines this call resolved against, kept until the call is done even if a reload
  // retires them; released in OnDone, on a gRPC thread, never on one of the engine's own.
  std::shared_ptr<const PipelineSet> set_;
};

void UnaryCall::Begin() {
  auto refuse = [&](grpc::Status status) {
    if (Claim()) End(std::move(status));
  };
  if (Status s = services_.auth->Check(*context_); !s.ok())
    return refuse({grpc::StatusCode::UNAUTHENTICATED, s.message()});
  set_ = services_.pipelines->current();
  StatusOr<const ServedPipeline*> pipeline = set_->Find(PipelineName(*message_, *context_));
  if (!pipeline.ok()) return refuse(ToGrpc(pipeline.status()));
  auto build = [&] {
    return BuildRequest(*message_, 1, *context_, *services_.options, state_->cancelled);
  };
  StatusOr<Request> request = build();
  if (!request.ok()) return refuse(ToGrpc(request.status()));
  const std::shared_ptr<Engine>& engine = (*pipeline)->engine;
  // Straight in when there is room: the common case costs no thread.
  Status submitted = engine->SubmitUntil(std::move(request).value(), OnResult(), Clock::now());
  if (submitted.ok()) return;
  if (submitted.code() != StatusCode::kResourceExhausted)
    return refuse({grpc::StatusCode::UNAVAILABLE, submitted.message()});
  if (services_.options->reject_when_full) return RefuseFull(*engine, submitted);
  // Not submitted, so no result callback exists and the message is still ours: build it again.
  WaitForRoom(engine, std::move(build()).value());
}

void UnaryCall::WaitForRoom(std::shared_ptr<Engine> engine, Request request) {
  const Clock::time_point until = CallDeadline(*context_).value_or(Clock::time_point::max());
  const bool started =
      services_.waiters->Start([this, engine, until, state = state_,
                                request = std::make_shared<Request>(std::move(request))]() mutable {
        // The call may be cancelled and gone while this waits; it is touched only once claimed.
        Status s = engine->SubmitUntil(std::move(*request), OnResult(), until);
        if (s.ok() || state->finished.exchange(true)) return;
        End(s.code() == StatusCode::kResourceExhausted
                ? grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                               "the deadline passed while waiting for room: " + s.message())
                : grpc::Status(grpc::StatusCode::UNAVAILABLE, s.message()));
      });
  if (!started && Claim()) {
    End({grpc::StatusCode::RESOURCE_EXHAUSTED,
         "pipeline '" + engine->pipeline_name() + "' is full and " +
             std::to_string(services_.options->max_threads) +
             " calls already wait for room (--max-threads); retry later"});
  }
}

void UnaryCall::RefuseFull(const Engine& engine, const Status& submitted) {
  if (!Claim()) return;
  // gRPC clients with a retry policy honour the pushback; others read the message.
  const EngineStats stats = engine.Stats(StatsDetail::kLive);
  const int64_t pushback_ms = std::max<int64_t>(1, int64_t(stats.request_latency.p50_us / 1000));
  context_->AddTrailingMetadata("grpc-retry-pushback-ms", std::to_string(pushback_ms));
  End({grpc::StatusCode::RESOURCE_EXHAUSTED, submitted.message() +
                                                 " (--reject-when-full); retry in about " +
                                                 std::to_string(pushback_ms) + " ms"});
}

void UnaryCall::Deliver(Result&& result) {
  if (result.failure == FailureKind::kDeadline)
    return End({grpc::StatusCode::DEADLINE_EXCEEDED, result.error_message});
  if (result.failure == FailureKind::kCancelled)
    return End({grpc::StatusCode::CANCELLED, result.error_message});
  *response_ = ResultToProto(result);
  End(grpc::Status::OK);
}

}  // namespace

grpc::ServerUnaryReactor* StartUnaryCall(grpc::CallbackServerContext* context,
                                         const v1::RunRequest* message, proto::Result* response,
                                         const UnaryServices& services) {
  auto* call = new UnaryCall(context, message, response, services);
  call->Begin();
  return call;
}

}  // namespace refinery::service
