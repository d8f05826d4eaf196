// NodeStats: live counters of one compiled node, updated from node bodies with relaxed atomics
// (cheap enough to stay on) and read at any time by Engine::Stats().
#pragma once

#include <atomic>
#include <cstdint>

#include "graph/internal/thread_shard.h"
#include "graph/stats/latency_histogram.h"

namespace refinery {

struct NodeStats {
  internal::ShardedCounter arrived;  // handed to this node (queued, running or done)
  internal::ShardedCounter errors;
  internal::ShardedCounter expired;  // left a waiting room by their deadline, without running
  // Time this node was busy: a batch counts once, though each of its items records the batch's
  // time in `latency` (that is how long the node took for it).
  internal::ShardedCounter busy_ns;
  // Body time per item, cache hits included. Its count is the number of items finished.
  LatencyHistogram latency;
};

}  // namespace refinery
