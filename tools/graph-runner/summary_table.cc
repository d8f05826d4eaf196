#include "tools/graph-runner/summary_table.h"

#include <algorithm>

namespace refinery::cli {

namespace {
std::string Fmt(const char* format, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

}  // namespace

std::string FormatMicros(double us) {
  if (us >= 1e6) return Fmt("%.2fs", us / 1e6);
  if (us >= 1e3) return Fmt("%.2fms", us / 1e3);
  return Fmt("%.1fus", us);
}

std::string FormatSummary(const EngineStats& stats, const std::string& pipeline, int64_t requests,
                          double wall_seconds) {
  std::string out;
  out += Fmt(
      "pipeline %s: %lld requests, %lld ok, %lld failed in %.3fs (%.0f req/s); "
      "peak in flight %lld of %lld\n",
      pipeline.c_str(), (long long)requests, (long long)stats.succeeded, (long long)stats.failed,
      wall_seconds, wall_seconds > 0 ? stats.completed / wall_seconds : 0.0,
      (long long)stats.peak_in_flight, (long long)stats.max_in_flight);
  out += Fmt("request latency: p50 %s  p95 %s  p99 %s  max %s\n",
             FormatMicros(stats.request_latency.p50_us).c_str(),
             FormatMicros(stats.request_latency.p95_us).c_str(),
             FormatMicros(stats.request_latency.p99_us).c_str(),
             FormatMicros(stats.request_latency.max_us).c_str());
  // Refinement loops and scores: the run-level means (with bootstrap 95% intervals).
  auto metric = [&](const std::string& name) -> const MetricSummary* {
    for (const MetricSummary& m : stats.metrics) {
      if (m.name == name) return &m;
    }
    return nullptr;
  };
  if (const MetricSummary* passes = metric("loop.passes")) {
    const MetricSummary* passed = metric("loop.passed");
    out += Fmt("loop: %.2f passes per request [%.2f, %.2f]; passed %.0f%%\n", passes->mean,
               passes->low, passes->high, passed ? 100 * passed->mean : 0.0);
  }
  for (const MetricSummary& m : stats.metrics) {
    if (m.name.size() > 2 && m.name.compare(m.name.size() - 2, 2, ".f") == 0) {
      out += Fmt("%s: mean %.4f [%.4f, %.4f] over %lld results\n", m.name.c_str(), m.mean, m.low,
                 m.high, (long long)m.count);
    }
  }
  double tokens_in = 0, tokens_out = 0, tokens_saved = 0, cost = 0;
  for (const auto& t : stats.monitor.types) {
    cost += t.cost;
    tokens_in += t.tokens_in;
    tokens_out += t.tokens_out;
    tokens_saved += t.tokens_saved;
  }
  if (tokens_in > 0) {
    out +=
        Fmt("tokens: %.0f in, %.0f out, %.0f saved (%.1f%%) over %zu request types\n", tokens_in,
            tokens_out, tokens_saved, 100 * tokens_saved / tokens_in, stats.monitor.types.size());
  }
  if (cost > 0) out += Fmt("cost: %.4f over %zu request types\n", cost, stats.monitor.types.size());
  if (stats.monitor.alerts_firing_total > 0) {
    out += Fmt(
        "alerts: %lld fired (thresholds, anomalies, drift); see the log above or the alert file\n",
        (long long)stats.monitor.alerts_firing_total);
  }
  size_t w = 4;
  for (const auto& n : stats.nodes) w = std::max(w, n.id.size());
  out += Fmt("%-*s  %-10s %-9s %9s %9s %9s %9s %9s %7s %6s\n", int(w), "node", "type", "conc",
             "items", "p50", "p95", "p99", "max", "cache", "errors");
  for (const auto& n : stats.nodes) {
    std::string cache = "off";
    if (n.cache_enabled) {
      int64_t lookups = n.cache.hits + n.cache.misses;
      cache = lookups ? Fmt("%.1f%%", 100.0 * n.cache.hits / lookups) : "-";
    }
    out += Fmt("%-*s  %-10s %-9s %9lld %9s %9s %9s %9s %7s %6lld\n", int(w), n.id.c_str(),
               n.type.c_str(), n.concurrency.c_str(), (long long)n.items,
               FormatMicros(n.latency.p50_us).c_str(), FormatMicros(n.latency.p95_us).c_str(),
               FormatMicros(n.latency.p99_us).c_str(), FormatMicros(n.latency.max_us).c_str(),
               cache.c_str(), (long long)n.errors);
  }
  for (const auto& n : stats.nodes) {
    if (!n.queue) continue;
    const WaitingRoomStats& q = *n.queue;
    out += Fmt(
        "queue %s (%s): %lld batches, mean %.2f items (now up to %d, delay %.2f ms%s), flushed "
        "full %lld / "
        "tokens %lld / delay %lld / drain %lld, mean wait %.2f ms, %lld expired by deadline\n",
        n.id.c_str(), q.order.c_str(), (long long)q.batches,
        q.batches ? double(q.batched_items) / double(q.batches) : 0.0, q.max_items, q.max_delay_ms,
        q.adapt ? Fmt(", adapted: %lld up, %lld down, %lld fitted to arrivals",
                      (long long)q.adapt_grow, (long long)q.adapt_shrink, (long long)q.adapt_fits)
                      .c_str()
                : "",
        (long long)q.flushes[0], (long long)q.flushes[1], (long long)q.flushes[2],
        (long long)q.flushes[3], q.batched_items ? q.wait_ms_sum / double(q.batched_items) : 0.0,
        (long long)q.expired);
  }
  return out;
}

}  // namespace refinery::cli
