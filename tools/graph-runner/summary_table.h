// The end-of-run summary graph-runner prints on stderr: totals and one row per node.
#pragma once

#include <cstdio>
#include <string>

#include "graph/engine.h"

namespace refinery::cli {

// A duration in microseconds as people read it: "12.3us", "4.56ms", "1.20s".
std::string FormatMicros(double us);

std::string FormatSummary(const EngineStats& stats, const std::string& pipeline, int64_t requests,
                          double wall_seconds);

}  // namespace refinery::cli
