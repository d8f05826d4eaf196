#include "nodes/llm/sampler.h"

#include <algorithm>
#include <cmath>

namespace refinery::llm {

int32_t Sampler::Sample(const float* logits, int vocab) {
  if (options_.temperature <= 0.0f)
    return int32_t(std::max_element(logits, logits + vocab) - logits);
  candidates_.clear();
  for (int i = 0; i < vocab; ++i) candidates_.emplace_back(logits[i], int32_t(i));
  auto higher = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  size_t keep = candidates_.size();
  if (options_.top_k > 0 && size_t(options_.top_k) < keep) {
    keep = size_t(options_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + long(keep), candidates_.end(),
                      higher);
    candidates_.resize(keep);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), higher);
  }
  const float max = candidates_.front().first;
  double total = 0;
  for (auto& c : candidates_) total += (c.first = std::exp((c.first - max) / options_.temperature));
  // Nucleus: the most likely tokens until their mass reaches top_p.
  double mass = 0;
  size_t n = 0;
  for (; n < candidates_.size(); ++n) {
    mass += candidates_[n].first / total;
    if (mass >= options_.top_p) {
      ++n;
      break;
    }
  }
  n = std::min(std::max<size_t>(n, 1), candidates_.size());
  double kept = 0;
  for (size_t i = 0; i < n; ++i) kept += candidates_[i].first;
  double u = std::uniform_real_distribution<double>(0.0, kept)(rng_);
  for (size_t i = 0; i < n; ++i) {
    u -= candidates_[i].first;
    if (u <= 0) return candidates_[i].second;
  }
  return candidates_[n - 1].second;
}

}  // namespace refinery::llm
