// The loader's side of graph/runtime_config.h: applying a cache override to a node's cache spec,
// and an override's value as YAML.
#pragma once

#include <yaml-cpp/yaml.h>

#include "graph/runtime_config.h"
#include "graph/spec/pipeline_spec.h"

namespace refinery {

void ApplyCacheOverride(const CacheOverride& override, CacheSpec& spec);
// The value of an override that ParseOverride accepted; an empty value is the empty string.
YAML::Node OverrideYaml(const Override& override);

}  // namespace refinery
