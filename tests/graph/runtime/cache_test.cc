#include "graph/runtime/cache.h"

#include <gtest/gtest.h>

#include <thread>

namespace refinery {
namespace {

std::shared_ptr<const CachedOutputs> Value(size_t bytes) {
  auto v = std::make_shared<CachedOutputs>();
  v->fields.emplace_back("text", std::string(bytes, 'x'));
  v->bytes = bytes;
  return v;
}

CacheKey Key(uint64_t i) { return {i * 0x9E3779B97F4A7C15ull, i}; }

TEST(NodeCache, HitMissAndEntryBound) {
  NodeCache cache({.enabled = true, .capacity = 160, .max_bytes = 1 << 30});
  for (uint64_t i = 0; i < 1000; ++i) cache.Put(Key(i), Value(10));
  CacheStats s = cache.Stats();
  EXPECT_LE(s.entries, 160);
  EXPECT_EQ(s.evictions, 1000 - s.entries);
  EXPECT_NE(cache.Get(Key(999)), nullptr);  // most recent survives
  EXPECT_EQ(cache.Get(Key(0)), nullptr);    // oldest evicted
  s = cache.Stats();
  EXPECT_EQ(s.hits, 1);
  EXPECT_EQ(s.misses, 1);
}

TEST(NodeCache, LeastRecentlyUsedIsEvictedFirst) {
  NodeCache cache({.enabled = true, .capacity = 16, .max_bytes = 1 << 30});  // 1 per shard
  // Keys in the same shard (high % 16 equal).
  CacheKey a{1, 16}, b{2, 32}, c{3, 48};
  cache.Put(a, Value(1));
  cache.Put(b, Value(1));  // evicts a (capacity 1 per shard)
  EXPECT_EQ(cache.Get(a), nullptr);
  EXPECT_NE(cache.Get(b), nullptr);
  cache.Put(c, Value(1));
  EXPECT_EQ(cache.Get(b), nullptr);
}

TEST(NodeCache, ByteBound) {
  NodeCache cache({.enabled = true, .capacity = 1'000'000, .max_bytes = 16 * 4096});
  for (uint64_t i = 0; i < 1000; ++i) cache.Put(Key(i), Value(1000));
  EXPECT_LE(cache.Stats().bytes, 16 * 4096);
  EXPECT_GT(cache.Stats().evictions, 900);
  cache.Put(Key(5000), Value(1 << 20));  // bigger than a shard: not kept
  EXPECT_EQ(cache.Get(Key(5000)), nullptr);
}

TEST(NodeCache, TtlExpires) {
  NodeCache cache({.enabled = true, .capacity = 100, .max_bytes = 1 << 20, .ttl_seconds = 0.02});
  cache.Put(Key(1), Value(1));
  EXPECT_NE(cache.Get(Key(1)), nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  EXPECT_EQ(cache.Get(Key(1)), nullptr);
  EXPECT_EQ(cache.Stats().expirations, 1);
}

TEST(NodeCache, ConcurrentUseKeepsCountsConsistent) {
  NodeCache cache({.enabled = true, .capacity = 512, .max_bytes = 1 << 30});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < 20000; ++i) {
        CacheKey k = Key((i * 7 + t) % 1000);
        if (!cache.Get(k)) cache.Put(k, Value(8));
      }
    });
  }
  for (auto& th : threads) th.join();
  CacheStats s = cache.Stats();
  EXPECT_EQ(s.hits + s.misses, 80000);
  EXPECT_LE(s.entries, 512 + 16);
}

TEST(CacheKeyBuilder, DependsOnOptionsVersionAndReadFields) {
  Item item("1", "", 0);
  item.set_text("text", "hello");
  item.set_text("other", "ignored");
  CacheKeyBuilder base("t", "1", "a=1", {"text"});
  CacheKey k = base.Key(item);
  EXPECT_EQ(k, CacheKeyBuilder("t", "1", "a=1", {"text"}).Key(item));
  EXPECT_FALSE(k == CacheKeyBuilder("t", "2", "a=1", {"text"}).Key(item));
  EXPECT_FALSE(k == CacheKeyBuilder("t", "1", "a=2", {"text"}).Key(item));
  item.set_text("other", "changed");  // not read: same key
  EXPECT_EQ(k, base.Key(item));
  item.set_text("text", "hellO");
  EXPECT_FALSE(k == base.Key(item));
  Item empty("2", "", 0);
  Item blank("3", "", 0);
  blank.set_text("text", "");
  EXPECT_FALSE(base.Key(empty) == base.Key(blank));  // absent differs from empty
}

}  // namespace
}  // namespace refinery
