// NodeCache: a thread-safe, sharded LRU of node outputs, bounded by entries and bytes, with an
// optional TTL. One per cacheable node. Values are immutable and shared (a hit copies the
// fields into the item; the entry itself is never mutated).
//
//   NodeCache cache({.enabled = true, .capacity = 10000, .max_bytes = 64 << 20});
//   if (auto hit = cache.Get(key)) apply(*hit); else cache.Put(key, compute());
//
// Sharding: 16 shards by key, each with its own mutex, list and map, so two threads rarely
// contend. Each shard enforces capacity/16 entries and max_bytes/16 bytes.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "graph/internal/cycle_clock.h"
#include "graph/item.h"
#include "graph/runtime/cache_key.h"
#include "graph/spec/pipeline_spec.h"
#include "graph/stats.h"

namespace refinery {

// What a node wrote, restored on a hit.
struct CachedOutputs {
  std::vector<std::pair<std::string, FieldValue>> fields;
  size_t bytes = 0;
};

class NodeCache {
 public:
  explicit NodeCache(const CacheSpec& spec);
  NodeCache(const NodeCache&) = delete;

  std::shared_ptr<const CachedOutputs> Get(const CacheKey& key);
  void Put(const CacheKey& key, std::shared_ptr<const CachedOutputs> value);
  CacheStats Stats() const;
  void Clear();

 private:
  static constexpr size_t kShards = 16;
  struct Entry {
    CacheKey key;
    std::shared_ptr<const CachedOutputs> value;
    Clock::time_point inserted;
  };
  struct Shard {
    std::mutex mu;
    std::list<Entry> lru;  // front = most recently used
    std::unordered_map<CacheKey, std::list<Entry>::iterator, CacheKeyHash> index;
    int64_t bytes = 0;
  };
  Shard& ShardFor(const CacheKey& key) { return shards_[key.high % kShards]; }
  void EvictLocked(Shard& shard);

  const int64_t shard_capacity_;
  const int64_t shard_max_bytes_;
  const Clock::duration ttl_;
  Shard shards_[kShards];
  std::atomic<int64_t> hits_{0}, misses_{0}, evictions_{0}, expirations_{0};
};

}  // namespace refinery
