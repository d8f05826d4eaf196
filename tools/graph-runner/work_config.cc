#include "tools/graph-runner/work_config.h"

#include <algorithm>
#include <variant>
#include <vector>

#include "graph/internal/yaml_guard.h"
#include "graph/internal/yaml_util.h"

namespace refinery::cli {
namespace {

// One key of the `work:` section: where it goes and the range its flag accepts.
struct Field {
  std::string key;
  std::variant<std::string*, int*, double*, bool*> target;
  double min = 0, max = 0;  // numbers only
  std::string flag;         // "" = "--" + key with '-' for '_'
};

std::vector<Field> Fields(WorkArgs* a) {
  worker::WorkerOptions& o = a->options;
  return {
      {"source", &a->source},
      {"sink", &a->sink},
      {"password_env", &o.password_env},
      {"tls_ca", &o.tls_ca_file},
      {"config", &o.config},
      {"threads", &o.threads, 0, 1024},
      {"max_in_flight", &o.max_in_flight, 1, 100000},
      {"max_deliveries", &o.max_deliveries, 1, 1000},
      {"drain_seconds", &o.drain_seconds, 0, 86400},
      {"connect_timeout", &o.connect_timeout_seconds, 0, 86400},
      {"reconnect_max", &o.reconnect_max_seconds, 0.1, 3600},
      {"verify_sink", &o.verify_sink, 0, 0, "--no-verify-sink"},
      {"dead_letter_condition", &o.dead_letter_condition},
      {"target_latency", &o.scaling.target_latency_s, 0.001, 86400},
      {"scaling_horizon", &o.scaling.horizon_s, 0, 86400},
      {"scaling_interval", &o.scaling_interval_seconds, 0.1, 3600},
      {"metrics_port", &a->metrics_port, -1, 65535},
      {"metrics_host", &a->metrics_host},
  };
}

std::string FlagOf(const Field& f) {
  if (!f.flag.empty()) return f.flag;
  std::string flag = "--" + f.key;
  for (char& c : flag)
    if (c == '_') c = '-';
  return flag;
}

// Sets the field from a scalar; a located error when the value does not fit.
void Apply(const Field& f, const YAML::Node& value, const std::string& path, Diagnostics& diags) {
  const std::string where = "work." + f.key;
  if (!value.IsScalar()) {
    diags.Error(internal::Where(path, value),
                where + ": expected a single value, got " + internal::Describe(value));
    return;
  }
  const std::string text = value.Scalar();
  auto range = [&](double v) {
    if (v >= f.min && v <= f.max) return true;
    diags.Error(internal::Where(path, value), where + ": " + text + " is outside [" +
                                                  std::to_string(f.min) + ", " +
                                                  std::to_string(f.max) + "]");
    return false;
  };
  if (auto* s = std::get_if<std::string*>(&f.target)) {
    **s = text;
  } else if (auto* i = std::get_if<int*>(&f.target)) {
    int64_t v = 0;
    if (!internal::ParseInt(text, &v)) {
      diags.Error(internal::Where(path, value),
                  where + ": expected an integer, got '" + text + "'");
    } else if (range(double(v))) {
      **i = int(v);
    }
  } else if (auto* d = std::get_if<double*>(&f.target)) {
    double v = 0;
    if (!internal::ParseDouble(text, &v)) {
      diags.Error(internal::Where(path, value), where + ": expected a number, got '" + text + "'");
    } else if (range(v)) {
      **d = v;
    }
  } else if (auto* b = std::get_if<bool*>(&f.target)) {
    if (!internal::ParseBool(text, *b))
      diags.Error(internal::Where(path, value),
                  where + ": expected true or false, got '" + text + "'");
  }
}

}  // namespace

Status ApplyWorkerConfig(const std::string& path,
                         const std::function<bool(const std::string& flag)>& given,
                         WorkArgs* args) {
  StatusOr<std::string> text = internal::ReadTextFile(path, 1 << 20);
  if (!text.ok()) return text.status();
  StatusOr<YAML::Node> root = internal::SafeLoadYaml(*text, path, 1 << 20, 16);
  if (!root.ok()) return root.status();
  Diagnostics diags;
  if (!root->IsMap() || !(*root)["work"] || !(*root)["work"].IsMap()) {
    diags.Error(internal::Where(path, *root),
                "worker config: expected a mapping with a 'work:' mapping of settings");
    return diags.ToStatus();
  }
  internal::CheckKeys(*root, {"work"}, path, "worker config: unknown key", diags);
  const YAML::Node work = (*root)["work"];
  std::vector<Field> fields = Fields(args);
  std::vector<std::string> keys;
  for (const Field& f : fields) keys.push_back(f.key);
  for (const auto& kv : work) {
    const std::string key = kv.first.Scalar();
    if (key == "password") {
      diags.Error(internal::Where(path, kv.first),
                  "work.password: secrets never go in a file; name the environment variable "
                  "holding it with 'password_env:'");
      continue;
    }
    auto f = std::find_if(fields.begin(), fields.end(),
                          [&](const Field& field) { return field.key == key; });
    if (f == fields.end()) {
      internal::ReportUnknownKey(kv.first, keys, path, "worker config: unknown key", diags, "",
                                 "work.");
      continue;
    }
    if (given(FlagOf(*f))) continue;  // the command line wins
    Apply(*f, kv.second, path, diags);
  }
  return diags.ToStatus();
}

}  // namespace refinery::cli
