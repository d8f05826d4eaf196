// NodeStats: live counters of one compiled node, updated from node bodies with relaxed atomics
// (cheap enough to stay on) and read at any time by Engine::Stats().
#pragma once

#include <atomic>

#include "graph/internal/thread_shard.h"
#include <cstdint>

#include "graph/latency_histogram.h"

namespace refinery {

struct NodeStats {
  internal::ShardedCounter arrived;    // handed to this node (queued, running or done)
  internal::ShardedCounter errors;
  // Body time per item, cache hits included. Its count is the number of bodies finished and its
  // sum the node's busy time, so those need no counters of their own.
  LatencyHistogram latency;
};

}  // namespace refinery
