#include "nodes/summarize/near_duplicates.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <vector>

namespace refinery::summarize {
namespace {

constexpr int kHashes = 64;
constexpr int kBands = 16;
constexpr int kRows = kHashes / kBands;
constexpr size_t kPerBucket = 4;
constexpr size_t kMaxCandidates = 16;
using Signature = std::array<uint32_t, kHashes>;  // 32-bit minima: half the memory, vectorisable

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
  sig.fill(std::numeric_limits<uint32_t>::max());
  const size_t width = words.size() >= 3 ? 3 : 1;
  for (size_t i = 0; i + width <= words.size(); ++i) {
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (size_t k = 0; k < width; ++k) h = Mix(h ^ words[i + k]);
    // k independent-enough hash functions from two (Kirsch and Mitzenmacher): h1 + j * h2.
    const uint32_t h1 = uint32_t(h >> 32), h2 = uint32_t(h) | 1;
    for (int j = 0; j < kHashes; ++j) sig[j] = std::min(sig[j], h1 + uint32_t(j) * h2);
  }
  return true;
}

double EstimatedJaccard(const Signature& a, const Signature& b) {
  int same = 0;
  for (int j = 0; j < kHashes; ++j) same += a[j] == b[j];
  return double(same) / kHashes;
}

}  // namespace

std::vector<bool> FindNearDuplicates(const std::vector<std::vector<uint32_t>>& words,
                                     double threshold) {
  const size_t n = words.size();
  std::vector<bool> dup(n, false);
  std::vector<Signature> sigs(n);
  std::vector<bool> signed_(n, false);
  for (size_t i = 0; i < n; ++i) signed_[i] = Sign(words[i], sigs[i]);

  // Candidates through the bands. Sorting (band key, sentence) pairs groups each bucket with its
  // members in document order, without a hash table per band (cache misses dominated that).
  // Each sentence takes the kPerBucket members just before it in every bucket it is in, at most
  // kMaxCandidates distinct ones: a true repeat shares (almost) every band, so it is met early,
  // and boilerplate-crowded buckets cannot make the pass quadratic.
  std::vector<std::vector<uint32_t>> candidates(n);
  std::vector<std::pair<uint64_t, uint32_t>> band;
  band.reserve(n);
  for (int b = 0; b < kBands; ++b) {
    band.clear();
    for (size_t i = 0; i < n; ++i) {
      if (!signed_[i]) continue;
      uint64_t key = uint64_t(b);
      for (int r = 0; r < kRows; ++r) key = Mix(key ^ sigs[i][b * kRows + r]);
      band.emplace_back(key, uint32_t(i));
    }
    std::sort(band.begin(), band.end());
    for (size_t p = 1; p < band.size(); ++p) {
      std::vector<uint32_t>& mine = candidates[band[p].second];
      for (size_t q = p; q > 0 && p - q < kPerBucket && band[q - 1].first == band[p].first; --q) {
        if (mine.size() >= kMaxCandidates) break;
        const uint32_t j = band[q - 1].second;
        if (std::find(mine.begin(), mine.end(), j) == mine.end()) mine.push_back(j);
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    for (uint32_t j : candidates[i]) {
      if (EstimatedJaccard(sigs[i], sigs[j]) >= threshold) {
        dup[i] = true;
        break;
      }
    }
  }
  return dup;
}

}  // namespace refinery::summarize
