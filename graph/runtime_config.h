// Settings applied over a pipeline file when it is loaded (public): `--set` overrides and the
// operator's runtime config kept in configs/ (cache sizes per node, caches off, monitoring
// thresholds and alerts).
//
//   # configs/default.yaml
//   cache:
//     defaults: {capacity: 10000, max_bytes: 64MiB}
//     nodes:
//       summ: {enabled: false}
//
//   refinery::Overrides overrides = {refinery::ParseOverride("cut.max_tokens=512").value()};
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "graph/monitor_config.h"
#include "graph/status.h"

namespace refinery {

// `--set node.key=value` (or `--set max_in_flight=N` for a pipeline-level key).
struct Override {
  std::string node;  // empty for pipeline-level keys
  std::string key;
  std::string value;  // after '=': a YAML scalar or flow collection, checked by ParseOverride
  std::string text;   // as typed, for messages
};
using Overrides = std::vector<Override>;
StatusOr<Override> ParseOverride(const std::string& text);

// Cache settings where each field may be left unset (then the pipeline's value stands).
struct CacheOverride {
  std::optional<bool> enabled;
  std::optional<int64_t> capacity;
  std::optional<int64_t> max_bytes;
  std::optional<double> ttl_seconds;
};

struct RuntimeConfig {
  std::string file;
  CacheOverride cache_defaults;                      // applies to every cacheable node
  std::map<std::string, CacheOverride> cache_nodes;  // by node id, over the defaults
  std::optional<MonitorConfig> monitoring;           // `monitoring:` (docs/monitoring.md)
};

StatusOr<RuntimeConfig> LoadRuntimeConfig(const std::string& path);

}  // namespace refinery
