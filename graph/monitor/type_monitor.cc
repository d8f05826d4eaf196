#include "graph/monitor/type_monitor.h"

#include <algorithm>
#include <cmath>

namespace refinery::monitor {

namespace {
std::string Fmt(const char* format, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}
std::string TypeName(const std::string& type) {
  return type.empty() ? "(untyped)" : "'" + type + "'";
}
}  // namespace

TypeMonitor::TypeMonitor(std::string type, const MonitorConfig& config,
                         const std::map<std::string, std::vector<double>>& saved_baselines)
    : type_(std::move(type)),
      config_(config),
      thresholds_(config.ThresholdsFor(type_)),
      trend_(config.trend_seconds),
      recent_latency_(size_t(config.window)),
      recent_pass_(size_t(config.window)),
      recent_errors_(size_t(config.window)),
      recent_tokens_(size_t(config.window)) {
  if (config.anomaly.enabled) {
    for (const std::string& m : config.anomaly.metrics)
      anomaly_.emplace(m, EwmaDetector(config.anomaly.alpha, config.anomaly.warmup));
  }
  if (config.drift.enabled) {
    for (const std::string& m : config.drift.metrics) {
      auto it = saved_baselines.find(m);
      drift_.emplace_back(m, config.drift,
                          it == saved_baselines.end() ? std::vector<double>{} : it->second);
    }
  }
}

std::optional<double> TypeMonitor::MetricValue(const std::string& metric,
                                               const Observation& o) const {
  if (metric == "latency_ms") return o.latency_ms;
  if (metric == "iterations") return double(o.iterations);
  if (metric == "tokens_out")
    return o.has_tokens ? std::optional<double>(o.tokens_out) : std::nullopt;
  if (metric == "tokens_in")
    return o.has_tokens ? std::optional<double>(o.tokens_in) : std::nullopt;
  if (metric == "tokens_saved")
    return o.has_tokens ? std::optional<double>(o.tokens_saved) : std::nullopt;
  if (!o.fields) return std::nullopt;
  auto it = o.fields->find(metric);
  if (it == o.fields->end()) return std::nullopt;
  if (const double* d = std::get_if<double>(&it->second)) return *d;
  return std::nullopt;
}

std::vector<Alert> TypeMonitor::Observe(const Observation& o) {
  std::vector<Alert> out;
  std::lock_guard lock(mu_);
  ++requests_;
  failed_ += o.ok ? 0 : 1;
  latency_.Record(int64_t(o.latency_ms * 1e6));
  iterations_[std::clamp(o.iterations, 1, kIterationSlots) - 1] += 1;
  if (o.pass_ms) {
    for (double ms : *o.pass_ms) {
      pass_latency_.Record(int64_t(ms * 1e6));
      if (thresholds_.cycle_p95_ms) recent_pass_.Add(ms);
    }
  }
  if (o.has_tokens) {
    tokens_in_ += o.tokens_in;
    tokens_out_ += o.tokens_out;
    tokens_saved_ += o.tokens_saved;
    cost_ += o.cost;
  }
  trend_.Add(o.at_seconds, o.ok, int64_t(o.tokens_in), int64_t(o.tokens_out), o.latency_ms);
  if (!thresholds_.empty()) {  // the windows exist for the thresholds only
    recent_latency_.Add(o.latency_ms);
    recent_errors_.Add(o.ok ? 0 : 1);
    if (o.has_tokens) recent_tokens_.Add(o.tokens_out);
  }

  // Thresholds: every window/10 requests (sorting the window per request would be waste).
  if (!thresholds_.empty() && requests_ >= config_.min_requests &&
      ++since_check_ >= std::max<int64_t>(1, config_.window / 10)) {
    since_check_ = 0;
    CheckThresholds(out);
  }
  // Anomalies: this request against the type's recent behaviour; successes only (a failure's
  // latency says nothing about the model), then quiet for a window so one burst is one alert.
  if (o.ok) {
    for (auto& [metric, detector] : anomaly_) {
      std::optional<double> v = MetricValue(metric, o);
      if (!v) continue;
      const double mean = detector.mean(), sd = detector.stddev();
      std::optional<double> z = detector.Score(*v, config_.anomaly.z);
      int64_t& run = anomaly_run_[metric];
      run = z && std::fabs(*z) > config_.anomaly.z ? run + 1 : 0;
      if (run < config_.anomaly.consecutive) continue;
      int64_t& quiet = anomaly_quiet_until_[metric];
      if (requests_ < quiet) continue;
      quiet = requests_ + config_.window;
      Alert a;
      a.kind = "anomaly";
      a.rule = metric;
      a.state = "firing";
      a.value = *v;
      a.limit = config_.anomaly.z;
      a.message =
          Fmt("%s of request type %s jumped to %.4g from a recent mean of %.4g (sd %.3g): z-score "
              "%.1f, "
              "limit %.1f, %lld results in a row",
              metric.c_str(), TypeName(type_).c_str(), *v, mean, sd, *z, config_.anomaly.z,
              (long long)run);
      out.push_back(std::move(a));
      detector.Reset();  // reported: learn the new level instead of reporting it again
      run = 0;
    }
  }
  if (o.ok) {
    for (DriftTracker& d : drift_) {
      std::optional<double> v = MetricValue(d.State().metric, o);
      if (!v) continue;
      std::optional<DriftState> changed = d.Add(*v);
      if (!changed) continue;
      const DriftState& s = *changed;
      Transition(
          "drift", s.metric, s.drifting, s.psi, config_.drift.psi,
          s.drifting
              ? Fmt("output drift in request type %s: %s moved from a baseline mean of %.4g to "
                    "%.4g "
                    "(PSI %.3f, limit %.3g; KS %.3f, limit %.3g over the last %lld results); the "
                    "model or "
                    "the pipeline's parameters need attention",
                    TypeName(type_).c_str(), s.metric.c_str(), s.baseline_mean, s.current_mean,
                    s.psi, config_.drift.psi, s.ks, config_.drift.ks, (long long)s.current_count)
              : Fmt("%s of request type %s is back near its baseline (PSI %.3f, KS %.3f)",
                    s.metric.c_str(), TypeName(type_).c_str(), s.psi, s.ks),
          out);
    }
  }
  for (Alert& a : out) {
    a.type = type_;
    a.results = requests_;
  }
  return out;
}

void TypeMonitor::CheckThresholds(std::vector<Alert>& out) {
  const std::string n = std::to_string(recent_latency_.size());
  if (thresholds_.latency_p95_ms) {
    const double p95 = recent_latency_.Quantile(0.95);
    Transition("threshold", "latency_p95_ms", p95 > *thresholds_.latency_p95_ms, p95,
               *thresholds_.latency_p95_ms,
               Fmt("p95 request latency of type %s is %.1f ms over the last %s requests; the limit "
                   "is %.1f ms",
                   TypeName(type_).c_str(), p95, n.c_str(), *thresholds_.latency_p95_ms),
               out);
  }
  if (thresholds_.cycle_p95_ms && recent_pass_.size() > 0) {
    const double p95 = recent_pass_.Quantile(0.95);
    Transition("threshold", "cycle_p95_ms", p95 > *thresholds_.cycle_p95_ms, p95,
               *thresholds_.cycle_p95_ms,
               Fmt("p95 refinement-pass latency of type %s is %.1f ms over the last %zu passes; "
                   "the limit is %.1f ms",
                   TypeName(type_).c_str(), p95, recent_pass_.size(), *thresholds_.cycle_p95_ms),
               out);
  }
  if (thresholds_.error_rate) {
    const double rate = recent_errors_.Mean();
    Transition("threshold", "error_rate", rate > *thresholds_.error_rate, rate,
               *thresholds_.error_rate,
               Fmt("%.1f%% of the last %s requests of type %s failed; the limit is %.1f%%",
                   100 * rate, n.c_str(), TypeName(type_).c_str(), 100 * *thresholds_.error_rate),
               out);
  }
  if (thresholds_.token_budget && recent_tokens_.size() > 0) {
    const double mean = recent_tokens_.Mean();
    Transition("threshold", "token_budget", mean > *thresholds_.token_budget, mean,
               *thresholds_.token_budget,
               Fmt("requests of type %s put out %.0f tokens each on average over the last %zu; the "
                   "budget is %.0f",
                   TypeName(type_).c_str(), mean, recent_tokens_.size(), *thresholds_.token_budget),
               out);
  }
}

void TypeMonitor::Transition(const std::string& kind, const std::string& rule, bool broken,
                             double value, double limit, const std::string& message,
                             std::vector<Alert>& out) {
  bool& firing = firing_[kind + "/" + rule];
  if (broken == firing) return;
  firing = broken;
  Alert a;
  a.kind = kind;
  a.rule = rule;
  a.state = broken ? "firing" : "resolved";
  a.value = value;
  a.limit = limit;
  a.message = message;
  out.push_back(std::move(a));
}

TypeSnapshot TypeMonitor::Snapshot() const {
  std::lock_guard lock(mu_);
  TypeSnapshot s;
  s.type = type_;
  s.requests = requests_;
  s.failed = failed_;
  s.latency = latency_.Summary();
  s.latency_buckets = latency_.CumulativeCounts(LatencyBucketBounds());
  s.pass_latency = pass_latency_.Summary();
  s.pass_buckets = pass_latency_.CumulativeCounts(LatencyBucketBounds());
  s.iterations = iterations_;
  s.tokens_in = tokens_in_;
  s.tokens_out = tokens_out_;
  s.tokens_saved = tokens_saved_;
  s.cost = cost_;
  s.thresholds = thresholds_;
  s.trend = trend_.Points();
  for (const DriftTracker& d : drift_) s.drift.push_back(d.State());
  return s;
}

std::map<std::string, std::vector<double>> TypeMonitor::Baselines() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::vector<double>> out;
  for (const DriftTracker& d : drift_) {
    if (d.baseline_complete()) out[d.State().metric] = d.baseline();
  }
  return out;
}

}  // namespace refinery::monitor
