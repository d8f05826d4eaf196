#include "graph/runtime/cache.h"

#include <algorithm>

namespace refinery {

namespace {
constexpr int64_t kEntryOverhead = 96;  // list node + map slot + control block, roughly
}

NodeCache::NodeCache(const CacheSpec& spec)
    : shard_capacity_(std::max<int64_t>(1, (spec.capacity + kShards - 1) / kShards)),
      shard_max_bytes_(std::max<int64_t>(1, spec.max_bytes / int64_t(kShards))),
      ttl_(std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(spec.ttl_seconds))) {}

std::shared_ptr<const CachedOutputs> NodeCache::Get(const CacheKey& key) {
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.index.find(key);
  if (it == shard.index.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  if (ttl_.count() > 0 && Clock::now() - it->second->inserted > ttl_) {
    shard.bytes -= it->second->value->bytes + kEntryOverhead;
    shard.lru.erase(it->second);
    shard.index.erase(it);
    expirations_.fetch_add(1, std::memory_order_relaxed);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second->value;
}

void NodeCache::Put(const CacheKey& key, std::shared_ptr<const CachedOutputs> value) {
  const int64_t size = int64_t(value->bytes) + kEntryOverhead;
  if (size > shard_max_bytes_) return;  // larger than a whole shard: never worth keeping
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.index.find(key);
  if (it != shard.index.end()) {
    // Another thread computed the same entry concurrently: keep one.
    shard.bytes -= it->second->value->bytes + kEntryOverhead;
    shard.lru.erase(it->second);
    shard.index.erase(it);
  }
  shard.lru.push_front({key, std::move(value), Clock::now()});
  shard.index.emplace(key, shard.lru.begin());
  shard.bytes += size;
  EvictLocked(shard);
}

void NodeCache::EvictLocked(Shard& shard) {
  while (!shard.lru.empty() &&
         (int64_t(shard.lru.size()) > shard_capacity_ || shard.bytes > shard_max_bytes_)) {
    Entry& victim = shard.lru.back();
    shard.bytes -= victim.value->bytes + kEntryOverhead;
    shard.index.erase(victim.key);
    shard.lru.pop_back();
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
}

CacheStats NodeCache::Stats() const {
  CacheStats s;
  s.hits = hits_.load();
  s.misses = misses_.load();
  s.evictions = evictions_.load();
  s.expirations = expirations_.load();
  for (const Shard& shard : shards_) {
    std::lock_guard lock(const_cast<std::mutex&>(shard.mu));
    s.entries += int64_t(shard.lru.size());
    s.bytes += shard.bytes;
  }
  return s;
}

void NodeCache::Clear() {
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    shard.lru.clear();
    shard.index.clear();
    shard.bytes = 0;
  }
}

}  // namespace refinery
