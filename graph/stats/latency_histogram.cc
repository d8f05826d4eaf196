#include "graph/stats/latency_histogram.h"

#include <algorithm>
#include <bit>

namespace refinery {

int LatencyHistogram::BucketOf(uint64_t v) {
  if (v < (1u << kSubBits)) return static_cast<int>(v);
  int msb = 63 - std::countl_zero(v);  // >= kSubBits
  int shift = msb - kSubBits;
  int sub = static_cast<int>((v >> shift) & ((1u << kSubBits) - 1));
  return ((shift + 1) << kSubBits) + sub;
}

int64_t LatencyHistogram::BucketUpper(int bucket) {
  if (bucket < (1 << kSubBits)) return bucket;
  int shift = (bucket >> kSubBits) - 1;
  int64_t sub = bucket & ((1 << kSubBits) - 1);
  int64_t base = ((int64_t{1} << kSubBits) + sub) << shift;
  return base + (int64_t{1} << shift) - 1;
}

void LatencyHistogram::Record(int64_t nanos) {
  if (nanos < 0) nanos = 0;
  const internal::ShardSlot slot = internal::ThreadShard();
  Shard& shard = shards_[slot.index];
  internal::ShardAdd(shard.buckets[BucketOf(static_cast<uint64_t>(nanos))], 1, slot.exclusive);
  internal::ShardAdd(shard.sum, nanos, slot.exclusive);
  int64_t m = shard.max.load(std::memory_order_relaxed);
  while (nanos > m && !shard.max.compare_exchange_weak(m, nanos, std::memory_order_relaxed)) {
  }
}

int64_t LatencyHistogram::BucketCount(int bucket) const {
  int64_t c = 0;
  for (int s = 0; s < internal::kThreadShards; ++s) {
    c += shards_[s].buckets[bucket].load(std::memory_order_relaxed);
  }
  return c;
}

int64_t LatencyHistogram::Max() const {
  int64_t m = 0;
  for (int s = 0; s < internal::kThreadShards; ++s) {
    m = std::max(m, shards_[s].max.load(std::memory_order_relaxed));
  }
  return m;
}

int64_t LatencyHistogram::sum_ns() const {
  int64_t total = 0;
  for (int s = 0; s < internal::kThreadShards; ++s) {
    total += shards_[s].sum.load(std::memory_order_relaxed);
  }
  return total;
}

int64_t LatencyHistogram::count() const {
  int64_t total = 0;
  for (int i = 0; i < kBuckets; ++i) total += BucketCount(i);
  return total;
}

const std::vector<double>& LatencyBucketBounds() {
  static const std::vector<double> kBounds = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,     0.25,   0.5,     1,      2.5,   5,      10,    30,   60};
  return kBounds;
}

std::vector<int64_t> LatencyHistogram::CumulativeCounts(
    const std::vector<double>& bounds_seconds) const {
  std::vector<int64_t> out(bounds_seconds.size(), 0);
  int64_t seen = 0;
  size_t b = 0;
  for (int i = 0; i < kBuckets && b < out.size(); ++i) {
    const double upper_seconds = double(BucketUpper(i)) / 1e9;
    while (b < out.size() && upper_seconds > bounds_seconds[b]) out[b++] = seen;
    seen += BucketCount(i);
  }
  for (; b < out.size(); ++b) out[b] = seen;
  return out;
}

int64_t LatencyHistogram::Quantile(double q) const {
  const int64_t total = count();
  if (total == 0) return 0;
  const int64_t max = Max();
  int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(q * total + 0.999999));
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += BucketCount(i);
    if (seen >= rank) return std::min(BucketUpper(i), max);
  }
  return max;
}

LatencySummary LatencyHistogram::Summary() const {
  LatencySummary s;
  s.count = count();
  if (s.count == 0) return s;
  s.mean_us = sum_ns() / 1e3 / s.count;
  s.p50_us = Quantile(0.50) / 1e3;
  s.p95_us = Quantile(0.95) / 1e3;
  s.p99_us = Quantile(0.99) / 1e3;
  s.max_us = Max() / 1e3;
  return s;
}

}  // namespace refinery
