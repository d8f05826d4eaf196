#include "graph/runtime/engine_core.h"

#include <spdlog/spdlog.h>

#include <limits>
#include <thread>

#include "graph/internal/cycle_clock.h"
#include "graph/runtime/loop_controller.h"

namespace refinery {

namespace {
// The item plus where its result goes. Allocated once per request by make_shared, so the callback
// costs no separate allocation or lookup table.
struct SubmittedItem : TrackedItem {
  SubmittedItem(std::string id, std::string type, int32_t priority, uint64_t seq, ResultCallback cb,
                const ResultCallback* shared)
      : TrackedItem(std::move(id), std::move(type), priority, seq),
        callback(std::move(cb)),
        shared_callback(shared) {}
  ResultCallback callback;                // Submit: each request's own
  const ResultCallback* shared_callback;  // Run: one for the whole stream, not copied per item
};
}  // namespace

EngineCore::EngineCore(PipelineSpec spec, EngineOptions options)
    : spec_(std::move(spec)),
      options_(options),
      gate_(spec_.max_in_flight),
      nanos_per_tick_(internal::CycleClock::NanosPerTick()),
      created_ticks_(internal::CycleClock::Now()) {
  if (options_.threads <= 0) {
    options_.threads = std::max(1u, std::thread::hardware_concurrency());
  }
  parallelism_ = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                       size_t(options_.threads) + 1);
  arena_ = std::make_unique<tbb::task_arena>(options_.threads, /*reserved_for_masters=*/0);
}

StatusOr<std::unique_ptr<EngineCore>> EngineCore::Create(PipelineSpec spec, EngineOptions options) {
  std::unique_ptr<EngineCore> engine(new EngineCore(std::move(spec), options));
  EngineCore* self = engine.get();
  StatusOr<std::unique_ptr<FlowGraph>> graph = FlowGraph::Compile(
      engine->spec_, options.ordered, [self](const ItemPtr& item) { self->Finish(item); },
      *engine->arena_);
  if (!graph.ok()) return graph.status();
  engine->graph_ = std::move(graph).value();
  std::vector<std::string> metric_names;
  for (const auto& stage : engine->graph_->stages()) {
    for (const std::string& m : stage->io().metrics) metric_names.push_back(m);
  }
  if (!engine->spec_.loops.empty()) {
    for (const char* m : {"loop.passes", "loop.passed", "loop.spent"}) metric_names.push_back(m);
    if (engine->spec_.loops.front().adapt) metric_names.push_back("loop.start_pass");
  }
  engine->metrics_ = std::make_unique<MetricAggregator>(std::move(metric_names));
  for (const auto& stage : engine->graph_->stages()) {
    const FieldIo& io = stage->io();
    if (!io.tokens_in.empty() || !io.tokens_out.empty() || !io.cost.empty()) {
      engine->token_fields_.push_back(
          {io.tokens_in, io.tokens_out, io.saves_tokens, io.cost, stage->spec().id});
    }
  }
  auto monitor = monitor::Monitor::Create(options.monitoring, engine->spec_.name);
  if (!monitor.ok()) return monitor.status();
  engine->monitor_ = std::move(monitor).value();
  return engine;
}

EngineCore::~EngineCore() {
  if (graph_ == nullptr) return;  // Create() failed before the graph existed
  Shutdown();
  graph_.reset();  // waits for graph tasks; node bodies reference stages owned by the graph
}

ItemPtr EngineCore::MakeItem(Request&& request, ResultCallback on_result,
                             const ResultCallback* shared_callback) {
  const uint64_t seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
  auto item =
      std::make_shared<SubmittedItem>(std::move(request.id), std::move(request.type),
                                      request.priority, seq, std::move(on_result), shared_callback);
  item->set_fields(std::move(request.fields));
  item->set_cancel_flag(std::move(request.cancelled));
  if (request.deadline_ms > 0) {
    // In double first: a deadline beyond the tick counter's range (1e13 ms overflowed into the
    // past and failed at once) is no deadline at all.
    const double ticks = request.deadline_ms * 1e6 / nanos_per_tick_;
    const double room = double(std::numeric_limits<uint64_t>::max() - item->submitted_ticks());
    if (ticks < room) item->set_deadline_ticks(item->submitted_ticks() + uint64_t(ticks));
  }
  if (!request.input_error.empty())
    item->Fail("", std::move(request.input_error));
  else if (const LoopController* loop = graph_->loop_controller())
    loop->Start(*item);
  item->trace().reserve(graph_->stages().size());
  submitted_.fetch_add(1, std::memory_order_acq_rel);
  return item;
}

Status EngineCore::Submit(Request request, ResultCallback on_result) {
  return SubmitUntil(std::move(request), std::move(on_result), std::nullopt);
}

Status EngineCore::SubmitUntil(Request request, ResultCallback on_result,
                               std::optional<std::chrono::steady_clock::time_point> wait_until) {
  auto refuse = [&](const std::string& why) {
    return Status::FailedPrecondition(why + "; request '" + request.id + "' was not accepted");
  };
  if (streaming_.load(std::memory_order_acquire)) return refuse("a Run() stream is in progress");
  if (!accepting_.load(std::memory_order_acquire)) return refuse("engine is shut down");
  const AdmissionGate::Outcome got = wait_until ? gate_.AcquireUntil(*wait_until, request.priority)
                                     : gate_.Acquire(request.priority) ? AdmissionGate::kAcquired
                                                                       : AdmissionGate::kClosed;
  if (got == AdmissionGate::kTimedOut) {
    return Status::ResourceExhausted(
        "pipeline '" + spec_.name + "' is full (max_in_flight " + std::to_string(gate_.capacity()) +
        " requests in flight); request '" + request.id + "' was not accepted");
  }
  if (got == AdmissionGate::kClosed) return refuse("engine is shut down");
  if (!accepting_.load(std::memory_order_acquire)) {
    gate_.Release();
    return refuse("engine is shut down");
  }
  // The slot is taken before the item exists, so live items never exceed max_in_flight.
  std::unique_lock lock(submit_mu_, std::defer_lock);
  if (options_.ordered) lock.lock();  // sequence numbers must reach the graph without gaps
  ItemPtr item = MakeItem(std::move(request), std::move(on_result));
  item->HoldAdmission(&gate_);
  graph_->Put(item);
  return Status::Ok();
}

Status EngineCore::Run(const RequestSource& next, ResultCallback on_result) {
  std::unique_lock run_lock(run_mu_, std::try_to_lock);
  if (!run_lock.owns_lock()) return Status::FailedPrecondition("another Run() is in progress");
  if (!accepting_.load(std::memory_order_acquire)) {
    return Status::FailedPrecondition("engine is shut down");
  }
  streaming_.store(true, std::memory_order_release);
  Drain();  // items submitted before the stream started
  RequestSource guarded = [&](Request* r) {
    return accepting_.load(std::memory_order_acquire) && next(r);
  };
  graph_->Stream(
      guarded, [&](Request&& r) { return MakeItem(std::move(r), nullptr, &on_result); }, gate_,
      *arena_, [this] { Drain(); });
  streaming_.store(false, std::memory_order_release);
  Drain();
  return Status::Ok();
}

std::future<Result> EngineCore::Submit(Request request) {
  auto promise = std::make_shared<std::promise<Result>>();
  std::future<Result> future = promise->get_future();
  std::string id = request.id;
  Status s =
      Submit(std::move(request), [promise](Result&& r) { promise->set_value(std::move(r)); });
  if (!s.ok()) {
    Result r;
    r.id = id;
    r.ok = false;
    r.error_message = s.message();
    promise->set_value(std::move(r));
  }
  return future;
}

void EngineCore::Finish(const ItemPtr& handle) {
  auto& item = static_cast<SubmittedItem&>(*handle);
  Result r;
  r.id = item.id();
  r.type = item.type();
  r.priority = item.priority();
  r.seq = item.seq();
  r.ok = !item.failed();
  r.failure = item.failed() ? item.failure() : FailureKind::kNone;
  r.error_node = item.error_node();
  r.error_message = item.error_message();
  r.iterations = std::max(1, item.iteration());
  r.trace = std::move(item.trace());
  r.fields = item.TakeFields();
  if (LoopState* loop = item.loop_state_if_any()) r.pass_ms = std::move(loop->pass_ms);
  const uint64_t now = internal::CycleClock::Now();
  const int64_t latency_ns = now > item.submitted_ticks()
                                 ? int64_t(double(now - item.submitted_ticks()) * nanos_per_tick_)
                                 : 0;
  r.latency_ms = latency_ns / 1e6;
  request_latency_.Record(latency_ns);
  if (!r.ok)
    failed_.fetch_add(1, std::memory_order_relaxed);
  else if (!metrics_->empty())
    metrics_->Record(r.fields);
  Observe(r);
  counted_.fetch_add(1, std::memory_order_acq_rel);
  ResultCallback callback = std::move(item.callback);
  const ResultCallback* target = item.shared_callback ? item.shared_callback : &callback;
  if (*target) {
    try {
      (*target)(std::move(r));
    } catch (const std::exception& e) {
      spdlog::error("result callback for request '{}' threw: {}", item.id(), e.what());
    } catch (...) {
      spdlog::error("result callback for request '{}' threw", item.id());
    }
  }
  completed_.fetch_add(1, std::memory_order_acq_rel);
  if (drainers_.load(std::memory_order_acquire) > 0) {
    std::lock_guard lock(drain_mu_);
    drain_cv_.notify_all();
  }
}

namespace {
// Whether `node`'s last run on this result was a cache hit (its cost field is then a copy).
bool ServedFromCache(const Result& r, const std::string& node) {
  for (auto it = r.trace.rbegin(); it != r.trace.rend(); ++it)
    if (it->node == node) return it->cache_hit;
  return false;
}
}  // namespace

// Feeds the monitor; tokens come from the fields the nodes declared (FieldIo::tokens_in/out).
void EngineCore::Observe(const Result& r) {
  if (!monitor_->config().enabled) return;
  monitor::Observation o;
  o.type = r.type;
  o.ok = r.ok;
  o.latency_ms = r.latency_ms;
  o.iterations = r.iterations;
  o.pass_ms = &r.pass_ms;
  o.fields = &r.fields;
  auto number = [&](const std::string& name) -> const double* {
    if (name.empty()) return nullptr;
    auto it = r.fields.find(name);
    return it == r.fields.end() ? nullptr : std::get_if<double>(&it->second);
  };
  bool have_in = false;
  for (const TokenFields& t : token_fields_) {
    const double* in = number(t.in);
    const double* out = number(t.out);
    if (in && !have_in) {
      o.tokens_in = *in;
      have_in = true;
    }
    if (out) o.tokens_out = *out;
    if (t.saves && in && out && *in > *out) o.tokens_saved += *in - *out;
    if (const double* cost = number(t.cost); cost && !ServedFromCache(r, t.node)) o.cost += *cost;
    o.has_tokens = o.has_tokens || in || out;
  }
  const uint64_t now = internal::CycleClock::Now();
  o.at_seconds = now > created_ticks_ ? double(now - created_ticks_) * nanos_per_tick_ / 1e9 : 0;
  monitor_->Observe(o);
}

void EngineCore::Drain() {
  graph_->SetDraining(true);  // waiting rooms stop holding items for fuller batches
  {
    std::unique_lock lock(drain_mu_);
    drainers_.fetch_add(1);
    drain_cv_.wait(lock, [&] { return completed_.load() >= submitted_.load(); });
    drainers_.fetch_sub(1);
  }
  graph_->SetDraining(false);
  graph_->WaitForAll();
  const int64_t in = submitted_.load(), out = completed_.load();
  if (in != out) {
    // docs/architecture.md, oneTBB facts: wait_for_all alone can return with work parked; our count
    // is the truth.
    spdlog::critical("engine accounting mismatch: {} submitted, {} completed", in, out);
  }
}

void EngineCore::StopAccepting() {
  accepting_.store(false, std::memory_order_release);
  gate_.Close();
}

void EngineCore::Shutdown() {
  StopAccepting();
  Drain();
}

EngineStats EngineCore::Stats(StatsDetail detail) const {
  EngineStats s;
  s.submitted = submitted_.load();
  s.completed = counted_.load();
  s.failed = failed_.load();
  s.succeeded = s.completed - s.failed;
  s.in_flight = gate_.in_flight();
  s.peak_in_flight = gate_.peak_in_flight();
  s.max_in_flight = gate_.capacity();
  s.elapsed_seconds = std::chrono::duration<double>(Clock::now() - created_).count();
  s.request_latency = request_latency_.Summary();
  for (const auto& stage : graph_->stages()) {
    const NodeStats& ns = stage->stats();
    NodeStatsSnapshot n;
    n.id = stage->spec().id;
    n.type = stage->spec().type;
    n.concurrency = stage->spec().concurrency.ToString();
    int64_t finished = ns.latency.count();
    int64_t arrived = ns.arrived.Load();
    n.items = finished;
    n.errors = ns.errors.Load();
    n.waiting = std::max<int64_t>(0, arrived - finished - ns.expired.Load());
    n.busy_seconds = ns.busy_ns.Load() / 1e9;
    if (const WaitingRoom* room = stage->room()) n.queue = room->Stats();
    n.latency = ns.latency.Summary();
    n.latency_buckets = ns.latency.CumulativeCounts(LatencyBucketBounds());
    for (const EdgeSpec& e : spec_.edges) {
      if (e.to == n.id) n.inputs.push_back(e.from);
    }
    if (const std::string& group = stage->spec().group; !group.empty()) {
      // Inside a parallel branch: fed by the previous node of the branch, or by the group.
      for (const std::vector<size_t>& branch : spec_.FindNode(group)->parallel->branches) {
        for (size_t k = 0; k < branch.size(); ++k) {
          if (spec_.nodes[branch[k]].id == n.id)
            n.inputs.push_back(k == 0 ? group : spec_.nodes[branch[k - 1]].id);
        }
      }
    }
    if (NodeCache* cache = stage->cache()) {
      n.cache_enabled = true;
      n.cache = cache->Stats();
    }
    s.nodes.push_back(std::move(n));
  }
  s.metrics = metrics_->Summaries(detail == StatsDetail::kFull);
  s.monitor = monitor_->Snapshot();
  return s;
}

void EngineCore::ClearCaches() {
  for (const auto& stage : graph_->stages()) {
    if (NodeCache* cache = stage->cache()) cache->Clear();
  }
}

}  // namespace refinery
