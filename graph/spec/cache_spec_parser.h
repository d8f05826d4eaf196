// Parsing `cache:` settings, shared by pipeline files (per node, in defaults) and configs/.
//   cache: false
//   cache: {enabled: true, capacity: 10000, max_bytes: 64MiB, ttl_seconds: 300}
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "graph/runtime_config.h"
#include "graph/spec/diagnostics.h"

namespace refinery::internal {

CacheOverride ParseCacheOverride(const YAML::Node& node, const std::string& file,
                                 const std::string& context, Diagnostics& diags);

// "1048576", "64KiB", "64MiB", "1GiB" -> bytes.
std::optional<int64_t> ParseByteSize(const std::string& text);

}  // namespace refinery::internal
