// Per-thread sharding for counters written on every item by several threads at once. Two
// threads adding to one atomic bounce its cache line between cores on every add; at 1 us node
// bodies that alone cost more than the node hop (engine_bench chain, 2 threads). Writers add to
// their thread's shard; readers (stats, rarely) sum the shards.
#pragma once

#include <atomic>
#include <cstdint>

namespace refinery::internal {

inline constexpr int kThreadShards = 8;

// This thread's shard, assigned round-robin on first use.
inline int ThreadShard() {
  static std::atomic<int> next{0};
  thread_local const int shard = next.fetch_add(1, std::memory_order_relaxed) % kThreadShards;
  return shard;
}

class ShardedCounter {
 public:
  void Add(int64_t n = 1) {
    shards_[ThreadShard()].value.fetch_add(n, std::memory_order_relaxed);
  }
  int64_t Load() const {
    int64_t sum = 0;
    for (const Shard& s : shards_) sum += s.value.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct alignas(64) Shard {
    std::atomic<int64_t> value{0};
  };
  Shard shards_[kThreadShards];
};

}  // namespace refinery::internal
