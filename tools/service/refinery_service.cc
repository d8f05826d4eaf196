#include "tools/service/refinery_service.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "graph/io/json_io.h"
#include "graph/spec/dot.h"
#include "graph/spec/pipeline_spec.h"

namespace refinery::service {

namespace {

using Clock = std::chrono::steady_clock;

std::optional<std::string> Metadata(const grpc::ServerContext& context, const std::string& key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  if (it == metadata.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

grpc::StatusCode GrpcCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return grpc::StatusCode::OK;
    case StatusCode::kInvalidArgument:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case StatusCode::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case StatusCode::kFailedPrecondition:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case StatusCode::kResourceExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case StatusCode::kInternal:
      break;
  }
  return grpc::StatusCode::INTERNAL;
}

grpc::Status ToGrpc(const Status& s) { return {GrpcCode(s.code()), s.message()}; }

// The call's deadline on the steady clock (nullopt: the call has none).
std::optional<Clock::time_point> CallDeadline(const grpc::ServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return std::nullopt;
  return Clock::now() + (deadline - std::chrono::system_clock::now());
}

// The pipeline a message names: its own field, else the call's metadata, else the only one.
std::string PipelineName(const v1::RunRequest& message, const grpc::ServerContext& context) {
  if (!message.pipeline().empty()) return message.pipeline();
  return Metadata(context, "refinery-pipeline").value_or("");
}

// A request from its message: the JSON or protobuf body, the limits, and what the call adds
// (priority metadata, deadline, cancellation). `position` (1-based) is the id of a request that
// has none, as the line number is in JSON Lines input.
StatusOr<Request> BuildRequest(const v1::RunRequest& message, int64_t position,
                               const grpc::ServerContext& context, const ServeOptions& options,
                               std::shared_ptr<const std::atomic<bool>> cancelled) {
  StatusOr<Request> request =
      message.has_request() ? RequestFromProto(message.request(), position)
      : message.body_case() == v1::RunRequest::kJson
          ? RequestFromJson(message.json(), position)
          : StatusOr<Request>(Status::InvalidArgument(
                "the message has no request: set RunRequest.request or RunRequest.json"));
  if (!request.ok()) return request;
  Request& r = *request;
  for (const auto& [name, value] : r.fields) {
    const auto* text = std::get_if<std::string>(&value);
    if (text != nullptr && int64_t(text->size()) > options.max_field_bytes) {
      return Status::InvalidArgument(
          "request '" + r.id + "': field '" + name + "' is " + std::to_string(text->size()) +
          " bytes, over this server's limit of " + std::to_string(options.max_field_bytes) +
          " (--max-field-bytes)");
    }
  }
  if (r.priority == 0) {
    if (std::optional<std::string> p = Metadata(context, "refinery-priority")) {
      char* end = nullptr;
      const long v = std::strtol(p->c_str(), &end, 10);
      if (p->empty() || *end != '\0' || v < INT32_MIN || v > INT32_MAX) {
        return Status::InvalidArgument("the metadata 'refinery-priority' is '" + *p +
                                       "', not an integer");
      }
      r.priority = int32_t(v);
    }
  }
  if (std::optional<Clock::time_point> deadline = CallDeadline(context)) {
    const double left_ms = std::max(
        0.001, std::chrono::duration<double, std::milli>(*deadline - Clock::now()).count());
    r.deadline_ms = r.deadline_ms > 0 ? std::min(r.deadline_ms, left_ms) : left_ms;
  }
  r.cancelled = std::move(cancelled);
  return request;
}

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
  CallRecord call(metrics_, Method::kRunStream);
  if (Status s = auth_.Check(*context); !s.ok())
    return call.Done({grpc::StatusCode::UNAUTHENTICATED, s.message()});
  if (open_streams_.fetch_add(1) >= options_.max_streams) {
    open_streams_.fetch_sub(1);
    return call.Done({grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "this server has its maximum of " + std::to_string(options_.max_streams) +
                          " streams open (--max-streams); retry later"});
  }
  grpc::Status status = RunStreamAuthorized(context, stream);
  open_streams_.fetch_sub(1);
  return call.Done(status);
}

namespace {

// One stream's results between the graph threads that produce them and the handler thread that
// writes them. `in_flight` counts requests read and not yet written back: the reader waits while
// it is at the cap, so the results held here never exceed it.
struct StreamState {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<proto::Result> ready;
  std::map<uint64_t, proto::Result> held;  // ordered streams: results waiting for earlier ones
  uint64_t next_out = 0;
  bool ordered = false;
  int64_t in_flight = 0;
  bool reader_done = false;
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);

  void Deliver(uint64_t seq, proto::Result result) {
    std::lock_guard lock(mu);
    if (!ordered) {
      ready.push_back(std::move(result));
    } else {
      held.emplace(seq, std::move(result));
      for (auto it = held.begin(); it != held.end() && it->first == next_out;
           it = held.erase(it), ++next_out) {
        ready.push_back(std::move(it->second));
      }
    }
    cv.notify_all();
  }
};

proto::Result ErrorResult(const std::string& id, const std::string& message) {
  proto::Result r;
  r.set_id(id);
  r.set_status("error");
  r.mutable_error()->set_message(message);
  return r;
}

}  // namespace

grpc::Status RefineryService::RunStreamAuthorized(
    grpc::ServerContext* context, grpc::ServerReaderWriter<proto::Result, v1::RunRequest>* stream) {
  auto state = std::make_shared<StreamState>();
  const std::optional<std::string> ordered = Metadata(*context, "refinery-ordered");
  state->ordered = ordered && (*ordered == "true" || *ordered == "1");
  const std::optional<Clock::time_point> deadline = CallDeadline(*context);
  // Engines this stream submitted to stay alive until its last result (a reload may retire
  // them meanwhile). Held here, never by a callback: see pipeline_set.h.
  std::vector<std::shared_ptr<Engine>> engines;
  const int64_t cap = std::max(1, options_.stream_in_flight);

  std::thread reader([&, state] {
    for (uint64_t seq = 0;; ++seq) {
      {
        std::unique_lock lock(state->mu);
        state->cv.wait(lock, [&] { return state->in_flight < cap || state->cancelled->load(); });
        if (state->cancelled->load()) break;
      }
      v1::RunRequest message;
      if (!stream->Read(&message)) {
        // A cancelled call (client gone, deadline, server drain) stops its requests at once.
        if (context->IsCancelled()) state->cancelled->store(true);
        break;
      }
      metrics_->Received(Method::kRunStream);
      {
        std::lock_guard lock(state->mu);
        ++state->in_flight;
      }
      const int64_t position = int64_t(seq) + 1;
      std::shared_ptr<const PipelineSet> set = pipelines_->current();
      StatusOr<const ServedPipeline*> pipeline = set->Find(PipelineName(message, *context));
      StatusOr<Request> request =
          pipeline.ok() ? BuildRequest(message, position, *context, options_, state->cancelled)
                        : StatusOr<Request>(pipeline.status());
      if (!request.ok()) {
        const std::string id = message.has_request() && !message.request().id().empty()
                                   ? message.request().id()
                                   : std::to_string(position);
        state->Deliver(seq, ErrorResult(id, request.status().message()));
        continue;
      }
      const std::shared_ptr<Engine>& engine = (*pipeline)->engine;
      if (engines.empty() || engines.back() != engine) engines.push_back(engine);
      const std::string id = request->id;
      Status s = engine->SubmitUntil(
          std::move(request).value(),
          [state, seq](Result&& r) { state->Deliver(seq, ResultToProto(r)); },
          deadline.value_or(Clock::time_point::max()));
      if (!s.ok()) state->Deliver(seq, ErrorResult(id, s.message()));
    }
    std::lock_guard lock(state->mu);
    state->reader_done = true;
    state->cv.notify_all();
  });

  bool client_gone = false;
  for (;;) {
    std::unique_lock lock(state->mu);
    state->cv.wait(lock, [&] {
      return !state->ready.empty() || (state->reader_done && state->in_flight == 0);
    });
    if (state->ready.empty()) break;  // reader done and every result written
    proto::Result result = std::move(state->ready.front());
    state->ready.pop_front();
    // No WriteOptions::set_buffer_hint here even when more results wait: a synchronous Write
    // with the hint does not complete until the transport writes for another reason, so this
    // thread could not write the next result to flush it (a stream whose client had finished
    // sending stalled 60 s).
    lock.unlock();
    if (!client_gone) {
      if (stream->Write(result)) {
        metrics_->Sent(Method::kRunStream);
      } else {
        // The client went away: its requests stop, the rest of their results are dropped.
        client_gone = true;
        state->cancelled->store(true);
        context->TryCancel();
      }
    }
    lock.lock();
    --state->in_flight;
    state->cv.notify_all();
  }
  reader.join();
  if (client_gone || context->IsCancelled()) {
    state->cancelled->store(true);
    return {grpc::StatusCode::CANCELLED, "the stream was cancelled"};
  }
  return grpc::Status::OK;
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
