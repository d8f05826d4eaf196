#include "graph/monitor/views/prometheus.h"

namespace refinery::monitor {

std::string FormatPrometheus(const EngineStats& s, const std::string& pipeline) {
  Exposition e;
  AppendPrometheus(s, pipeline, &e);
  return e.Text();
}

void AppendPrometheus(const EngineStats& s, const std::string& pipeline, Exposition* exposition) {
  Exposition& e = *exposition;
  const Labels p = {{"pipeline", pipeline}};
  const std::vector<double>& bounds = LatencyBucketBounds();

  e.Family("refinery_uptime_seconds", "gauge", "Seconds since the engine was created.");
  e.Value("refinery_uptime_seconds", p, s.elapsed_seconds);
  e.Family("refinery_requests_submitted_total", "counter", "Requests accepted by the engine.");
  e.Value("refinery_requests_submitted_total", p, double(s.submitted));
  e.Family("refinery_requests_completed_total", "counter", "Requests with a result, by status.");
  e.Value("refinery_requests_completed_total", {{"pipeline", pipeline}, {"status", "ok"}},
          double(s.succeeded));
  e.Value("refinery_requests_completed_total", {{"pipeline", pipeline}, {"status", "error"}},
          double(s.failed));
  e.Family("refinery_requests_in_flight", "gauge", "Requests inside the engine now.");
  e.Value("refinery_requests_in_flight", p, double(s.in_flight));
  e.Family("refinery_requests_in_flight_limit", "gauge", "The pipeline's max_in_flight.");
  e.Value("refinery_requests_in_flight_limit", p, double(s.max_in_flight));
  e.Family("refinery_requests_in_flight_peak", "gauge",
           "Most requests inside the engine at once so far.");
  e.Value("refinery_requests_in_flight_peak", p, double(s.peak_in_flight));

  e.Family("refinery_node_duration_seconds", "histogram",
           "Time a node spent on one item (cache hits included).");
  e.Family("refinery_node_items_total", "counter",
           "Items a node finished (ok, error or cache hit).");
  e.Family("refinery_node_errors_total", "counter", "Items a node failed.");
  e.Family("refinery_node_busy_seconds_total", "counter", "Total time spent in a node's bodies.");
  e.Family("refinery_node_waiting_items", "gauge",
           "Items handed to a node and not finished (queued or running).");
  e.Family("refinery_cache_hits_total", "counter", "Node cache hits.");
  e.Family("refinery_cache_misses_total", "counter", "Node cache misses.");
  e.Family("refinery_cache_evictions_total", "counter", "Node cache entries evicted for space.");
  e.Family("refinery_cache_expirations_total", "counter", "Node cache entries dropped for age.");
  e.Family("refinery_cache_entries", "gauge", "Entries in a node cache.");
  e.Family("refinery_cache_bytes", "gauge", "Approximate bytes held by a node cache.");
  for (const NodeStatsSnapshot& n : s.nodes) {
    const Labels l = {{"pipeline", pipeline}, {"node", n.id}, {"node_type", n.type}};
    e.Histogram("refinery_node_duration_seconds", l, n.latency_buckets, bounds, n.latency.count,
                n.latency.mean_us * double(n.latency.count) / 1e6);
    e.Value("refinery_node_items_total", l, double(n.items));
    e.Value("refinery_node_errors_total", l, double(n.errors));
    e.Value("refinery_node_busy_seconds_total", l, n.busy_seconds);
    e.Value("refinery_node_waiting_items", l, double(n.waiting));
    if (n.cache_enabled) {
      e.Value("refinery_cache_hits_total", l, double(n.cache.hits));
      e.Value("refinery_cache_misses_total", l, double(n.cache.misses));
      e.Value("refinery_cache_evictions_total", l, double(n.cache.evictions));
      e.Value("refinery_cache_expirations_total", l, double(n.cache.expirations));
      e.Value("refinery_cache_entries", l, double(n.cache.entries));
      e.Value("refinery_cache_bytes", l, double(n.cache.bytes));
    }
  }

  e.Family("refinery_queue_batches_total", "counter",
           "Batches a node's waiting room handed it, by flush reason.");
  e.Family("refinery_queue_batched_items_total", "counter",
           "Items handed to a node in batches by its waiting room.");
  e.Family("refinery_queue_expired_total", "counter",
           "Requests failed by their deadline while waiting in a node's queue.");
  e.Family("refinery_queue_batch_max_items", "gauge",
           "A waiting room's batch size limit now (adapted when adapt is on).");
  e.Family("refinery_queue_batch_max_delay_seconds", "gauge",
           "A waiting room's batch delay limit now.");
  for (const NodeStatsSnapshot& n : s.nodes) {
    if (!n.queue) continue;
    const Labels l = {{"pipeline", pipeline}, {"node", n.id}, {"node_type", n.type}};
    for (FlushReason r :
         {FlushReason::kFull, FlushReason::kTokens, FlushReason::kDelay, FlushReason::kDrain}) {
      Labels lr = l;
      lr.emplace_back("reason", FlushReasonName(r));
      e.Value("refinery_queue_batches_total", lr, double(n.queue->flushes[int(r)]));
    }
    e.Value("refinery_queue_batched_items_total", l, double(n.queue->batched_items));
    e.Value("refinery_queue_expired_total", l, double(n.queue->expired));
    e.Value("refinery_queue_batch_max_items", l, double(n.queue->max_items));
    e.Value("refinery_queue_batch_max_delay_seconds", l, n.queue->max_delay_ms / 1e3);
  }

  e.Family("refinery_request_duration_seconds", "histogram",
           "Submission-to-result latency per request type.");
  e.Family("refinery_request_type_results_total", "counter",
           "Results per request type and status.");
  e.Family("refinery_refinement_pass_duration_seconds", "histogram",
           "Wall time of one refinement-loop pass.");
  e.Family("refinery_refinement_iterations", "histogram",
           "Passes a request took through the refinement loop.");
  e.Family("refinery_tokens_total", "counter",
           "Tokens per request type: in (first count), out (last count), saved (by compression).");
  e.Family("refinery_cost_total", "counter",
           "Cost per request type, summed from the nodes' cost fields (infer price options).");
  e.Family("refinery_drift_psi", "gauge",
           "Population Stability Index of a metric against its baseline.");
  e.Family("refinery_drift_ks", "gauge",
           "Kolmogorov-Smirnov statistic of a metric against its baseline.");
  e.Family("refinery_drift_active", "gauge",
           "1 while a metric is drifting past its configured level.");
  for (const TypeSnapshot& t : s.monitor.types) {
    const Labels l = {{"pipeline", pipeline}, {"request_type", t.type}};
    e.Histogram("refinery_request_duration_seconds", l, t.latency_buckets, bounds, t.latency.count,
                t.latency.mean_us * double(t.latency.count) / 1e6);
    e.Value("refinery_request_type_results_total",
            {{"pipeline", pipeline}, {"request_type", t.type}, {"status", "ok"}},
            double(t.requests - t.failed));
    e.Value("refinery_request_type_results_total",
            {{"pipeline", pipeline}, {"request_type", t.type}, {"status", "error"}},
            double(t.failed));
    if (t.pass_latency.count > 0) {
      e.Histogram("refinery_refinement_pass_duration_seconds", l, t.pass_buckets, bounds,
                  t.pass_latency.count,
                  t.pass_latency.mean_us * double(t.pass_latency.count) / 1e6);
    }
    std::vector<double> it_bounds;
    std::vector<int64_t> it_cumulative;
    int64_t seen = 0, total = 0;
    double sum = 0;
    for (size_t i = 0; i < t.iterations.size(); ++i) {
      total += t.iterations[i];
      sum += double(i + 1) * double(t.iterations[i]);
    }
    for (size_t i = 0; i + 1 < t.iterations.size() && i < 10; ++i) {
      seen += t.iterations[i];
      it_bounds.push_back(double(i + 1));
      it_cumulative.push_back(seen);
    }
    e.Histogram("refinery_refinement_iterations", l, it_cumulative, it_bounds, total, sum);
    for (const auto& [direction, v] : {std::pair<const char*, double>{"in", t.tokens_in},
                                       {"out", t.tokens_out},
                                       {"saved", t.tokens_saved}}) {
      e.Value("refinery_tokens_total",
              {{"pipeline", pipeline}, {"request_type", t.type}, {"direction", direction}}, v);
    }
    if (t.cost > 0)
      e.Value("refinery_cost_total", {{"pipeline", pipeline}, {"request_type", t.type}}, t.cost);
    for (const DriftState& d : t.drift) {
      const Labels dl = {{"pipeline", pipeline}, {"request_type", t.type}, {"metric", d.metric}};
      if (d.measured) {
        e.Value("refinery_drift_psi", dl, d.psi);
        e.Value("refinery_drift_ks", dl, d.ks);
      }
      e.Value("refinery_drift_active", dl, d.drifting ? 1 : 0);
    }
  }
  // Numbers the nodes declare per result (scores, token counts, infer's batch size...).
  e.Family("refinery_result_field_mean", "gauge",
           "Mean of a numeric result field over the successful results.");
  e.Family("refinery_result_field_results", "gauge",
           "Successful results the field's mean is over.");
  for (const MetricSummary& m : s.metrics) {
    e.Value("refinery_result_field_mean", {{"pipeline", pipeline}, {"field", m.name}}, m.mean);
    e.Value("refinery_result_field_results", {{"pipeline", pipeline}, {"field", m.name}},
            double(m.count));
  }
  e.Family("refinery_alerts_total", "counter",
           "Alerts raised (threshold, anomaly, drift), by rule and request type.");
  for (const AlertCount& c : s.monitor.alert_counts) {
    e.Value("refinery_alerts_total",
            {{"pipeline", pipeline}, {"request_type", c.type}, {"kind", c.kind}, {"rule", c.rule}},
            double(c.firing));
  }
}

}  // namespace refinery::monitor
