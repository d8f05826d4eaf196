#include "graph/monitor/monitor_config_parser.h"

#include <algorithm>
#include <functional>

#include "graph/internal/did_you_mean.h"
#include "graph/internal/yaml_util.h"

namespace refinery {

ThresholdSpec ThresholdSpec::Over(const ThresholdSpec& d) const {
  ThresholdSpec t = *this;
  if (!t.latency_p95_ms) t.latency_p95_ms = d.latency_p95_ms;
  if (!t.cycle_p95_ms) t.cycle_p95_ms = d.cycle_p95_ms;
  if (!t.error_rate) t.error_rate = d.error_rate;
  if (!t.token_budget) t.token_budget = d.token_budget;
  return t;
}

ThresholdSpec MonitorConfig::ThresholdsFor(const std::string& type) const {
  auto it = type_thresholds.find(type);
  return it == type_thresholds.end() ? default_thresholds : it->second.Over(default_thresholds);
}

namespace internal {
namespace {

// Walks one mapping: each known key gets its handler, unknown keys are located errors with a
// did-you-mean; every problem is collected, none stops the walk.
class MapReader {
 public:
  MapReader(const std::string& file, std::string context, Diagnostics& diags)
      : file_(file), context_(std::move(context)), diags_(diags) {}

  using Handler = std::function<void(const YAML::Node&)>;
  void Read(const YAML::Node& node, const std::vector<std::pair<std::string, Handler>>& keys) {
    std::vector<std::string> names;
    for (const auto& k : keys) names.push_back(k.first);
    if (!node.IsMap()) {
      diags_.Error(Where(file_, node), context_ + ": expected a mapping with keys " +
                                           JoinNames(names) + ", found " + Describe(node));
      return;
    }
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      auto it =
          std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.first == key; });
      if (it == keys.end()) {
        ReportUnknownKey(kv.first, names, file_, context_ + ": unknown key", diags_);
        continue;
      }
      it->second(kv.second);
    }
  }

  std::function<void(const YAML::Node&)> Number(const std::string& key, double lo, double hi,
                                                double* out) {
    return [=, this](const YAML::Node& v) {
      double d;
      if (v.IsScalar() && ParseDouble(v.Scalar(), &d) && d >= lo && d <= hi)
        *out = d;
      else
        Bad(v, key, "a number from " + Num(lo) + " to " + Num(hi));
    };
  }
  std::function<void(const YAML::Node&)> Optional(const std::string& key, double lo, double hi,
                                                  std::optional<double>* out) {
    return [=, this](const YAML::Node& v) {
      double d;
      if (v.IsScalar() && ParseDouble(v.Scalar(), &d) && d >= lo && d <= hi)
        *out = d;
      else
        Bad(v, key, "a number from " + Num(lo) + " to " + Num(hi));
    };
  }
  std::function<void(const YAML::Node&)> Integer(const std::string& key, int64_t lo, int64_t hi,
                                                 int64_t* out) {
    return [=, this](const YAML::Node& v) {
      int64_t n;
      if (v.IsScalar() && ParseInt(v.Scalar(), &n) && n >= lo && n <= hi)
        *out = n;
      else
        Bad(v, key, "an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    };
  }
  std::function<void(const YAML::Node&)> Bool(const std::string& key, bool* out) {
    return [=, this](const YAML::Node& v) {
      if (!v.IsScalar() || !ParseBool(v.Scalar(), out)) Bad(v, key, "true or false");
    };
  }
  std::function<void(const YAML::Node&)> Text(const std::string& key, std::string* out) {
    return [=, this](const YAML::Node& v) {
      if (v.IsScalar())
        *out = v.Scalar();
      else
        Bad(v, key, "a string");
    };
  }
  std::function<void(const YAML::Node&)> Names(const std::string& key,
                                               std::vector<std::string>* out) {
    return [=, this](const YAML::Node& v) {
      if (!v.IsSequence() || v.size() == 0) return Bad(v, key, "a non-empty list of names");
      out->clear();
      for (const auto& e : v) {
        if (e.IsScalar() && !e.Scalar().empty())
          out->push_back(e.Scalar());
        else
          Bad(e, key, "a list of names");
      }
    };
  }
  void Bad(const YAML::Node& v, const std::string& key, const std::string& expected) {
    diags_.Error(Where(file_, v),
                 context_ + ": '" + key + "' must be " + expected + ", found " + Describe(v));
  }
  void Error(const YAML::Node& v, const std::string& message) {
    diags_.Error(Where(file_, v), context_ + ": " + message);
  }

 private:
  static std::string Num(double d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", d);
    return buf;
  }
  const std::string& file_;
  std::string context_;
  Diagnostics& diags_;
};

ThresholdSpec ParseThresholds(const YAML::Node& node, const std::string& file,
                              const std::string& context, Diagnostics& diags) {
  ThresholdSpec t;
  MapReader r(file, context, diags);
  r.Read(node, {{"latency_p95_ms", r.Optional("latency_p95_ms", 0, 1e9, &t.latency_p95_ms)},
                {"cycle_p95_ms", r.Optional("cycle_p95_ms", 0, 1e9, &t.cycle_p95_ms)},
                {"error_rate", r.Optional("error_rate", 0, 1, &t.error_rate)},
                {"token_budget", r.Optional("token_budget", 0, 1e12, &t.token_budget)}});
  return t;
}

}  // namespace

MonitorConfig ParseMonitorConfig(const YAML::Node& node, const std::string& file,
                                 Diagnostics& diags) {
  MonitorConfig c;
  MapReader r(file, "monitoring", diags);
  auto thresholds = [&](const YAML::Node& v) {
    MapReader t(file, "monitoring.thresholds", diags);
    t.Read(v, {{"default",
                [&](const YAML::Node& d) {
                  c.default_thresholds =
                      ParseThresholds(d, file, "monitoring.thresholds.default", diags);
                }},
               {"types", [&](const YAML::Node& types) {
                  if (!types.IsMap())
                    return t.Bad(types, "types", "a mapping of request type to limits");
                  for (const auto& kv : types) {
                    c.type_thresholds[kv.first.Scalar()] = ParseThresholds(
                        kv.second, file, "monitoring.thresholds.types." + kv.first.Scalar(), diags);
                  }
                }}});
  };
  auto anomaly = [&](const YAML::Node& v) {
    c.anomaly.enabled = true;
    MapReader a(file, "monitoring.anomaly", diags);
    a.Read(v, {{"enabled", a.Bool("enabled", &c.anomaly.enabled)},
               {"z", a.Number("z", 1, 100, &c.anomaly.z)},
               {"alpha", a.Number("alpha", 0.001, 1, &c.anomaly.alpha)},
               {"warmup", a.Integer("warmup", 2, 1'000'000, &c.anomaly.warmup)},
               {"consecutive", a.Integer("consecutive", 1, 1000, &c.anomaly.consecutive)},
               {"metrics", a.Names("metrics", &c.anomaly.metrics)}});
  };
  auto drift = [&](const YAML::Node& v) {
    c.drift.enabled = true;
    MapReader d(file, "monitoring.drift", diags);
    int64_t bins = c.drift.bins;
    d.Read(v, {{"enabled", d.Bool("enabled", &c.drift.enabled)},
               {"metrics", d.Names("metrics", &c.drift.metrics)},
               {"baseline", d.Integer("baseline", 10, 1'000'000, &c.drift.baseline)},
               {"baseline_file", d.Text("baseline_file", &c.drift.baseline_file)},
               {"save_baseline", d.Text("save_baseline", &c.drift.save_baseline)},
               {"window", d.Integer("window", 10, 1'000'000, &c.drift.window)},
               {"psi", d.Number("psi", 0, 100, &c.drift.psi)},
               {"ks", d.Number("ks", 0, 1, &c.drift.ks)},
               {"bins", d.Integer("bins", 2, 100, &bins)}});
    c.drift.bins = int(bins);
  };
  auto alerts = [&](const YAML::Node& v) {
    MapReader a(file, "monitoring.alerts", diags);
    a.Read(v, {{"file", a.Text("file", &c.alerts.file)},
               {"webhook",
                [&](const YAML::Node& w) {
                  a.Text("webhook", &c.alerts.webhook)(w);
                  if (!c.alerts.webhook.empty() && c.alerts.webhook.rfind("http://", 0) != 0) {
                    a.Error(w,
                            "'webhook' must be an http:// URL, found '" + c.alerts.webhook + "'");
                  }
                }},
               {"webhook_timeout_seconds",
                a.Number("webhook_timeout_seconds", 0.01, 60, &c.alerts.webhook_timeout_seconds)}});
  };
  r.Read(node, {{"enabled", r.Bool("enabled", &c.enabled)},
                {"window", r.Integer("window", 5, 1'000'000, &c.window)},
                {"min_requests", r.Integer("min_requests", 1, 1'000'000, &c.min_requests)},
                {"max_types", r.Integer("max_types", 1, 1'000'000, &c.max_types)},
                {"trend_seconds", r.Number("trend_seconds", 0.01, 86400, &c.trend_seconds)},
                {"thresholds", thresholds},
                {"anomaly", anomaly},
                {"drift", drift},
                {"alerts", alerts}});
  return c;
}

}  // namespace internal
}  // namespace refinery
