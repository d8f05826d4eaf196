#include "nodes/summarize/near_duplicates.h"

#include <array>
#include <cstddef>
#include <limits>
#include <unordered_map>

namespace refinery::summarize {
namespace {

constexpr int kHashes = 64;
constexpr int kBands = 16;
constexpr int kRows = kHashes / kBands;
using Signature = std::array<uint64_t, kHashes>;

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

bool Sign(const std::vector<uint32_t>& words, Signature& sig) {
  if (words.empty()) return false;
  sig.fill(std::numeric_limits<uint64_t>::max());
  const size_t width = words.size() >= 3 ? 3 : 1;
  for (size_t i = 0; i + width <= words.size(); ++i) {
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (size_t k = 0; k < width; ++k) h = Mix(h ^ words[i + k]);
    // k independent-enough hash functions from two (Kirsch and Mitzenmacher): h1 + j * h2.
    const uint64_t h1 = h, h2 = Mix(h) | 1;
    for (int j = 0; j < kHashes; ++j) {
      const uint64_t v = h1 + uint64_t(j) * h2;
      if (v < sig[j]) sig[j] = v;
    }
  }
  return true;
}

double EstimatedJaccard(const Signature& a, const Signature& b) {
  int same = 0;
  for (int j = 0; j < kHashes; ++j) same += a[j] == b[j];
  return double(same) / kHashes;
}

}  // namespace

std::vector<bool> FindNearDuplicates(const std::vector<std::vector<uint32_t>>& words, double threshold) {
  const size_t n = words.size();
  std::vector<bool> dup(n, false);
  std::vector<Signature> sigs(n);
  std::array<std::unordered_multimap<uint64_t, uint32_t>, kBands> bands;
  for (auto& b : bands) b.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (!Sign(words[i], sigs[i])) continue;
    std::array<uint64_t, kBands> keys;
    for (int b = 0; b < kBands; ++b) {
      uint64_t key = uint64_t(b);
      for (int r = 0; r < kRows; ++r) key = Mix(key ^ sigs[i][b * kRows + r]);
      keys[b] = key;
      auto [first, last] = bands[b].equal_range(key);
      for (auto it = first; it != last && !dup[i]; ++it) {
        if (EstimatedJaccard(sigs[i], sigs[it->second]) >= threshold) dup[i] = true;
      }
      if (dup[i]) break;
    }
    if (dup[i]) continue;  // only originals are matched against, so chains do not drift
    for (int b = 0; b < kBands; ++b) bands[b].emplace(keys[b], uint32_t(i));
  }
  return dup;
}

}  // namespace refinery::summarize
