#include "graph/io/json_io.h"

#include <google/protobuf/util/json_util.h>

#include <cmath>

#include "graph/io/result_json.h"
#include "graph/io/utf8.h"
#include "graph/spec/pipeline_spec.h"

namespace refinery {

namespace pbjson = google::protobuf::util;

StatusOr<Request> RequestFromJson(const std::string& line, int64_t line_number) {
  proto::Request msg;
  pbjson::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = pbjson::JsonStringToMessage(line, &msg, options);
  if (!status.ok()) {
    // protobuf quotes the offending input: keep the message printable and short.
    std::string why = utf8::ToValidUtf8(std::string(status.message()).substr(0, 200));
    for (char& c : why) {
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    return Status::InvalidArgument("not a valid request: " + why);
  }
  return RequestFromProto(std::move(msg), line_number);
}

StatusOr<Request> RequestFromProto(proto::Request msg, int64_t line_number) {
  Request r;
  if (msg.has_id() && msg.id().empty()) {
    return Status::InvalidArgument(
        "not a valid request: \"id\" is empty; give a non-empty id, or leave it out to use the "
        "line number");
  }
  r.id = msg.has_id() ? msg.id() : std::to_string(line_number);
  r.type = msg.type();
  r.priority = msg.priority();
  if (msg.deadline_ms() < 0 || !std::isfinite(msg.deadline_ms())) {
    return Status::InvalidArgument(
        "not a valid request: deadline_ms must be a number of milliseconds >= 0");
  }
  r.deadline_ms = msg.deadline_ms();
  r.input_error = msg.input_error();
  for (const auto& [k, v] : msg.fields()) r.fields[k] = v;
  if (msg.has_text()) r.fields["text"] = std::move(*msg.mutable_text());
  if (msg.has_reference()) r.fields["reference"] = std::move(*msg.mutable_reference());
  if (msg.references_size() > 0) {
    std::string joined;
    for (int i = 0; i < msg.references_size(); ++i) {
      if (i) joined += kMultiTextSeparator;
      joined += msg.references(i);
    }
    r.fields["references"] = std::move(joined);
  }
  return r;
}

proto::Request RequestToProto(const Request& request) {
  proto::Request msg;
  msg.set_id(request.id);
  msg.set_type(request.type);
  msg.set_priority(request.priority);
  msg.set_deadline_ms(request.deadline_ms);
  msg.set_input_error(request.input_error);
  for (const auto& [name, value] : request.fields) {
    const auto* text = std::get_if<std::string>(&value);
    if (text == nullptr) continue;  // requests carry text; numbers and ids are made by nodes
    if (name == "text") {
      msg.set_text(*text);
    } else if (name == "reference") {
      msg.set_reference(*text);
    } else if (name == "references") {
      size_t start = 0;
      for (;;) {
        const size_t end = text->find(kMultiTextSeparator, start);
        msg.add_references(text->substr(start, end - start));
        if (end == std::string::npos) break;
        start = end + 1;
      }
    } else {
      (*msg.mutable_fields())[name] = *text;
    }
  }
  return msg;
}

Result ResultFromProto(const proto::Result& msg) {
  Result r;
  r.id = msg.id();
  r.type = msg.type();
  r.ok = msg.status() == "ok";
  for (const auto& [name, text] : msg.fields()) r.fields[name] = text;
  for (const auto& [name, score] : msg.scores()) r.fields[name] = score;
  for (const auto& [name, ids] : msg.tokens())
    r.fields[name] = TokenIds(ids.ids().begin(), ids.ids().end());
  r.iterations = msg.iterations();
  r.latency_ms = msg.latency_ms();
  for (const proto::NodeTiming& t : msg.trace())
    r.trace.push_back({t.node(), t.micros(), t.cache_hit()});
  if (!r.ok) {
    r.error_node = msg.error().node();
    r.error_message = msg.error().message();
    r.failure =
        msg.error().reason() == FailureReason(FailureKind::kDeadline)    ? FailureKind::kDeadline
        : msg.error().reason() == FailureReason(FailureKind::kCancelled) ? FailureKind::kCancelled
                                                                         : FailureKind::kError;
  }
  return r;
}

proto::Result ResultToProto(const Result& result) {
  proto::Result msg;
  msg.set_id(result.id);
  msg.set_type(result.type);
  msg.set_status(result.ok ? "ok" : "error");
  for (const auto& [name, value] : result.fields) {
    if (const auto* s = std::get_if<std::string>(&value)) {
      (*msg.mutable_fields())[name] = *s;
    } else if (const auto* t = std::get_if<TokenIds>(&value)) {
      auto& ids = (*msg.mutable_tokens())[name];
      ids.mutable_ids()->Add(t->begin(), t->end());
    } else {
      (*msg.mutable_scores())[name] = std::get<double>(value);
    }
  }
  msg.set_iterations(result.iterations);
  msg.set_latency_ms(result.latency_ms);
  for (const NodeTiming& t : result.trace) {
    auto* timing = msg.add_trace();
    timing->set_node(t.node);
    timing->set_micros(t.micros);
    timing->set_cache_hit(t.cache_hit);
  }
  if (!result.ok) {
    msg.mutable_error()->set_node(result.error_node);
    msg.mutable_error()->set_message(result.error_message);
    msg.mutable_error()->set_reason(FailureReason(result.failure));
  }
  return msg;
}

std::string MessageToJson(const google::protobuf::Message& message, bool pretty) {
  std::string out;
  pbjson::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = pretty;
  options.always_print_primitive_fields = true;  // 0 and "" are data too (counts in reports)
  (void)pbjson::MessageToJsonString(message, &out, options);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string ResultToJson(const Result& result) {
  std::string out;
  out.reserve(256);
  AppendResultJson(result, &out);
  return out;
}

namespace {
void FillLatency(const LatencySummary& s, proto::Latency* out) {
  out->set_count(s.count);
  out->set_mean_us(s.mean_us);
  out->set_p50_us(s.p50_us);
  out->set_p95_us(s.p95_us);
  out->set_p99_us(s.p99_us);
  out->set_max_us(s.max_us);
}
}  // namespace

namespace {

void FillBuckets(const std::vector<int64_t>& cumulative,
                 google::protobuf::RepeatedPtrField<proto::HistogramBucket>* out) {
  const std::vector<double>& bounds = LatencyBucketBounds();
  for (size_t i = 0; i < cumulative.size() && i < bounds.size(); ++i) {
    proto::HistogramBucket* b = out->Add();
    b->set_le(bounds[i]);
    b->set_count(cumulative[i]);
  }
}

void FillQueue(const WaitingRoomStats& q, proto::QueueReport* out) {
  out->set_enabled(true);
  out->set_order(q.order);
  out->set_arrived(q.arrived);
  out->set_peak_waiting(q.peak_waiting);
  out->set_expired(q.expired);
  out->set_batches(q.batches);
  out->set_batched_items(q.batched_items);
  out->set_mean_batch_size(q.batches ? double(q.batched_items) / double(q.batches) : 0);
  // Up to the largest size seen, so a report is not padded with the adaptation's bound.
  size_t last = 0;
  for (size_t n = 1; n < q.batch_sizes.size(); ++n) {
    if (q.batch_sizes[n] > 0) last = n;
  }
  for (size_t n = 0; n <= last; ++n) out->add_batch_sizes(q.batch_sizes[n]);
  for (FlushReason r :
       {FlushReason::kFull, FlushReason::kTokens, FlushReason::kDelay, FlushReason::kDrain}) {
    (*out->mutable_flushes())[FlushReasonName(r)] = q.flushes[int(r)];
  }
  out->set_mean_wait_ms(q.batched_items ? q.wait_ms_sum / double(q.batched_items) : 0);
  out->set_max_wait_ms(q.max_wait_ms);
  out->set_max_items(q.max_items);
  out->set_max_delay_ms(q.max_delay_ms);
  out->set_adapt(q.adapt);
  out->set_adapt_grow(q.adapt_grow);
  out->set_adapt_shrink(q.adapt_shrink);
  out->set_adapt_fits(q.adapt_fits);
  out->set_last_window_p95_ms(q.last_window_p95_ms);
}

void FillMonitor(const monitor::MonitorSnapshot& m, proto::RunReport* r) {
  for (const monitor::TypeSnapshot& t : m.types) {
    proto::TypeReport* out = r->add_types();
    out->set_type(t.type);
    out->set_requests(t.requests);
    out->set_failed(t.failed);
    FillLatency(t.latency, out->mutable_latency());
    FillBuckets(t.latency_buckets, out->mutable_latency_histogram());
    FillLatency(t.pass_latency, out->mutable_pass_latency());
    FillBuckets(t.pass_buckets, out->mutable_pass_histogram());
    size_t used = t.iterations.size();
    while (used > 1 && t.iterations[used - 1] == 0) --used;  // trailing zero slots say nothing
    for (size_t i = 0; i < used; ++i) out->add_iterations(t.iterations[i]);
    out->set_tokens_in(t.tokens_in);
    out->set_tokens_out(t.tokens_out);
    out->set_tokens_saved(t.tokens_saved);
    out->set_cost(t.cost);
    for (const monitor::TrendPoint& p : t.trend) {
      proto::TrendPoint* tp = out->add_trend();
      tp->set_start_seconds(p.start_seconds);
      tp->set_seconds(p.seconds);
      tp->set_completed(p.completed);
      tp->set_failed(p.failed);
      tp->set_tokens_in(p.tokens_in);
      tp->set_tokens_out(p.tokens_out);
      tp->set_mean_latency_ms(p.completed ? p.latency_ms_sum / p.completed : 0);
    }
    for (const monitor::DriftState& d : t.drift) {
      proto::DriftReport* dr = out->add_drift();
      dr->set_metric(d.metric);
      dr->set_baseline_count(d.baseline_count);
      dr->set_current_count(d.current_count);
      dr->set_baseline_mean(d.baseline_mean);
      dr->set_current_mean(d.current_mean);
      dr->set_psi(d.psi);
      dr->set_ks(d.ks);
      dr->set_measured(d.measured);
      dr->set_drifting(d.drifting);
    }
    proto::ThresholdReport* th = out->mutable_thresholds();
    if (t.thresholds.latency_p95_ms) th->set_latency_p95_ms(*t.thresholds.latency_p95_ms);
    if (t.thresholds.cycle_p95_ms) th->set_cycle_p95_ms(*t.thresholds.cycle_p95_ms);
    if (t.thresholds.error_rate) th->set_error_rate(*t.thresholds.error_rate);
    if (t.thresholds.token_budget) th->set_token_budget(*t.thresholds.token_budget);
  }
  for (const monitor::Alert& a : m.recent_alerts) {
    proto::AlertReport* out = r->add_alerts();
    out->set_time(a.time);
    out->set_pipeline(a.pipeline);
    out->set_type(a.type);
    out->set_kind(a.kind);
    out->set_rule(a.rule);
    out->set_state(a.state);
    out->set_value(a.value);
    out->set_limit(a.limit);
    out->set_message(a.message);
    out->set_results(a.results);
  }
  for (const monitor::AlertCount& c : m.alert_counts) {
    proto::AlertCountReport* out = r->add_alert_counts();
    out->set_kind(c.kind);
    out->set_rule(c.rule);
    out->set_type(c.type);
    out->set_count(c.firing);
  }
  r->set_alerts_fired(m.alerts_firing_total);
}

}  // namespace

proto::RunReport BuildRunReport(const EngineStats& stats, const PipelineSpec& spec,
                                int64_t input_errors, double wall_seconds, int threads) {
  proto::RunReport r;
  r.set_pipeline(spec.name);
  r.set_pipeline_version(spec.version);
  r.set_submitted(stats.submitted);
  r.set_succeeded(stats.succeeded);
  r.set_failed(stats.failed);
  r.set_input_errors(input_errors);
  r.set_wall_seconds(wall_seconds);
  r.set_requests_per_second(wall_seconds > 0 ? stats.completed / wall_seconds : 0);
  r.set_max_in_flight(stats.max_in_flight);
  r.set_peak_in_flight(stats.peak_in_flight);
  r.set_threads(threads);
  FillLatency(stats.request_latency, r.mutable_request_latency());
  for (const NodeStatsSnapshot& n : stats.nodes) {
    proto::NodeReport* node = r.add_nodes();
    node->set_id(n.id);
    node->set_type(n.type);
    node->set_concurrency(n.concurrency);
    node->set_items(n.items);
    node->set_errors(n.errors);
    node->set_busy_seconds(n.busy_seconds);
    FillLatency(n.latency, node->mutable_latency());
    node->set_waiting(n.waiting);
    FillBuckets(n.latency_buckets, node->mutable_latency_histogram());
    for (const std::string& in : n.inputs) node->add_inputs(in);
    proto::CacheReport* c = node->mutable_cache();
    c->set_enabled(n.cache_enabled);
    c->set_hits(n.cache.hits);
    c->set_misses(n.cache.misses);
    c->set_evictions(n.cache.evictions);
    c->set_expirations(n.cache.expirations);
    c->set_entries(n.cache.entries);
    c->set_bytes(n.cache.bytes);
    const int64_t lookups = n.cache.hits + n.cache.misses;
    c->set_hit_rate(lookups ? double(n.cache.hits) / lookups : 0);
    if (n.queue) {
      FillQueue(*n.queue, node->mutable_queue());
      node->set_expired(n.queue->expired);
    }
  }
  for (const MetricSummary& m : stats.metrics) {
    proto::MetricReport* out = r.add_metrics();
    out->set_name(m.name);
    out->set_count(m.count);
    out->set_mean(m.mean);
    out->set_low(m.low);
    out->set_mid(m.mid);
    out->set_high(m.high);
  }
  for (const LoopSpec& loop : spec.loops) {
    proto::LoopEdge* e = r.add_loop();
    e->set_from(loop.from);
    e->set_to(loop.to);
  }
  FillMonitor(stats.monitor, &r);
  return r;
}

}  // namespace refinery
