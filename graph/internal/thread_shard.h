// Per-thread sharding for counters written on every item by several threads at once. Two
// threads adding to one atomic bounce its cache line between cores on every add; at 1 us node
// bodies that alone cost more than the node hop (engine_bench chain, 2 threads). Writers add to
// their thread's shard; readers (stats, rarely) sum the shards.
#pragma once

#include <atomic>
#include <cstdint>

namespace refinery::internal {

inline constexpr int kThreadShards = 16;

// This thread's shard: the first kThreadShards threads that ask get one each, for themselves
// (`exclusive`: the only writer, so a relaxed load + store replaces the locked add); later
// threads share them round-robin and use atomic adds. The thread_locals are constant-
// initialised, so reading them is a plain TLS load, not a call to a TLS init wrapper.
struct ShardSlot {
  int index;
  bool exclusive;
};
inline ShardSlot ThreadShard() {
  static std::atomic<int> next{0};
  static thread_local int shard = -1;
  static thread_local bool exclusive = false;
  if (__builtin_expect(shard < 0, 0)) {
    const int n = next.fetch_add(1, std::memory_order_relaxed);
    shard = n % kThreadShards;
    exclusive = n < kThreadShards;
  }
  return {shard, exclusive};
}

// Adds to an atomic that only this thread writes when `exclusive`.
inline void ShardAdd(std::atomic<int64_t>& a, int64_t n, bool exclusive) {
  if (exclusive) {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  } else {
    a.fetch_add(n, std::memory_order_relaxed);
  }
}

class ShardedCounter {
 public:
  void Add(int64_t n = 1) {
    const ShardSlot slot = ThreadShard();
    ShardAdd(shards_[slot.index].value, n, slot.exclusive);
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
