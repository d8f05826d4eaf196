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
    : options_(options),
      auth_(options.auth_token),
      pipelines_(pipelines),
      metrics_(metrics),
      room_waiters_(options.max_threads) {}

grpc::ServerUnaryReactor* RefineryService::Run(grpc::CallbackServerContext* context,
                                               const v1::RunRequest* message,
                                               proto::Result* response) {
  return StartUnaryCall(context, message, response,
                        {&options_, &auth_, pipelines_, metrics_, &room_waiters_});
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
