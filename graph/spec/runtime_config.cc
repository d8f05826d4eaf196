#include "graph/spec/runtime_config.h"

#include "graph/internal/did_you_mean.h"
#include "graph/internal/yaml_guard.h"
#include "graph/internal/yaml_util.h"
#include "graph/monitor/monitor_config_parser.h"
#include "graph/spec/cache_spec_parser.h"

namespace refinery {

void ApplyCacheOverride(const CacheOverride& o, CacheSpec& spec) {
  if (o.enabled) spec.enabled = *o.enabled;
  if (o.capacity) spec.capacity = *o.capacity;
  if (o.max_bytes) spec.max_bytes = *o.max_bytes;
  if (o.ttl_seconds) spec.ttl_seconds = *o.ttl_seconds;
}

StatusOr<Override> ParseOverride(const std::string& text) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::InvalidArgument("--set " + text + ": expected node.key=value");
  }
  Override o;
  o.text = text;
  std::string path = text.substr(0, eq);
  size_t dot = path.find('.');
  if (dot == std::string::npos) {
    o.key = path;
  } else {
    o.node = path.substr(0, dot);
    o.key = path.substr(dot + 1);
  }
  if (o.key.empty() || (dot != std::string::npos && o.node.empty())) {
    return Status::InvalidArgument("--set " + text + ": expected node.key=value");
  }
  StatusOr<YAML::Node> value =
      internal::SafeLoadYaml(text.substr(eq + 1), "--set " + text, 4096, 8);
  if (!value.ok()) return value.status();
  o.value = text.substr(eq + 1);
  return o;
}

YAML::Node OverrideYaml(const Override& o) {
  StatusOr<YAML::Node> value = internal::SafeLoadYaml(o.value, "--set " + o.text, 4096, 8);
  if (!value.ok() || !value->IsDefined() || value->IsNull()) return YAML::Node("");
  return *value;
}

StatusOr<RuntimeConfig> LoadRuntimeConfig(const std::string& path) {
  StatusOr<std::string> text = internal::ReadTextFile(path, 1 << 20);
  if (!text.ok()) return text.status();
  StatusOr<YAML::Node> root = internal::SafeLoadYaml(*text, path, 1 << 20, 32);
  if (!root.ok()) return root.status();
  RuntimeConfig config;
  config.file = path;
  Diagnostics diags;
  const std::string ctx = "config";
  if (!root->IsMap()) {
    diags.Error(internal::Where(path, *root),
                "config: expected a mapping with 'cache' and/or 'monitoring'");
    return diags.ToStatus();
  }
  for (const auto& kv : *root) {
    const std::string key = kv.first.Scalar();
    if (key == "monitoring") {
      config.monitoring = internal::ParseMonitorConfig(kv.second, path, diags);
      continue;
    }
    if (key != "cache") {
      internal::ReportUnknownKey(kv.first, {"cache", "monitoring"}, path, "config: unknown key",
                                 diags);
      continue;
    }
    if (!kv.second.IsMap()) {
      diags.Error(internal::Where(path, kv.second), "config: 'cache' must be a mapping with " +
                                                        std::string("'defaults' and 'nodes'"));
      continue;
    }
    for (const auto& c : kv.second) {
      const std::string ck = c.first.Scalar();
      if (ck == "defaults") {
        config.cache_defaults =
            internal::ParseCacheOverride(c.second, path, "config defaults", diags);
      } else if (ck == "nodes" && c.second.IsMap()) {
        for (const auto& n : c.second) {
          config.cache_nodes[n.first.Scalar()] = internal::ParseCacheOverride(
              n.second, path, "config node '" + n.first.Scalar() + "'", diags);
        }
      } else {
        internal::ReportUnknownKey(c.first, {"defaults", "nodes"}, path, "config: unknown key",
                                   diags, ": {<node id>: ...}", "cache.");
      }
    }
  }
  if (!diags.empty()) return diags.ToStatus();
  return config;
}

}  // namespace refinery
