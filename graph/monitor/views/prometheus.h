// Prometheus text exposition (format 0.0.4) of an engine's stats: conventional names (snake
// case, `refinery_` prefix, `_total` counters, base units: seconds), labels pipeline, node,
// node_type, request_type. docs/monitoring.md lists every family.
#pragma once

#include <string>

#include "graph/engine.h"

namespace refinery::monitor {

std::string FormatPrometheus(const EngineStats& stats, const std::string& pipeline);

}  // namespace refinery::monitor
