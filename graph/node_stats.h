// NodeStats: live counters of one compiled node, updated from node bodies with relaxed atomics
// (cheap enough to stay on) and read at any time by Engine::Stats().
#pragma once

#include <atomic>
#include <cstdint>

#include "graph/latency_histogram.h"

namespace refinery {

struct NodeStats {
  std::atomic<int64_t> arrived{0};    // handed to this node (queued or running or done)
  std::atomic<int64_t> started{0};    // bodies entered
  std::atomic<int64_t> finished{0};   // bodies left (ok, error or cache hit)
  std::atomic<int64_t> errors{0};
  std::atomic<int64_t> busy_ns{0};    // summed body time, for "share of time" in reports
  LatencyHistogram latency;           // body time per item, cache hits included
};

}  // namespace refinery
