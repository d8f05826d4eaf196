// LatencyHistogram: a lock-free log-linear histogram of durations in nanoseconds (HdrHistogram's
// layout with 16 sub-buckets per power of two: every recorded value is kept within 6.25%), so
// p50/p95/p99 come from all observations, not a sample. Record() is two relaxed atomic adds
// and a load on the calling thread's own shard (internal/thread_shard.h), so threads recording
// into one histogram do not contend; readers merge the shards.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "graph/internal/thread_shard.h"
#include "graph/stats.h"

namespace refinery {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 4;
  static constexpr int kBuckets = (64 - kSubBits + 1) << kSubBits;

  void Record(int64_t nanos);
  LatencySummary Summary() const;
  // Value (ns) at quantile q in [0, 1]; the upper edge of the bucket holding it.
  int64_t Quantile(double q) const;
  int64_t count() const;  // sums the buckets: reading is rare, recording is not
  int64_t sum_ns() const;
  // Observations at or below each bound (seconds, ascending): Prometheus' cumulative `le`
  // buckets. A recorded bucket counts under a bound when its upper edge is at or below it, so a
  // count can be short by values within 6.25% under the bound.
  std::vector<int64_t> CumulativeCounts(const std::vector<double>& bounds_seconds) const;
  static int BucketOf(uint64_t v);
  static int64_t BucketUpper(int bucket);

 private:
  struct alignas(64) Shard {
    std::array<std::atomic<int64_t>, kBuckets> buckets{};
    std::atomic<int64_t> sum{0};
    std::atomic<int64_t> max{0};
  };
  int64_t BucketCount(int bucket) const;
  int64_t Max() const;

  std::unique_ptr<Shard[]> shards_{new Shard[internal::kThreadShards]};
};

}  // namespace refinery
