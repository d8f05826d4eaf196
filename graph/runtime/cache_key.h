// CacheKey: a 128-bit XXH3 hash of (node type, node version, canonical options, the input fields
// the node reads). 128 bits make an accidental collision negligible (~2^-64 at billions of
// entries), so the cache stores the hash, not the inputs. xxHash is used because it hashes at
// memory speed; std::hash is 64-bit and unspecified across builds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/item.h"

namespace refinery {

struct CacheKey {
  uint64_t low = 0;
  uint64_t high = 0;
  bool operator==(const CacheKey& o) const { return low == o.low && high == o.high; }
};

struct CacheKeyHash {
  size_t operator()(const CacheKey& k) const { return static_cast<size_t>(k.low); }
};

// Built once per node at compile time; Key() is called per item.
class CacheKeyBuilder {
 public:
  CacheKeyBuilder(const std::string& type, const std::string& version, const std::string& options,
                  std::vector<std::string> reads);
  // Absent fields are hashed as absent, so "missing" and "empty" differ.
  CacheKey Key(const Item& item) const;

 private:
  std::string prefix_;
  std::vector<std::string> reads_;
};

}  // namespace refinery
