// The run report as a page a person would rather look at than read: one self-contained HTML file
// (inline CSS and SVG, no network) drawn from the RunReport message - the graph with each node
// coloured by its share of time, per-node latency histograms, throughput and tokens over time,
// token savings per request type, iterations per request, cache hit rates, alerts and drift.
#pragma once

#include <string>

#include "graph/proto/refinery.pb.h"

namespace refinery::monitor {

std::string RenderHtmlReport(const proto::RunReport& report);

}  // namespace refinery::monitor
