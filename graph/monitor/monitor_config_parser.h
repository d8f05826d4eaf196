// Parses the `monitoring:` section of a runtime config into a MonitorConfig
// (graph/monitor_config.h), with a located diagnostic for every mistake.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "graph/monitor_config.h"
#include "graph/spec/diagnostics.h"

namespace refinery {

namespace internal {
MonitorConfig ParseMonitorConfig(const YAML::Node& node, const std::string& file,
                                 Diagnostics& diags);
}

}  // namespace refinery
