#include "graph/runtime/loop_adaptation.h"

#include <algorithm>
#include <vector>

namespace refinery {

int LoopAdaptation::StartPass(std::string_view type) {
  std::lock_guard lock(mu_);
  auto it = types_.find(type);
  if (it == types_.end()) {
    if (types_.size() >= kMaxTypes) return 0;
    it = types_.emplace(std::string(type), TypeState{}).first;
  }
  TypeState& t = it->second;
  const int64_t n = t.started++;
  if (t.outcomes.size() < kMinOutcomes) return 0;
  std::vector<int> sorted(t.outcomes.begin(), t.outcomes.end());
  std::sort(sorted.begin(), sorted.end());
  int start = sorted[sorted.size() / 4];
  start = std::clamp(start, 0, max_iterations_ - 1);
  if (n % kProbeEvery == kProbeEvery - 1)
    start = std::max(0, start - 1);  // probe: could it pass earlier?
  return start;
}

void LoopAdaptation::Record(std::string_view type, int passed_at) {
  std::lock_guard lock(mu_);
  auto it = types_.find(type);
  if (it == types_.end()) return;
  it->second.outcomes.push_back(passed_at < 0 ? max_iterations_ : passed_at);
  if (it->second.outcomes.size() > kWindow) it->second.outcomes.pop_front();
}

}  // namespace refinery
