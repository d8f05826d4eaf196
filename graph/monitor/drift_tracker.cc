#include "graph/monitor/drift_tracker.h"

#include <algorithm>
#include <numeric>

#include "graph/monitor/distribution_shift.h"

namespace refinery::monitor {

namespace {
double Mean(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}
}  // namespace

DriftTracker::DriftTracker(std::string metric, const DriftSpec& spec,
                           std::vector<double> saved_baseline)
    : spec_(spec), baseline_(std::move(saved_baseline)), current_(size_t(spec.window)) {
  state_.metric = std::move(metric);
  // A saved baseline is complete whatever its size (it was complete when saved).
  if (!baseline_.empty()) spec_.baseline = int64_t(baseline_.size());
  state_.baseline_count = int64_t(baseline_.size());
  state_.baseline_mean = Mean(baseline_);
}

std::optional<DriftState> DriftTracker::Add(double value) {
  if (!baseline_complete()) {
    baseline_.push_back(value);
    state_.baseline_count = int64_t(baseline_.size());
    state_.baseline_mean = Mean(baseline_);
    return std::nullopt;
  }
  current_.Add(value);
  state_.current_count = int64_t(current_.size());
  if (!current_.full()) return std::nullopt;
  const int64_t every = std::max<int64_t>(1, spec_.window / 10);
  if (state_.measured && ++since_measure_ < every) return std::nullopt;
  since_measure_ = 0;
  const bool was = state_.drifting;
  Measure();
  if (state_.drifting != was) return state_;
  return std::nullopt;
}

void DriftTracker::Measure() {
  state_.current_mean = current_.Mean();
  // PSI of two samples of one distribution is biased upwards by about (bins - 1) * (1/N + 1/M):
  // at least ~10 values per bin keep that bias well under the usual 0.25 limit.
  const int64_t smaller = std::min<int64_t>(int64_t(baseline_.size()), int64_t(current_.size()));
  const int bins = int(std::clamp<int64_t>(smaller / 10, 2, spec_.bins));
  if (sorted_baseline_.empty()) {
    sorted_baseline_ = baseline_;
    std::sort(sorted_baseline_.begin(), sorted_baseline_.end());
  }
  std::vector<double> current = current_.values();
  std::sort(current.begin(), current.end());
  state_.psi = PopulationStabilityIndexSorted(sorted_baseline_, current, bins);
  state_.ks = KolmogorovSmirnovSorted(sorted_baseline_, current);
  state_.measured = true;
  // Both must agree: PSI alone is noisy on samples of a few hundred, and KS alone misses changes
  // of shape that keep the median; together they rarely fire on noise (docs/monitoring.md).
  // Hysteresis: once drifting, the metric must come back under 80% of a limit to be called
  // stable again, so a value hovering at the limit does not fire and resolve over and over.
  if (state_.drifting)
    state_.drifting = state_.psi > 0.8 * spec_.psi && state_.ks > 0.8 * spec_.ks;
  else
    state_.drifting = state_.psi > spec_.psi && state_.ks > spec_.ks;
}

}  // namespace refinery::monitor
