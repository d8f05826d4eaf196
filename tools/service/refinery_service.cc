#include "tools/service/refinery_service.h"

#include <condition_variable>
#include <mutex>
#include <optional>

#include "graph/io/json_io.h"
#include "graph/spec/dot.h"
#include "graph/spec/pipeline_spec.h"
#include "tools/service/call_request.h"

namespace refinery::service {

namespace {

// Records the call in the metrics when it returns.
class CallRecord {
 public:
  CallRecord(CallMetrics* metrics, Method method) : metrics_(metrics), method_(method) {
    metrics_->Started(method);
  }
  grpc::Status Done(grpc::Status status) {
    metrics_->Handled(method_, int(status.error_code()), Clock::now() - start_);
    return status;
  }

 private:
  CallMetrics* metrics_;
  Method method_;
  Clock::time_point start_ = Clock::now();
};

void FillSummary(const std::string& name, const ServedPipeline& p, v1::PipelineSummary* out) {
  const PipelineSpec& spec = p.engine->spec();
  out->set_name(name);
  out->set_version(spec.version);
  out->set_file(p.file);
  out->set_max_in_flight(spec.max_in_flight);
  out->set_in_flight(p.engine->Stats(StatsDetail::kLive).in_flight);
  out->set_loaded_at(p.loaded_at);
}

}  // namespace

RefineryService::RefineryService(const ServeOptions& options, ServedPipelines* pipelines,
                                 CallMetrics* metrics)
    : options_(options), auth_(options.auth_token), pipelines_(pipelines), metrics_(metrics) {}

grpc::Status RefineryService::Run(grpc::ServerContext* context, const v1::RunRequest* message,
                                  proto::Result* response) {
  CallRecord call(metrics_, Method::kRun);
  if (Status s = auth_.Check(*context); !s.ok())
    return call.Done({grpc::StatusCode::UNAUTHENTICATED, s.message()});
  std::shared_ptr<const PipelineSet> set = pipelines_->current();
  StatusOr<const ServedPipeline*> pipeline = set->Find(PipelineName(*message, *context));
  if (!pipeline.ok()) return call.Done(ToGrpc(pipeline.status()));
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  StatusOr<Request> request = BuildRequest(*message, 1, *context, options_, cancelled);
  if (!request.ok()) return call.Done(ToGrpc(request.status()));

  // The result arrives on a graph thread; the state outlives this call if it returns first.
  struct Pending {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result> result;
  };
  auto pending = std::make_shared<Pending>();
  const std::optional<Clock::time_point> deadline = CallDeadline(*context);
  const Clock::time_point wait_until =
      options_.reject_when_full ? Clock::now() : deadline.value_or(Clock::time_point::max());
  Engine& engine = *(*pipeline)->engine;
  Status submitted = engine.SubmitUntil(
      std::move(request).value(),
      [pending](Result&& r) {
        std::lock_guard lock(pending->mu);
        pending->result = std::move(r);
        pending->cv.notify_all();
      },
      wait_until);
  if (!submitted.ok()) {
    if (submitted.code() == StatusCode::kResourceExhausted) {
      if (!options_.reject_when_full) {
        return call.Done({grpc::StatusCode::DEADLINE_EXCEEDED,
                          "the deadline passed while waiting for room: " + submitted.message()});
      }
      // gRPC clients with a retry policy honour the pushback; others read the message.
      const EngineStats stats = engine.Stats(StatsDetail::kLive);
      const int64_t pushback_ms =
          std::max<int64_t>(1, int64_t(stats.request_latency.p50_us / 1000));
      context->AddTrailingMetadata("grpc-retry-pushback-ms", std::to_string(pushback_ms));
      return call.Done({grpc::StatusCode::RESOURCE_EXHAUSTED,
                        submitted.message() + " (--reject-when-full); retry in about " +
                            std::to_string(pushback_ms) + " ms"});
    }
    return call.Done({grpc::StatusCode::UNAVAILABLE, submitted.message()});
  }
  std::unique_lock lock(pending->mu);
  while (!pending->result) {
    // The call can end without us: the client cancels, or its deadline passes while a node is
    // still running (a queued request fails at its deadline by itself).
    pending->cv.wait_for(lock, std::chrono::milliseconds(20));
    if (pending->result) break;
    if (context->IsCancelled() || (deadline && Clock::now() >= *deadline)) {
      cancelled->store(true);
      return call.Done({grpc::StatusCode::CANCELLED, "the call ended before its result"});
    }
  }
  Result result = std::move(*pending->result);
  lock.unlock();
  if (result.failure == FailureKind::kDeadline)
    return call.Done({grpc::StatusCode::DEADLINE_EXCEEDED, result.error_message});
  if (result.failure == FailureKind::kCancelled)
    return call.Done({grpc::StatusCode::CANCELLED, result.error_message});
  *response = ResultToProto(result);
  return call.Done(grpc::Status::OK);
}

grpc::Status RefineryService::RunStream(
    grpc::ServerContext* context, grpc::ServerReaderWriter<proto::Result, v1::RunRequest>* stream) {
  return OpenStream(context, Method::kRunStream, [&](const StreamServices& services) {
    return ServeStream(context, stream, services);
  });
}

grpc::Status RefineryService::RunBatches(
    grpc::ServerContext* context, grpc::ServerReaderWriter<v1::ResultBatch, v1::RunBatch>* stream) {
  return OpenStream(context, Method::kRunBatches, [&](const StreamServices& services) {
    return ServeStream(context, stream, services);
  });
}

grpc::Status RefineryService::OpenStream(
    grpc::ServerContext* context, Method method,
    const std::function<grpc::Status(const StreamServices&)>& serve) {
  CallRecord call(metrics_, method);
  if (Status s = auth_.Check(*context); !s.ok())
    return call.Done({grpc::StatusCode::UNAUTHENTICATED, s.message()});
  if (open_streams_.fetch_add(1) >= options_.max_streams) {
    open_streams_.fetch_sub(1);
    return call.Done({grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "this server has its maximum of " + std::to_string(options_.max_streams) +
                          " streams open (--max-streams); retry later"});
  }
  grpc::Status status = serve({&options_, pipelines_, metrics_, method});
  open_streams_.fetch_sub(1);
  return call.Done(status);
}

grpc::Status RefineryService::ListPipelines(grpc::ServerContext* context,
                                            const v1::ListPipelinesRequest*,
                                            v1::ListPipelinesResponse* response) {
  CallRecord call(metrics_, Method::kListPipelines);
  if (Status s = auth_.Check(*context); !s.ok())
    return call.Done({grpc::StatusCode::UNAUTHENTICATED, s.message()});
  std::shared_ptr<const PipelineSet> set = pipelines_->current();
  for (const auto& [name, p] : set->pipelines()) FillSummary(name, p, response->add_pipelines());
  return call.Done(grpc::Status::OK);
}

grpc::Status RefineryService::DescribePipeline(grpc::ServerContext* context,
                                               const v1::DescribePipelineRequest* request,
                                               v1::PipelineDescription* response) {
  CallRecord call(metrics_, Method::kDescribePipeline);
  if (Status s = auth_.Check(*context); !s.ok())
    return call.Done({grpc::StatusCode::UNAUTHENTICATED, s.message()});
  std::shared_ptr<const PipelineSet> set = pipelines_->current();
  StatusOr<const ServedPipeline*> found = set->Find(request->pipeline());
  if (!found.ok()) return call.Done(ToGrpc(found.status()));
  const PipelineSpec& spec = (*found)->engine->spec();
  FillSummary(spec.name, **found, response->mutable_summary());
  for (size_t i : spec.order) {
    const NodeSpec& n = spec.nodes[i];
    v1::NodeDescription* node = response->add_nodes();
    node->set_id(n.id);
    node->set_type(n.type);
    node->set_concurrency(n.concurrency.ToString());
    for (const EdgeSpec& e : spec.edges) {
      if (e.to == n.id) node->add_inputs(e.from);
    }
    for (const auto& [key, value] : n.options.all())
      (*node->mutable_options())[key] = OptionValueToString(value);
  }
  response->set_dot(PipelineToDot(spec));
  return call.Done(grpc::Status::OK);
}

grpc::Status RefineryService::Stats(grpc::ServerContext* context, const v1::StatsRequest* request,
                                    proto::RunReport* response) {
  CallRecord call(metrics_, Method::kStats);
  if (Status s = auth_.Check(*context); !s.ok())
    return call.Done({grpc::StatusCode::UNAUTHENTICATED, s.message()});
  std::shared_ptr<const PipelineSet> set = pipelines_->current();
  StatusOr<const ServedPipeline*> found = set->Find(request->pipeline());
  if (!found.ok()) return call.Done(ToGrpc(found.status()));
  const Engine& engine = *(*found)->engine;
  const double uptime = std::chrono::duration<double>(Clock::now() - (*found)->loaded).count();
  *response = BuildRunReport(engine.Stats(), engine.spec(), 0, uptime, engine.threads());
  return call.Done(grpc::Status::OK);
}

}  // namespace refinery::service
