// Prometheus text exposition (format 0.0.4) of an engine's stats: conventional names (snake
// case, `refinery_` prefix, `_total` counters, base units: seconds), labels pipeline, node,
// node_type, request_type. docs/monitoring.md lists every family.
#pragma once

#include <string>

#include "graph/engine.h"
#include "graph/monitor/views/exposition.h"

namespace refinery::monitor {

std::string FormatPrometheus(const EngineStats& stats, const std::string& pipeline);
// The same families into an exposition shared with other sources (a server with several
// pipelines writes each family once, with every pipeline's samples under it).
void AppendPrometheus(const EngineStats& stats, const std::string& pipeline, Exposition* out);

}  // namespace refinery::monitor
