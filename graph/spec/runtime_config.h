// RuntimeConfig: operator settings kept in configs/ (cache sizes per node, caches off,
// monitoring thresholds and alerts), applied
// over a pipeline's own settings when it is loaded.
//
//   # configs/default.yaml
//   cache:
//     defaults: {capacity: 10000, max_bytes: 64MiB}
//     nodes:
//       summ: {enabled: false}
#pragma once

#include <map>
#include <optional>
#include <string>

#include "graph/monitor/monitor_config.h"
#include "graph/spec/pipeline_spec.h"
#include "graph/status.h"

namespace refinery {

// Cache settings where each field may be left unset (then the pipeline's value stands).
struct CacheOverride {
  std::optional<bool> enabled;
  std::optional<int64_t> capacity;
  std::optional<int64_t> max_bytes;
  std::optional<double> ttl_seconds;
  void ApplyTo(CacheSpec& spec) const;
};

struct RuntimeConfig {
  std::string file;
  CacheOverride cache_defaults;                      // applies to every cacheable node
  std::map<std::string, CacheOverride> cache_nodes;  // by node id, over the defaults
  std::optional<MonitorConfig> monitoring;           // `monitoring:` (docs/monitoring.md)
};

StatusOr<RuntimeConfig> LoadRuntimeConfig(const std::string& path);

}  // namespace refinery
