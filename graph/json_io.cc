#include "graph/json_io.h"

#include <google/protobuf/util/json_util.h>

#include "graph/result_json.h"
#include "graph/utf8.h"

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
  Request r;
  r.id = msg.id().empty() ? std::to_string(line_number) : msg.id();
  r.type = msg.type();
  r.priority = msg.priority();
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
  return r;
}

}  // namespace refinery
