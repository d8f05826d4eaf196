#include "graph/stats/metric_aggregate.h"

#include <algorithm>
#include <cmath>

namespace refinery {
namespace {

// numpy.percentile with linear interpolation, on sorted values.
double Percentile(const std::vector<double>& sorted, double pct) {
  if (sorted.empty()) return 0;
  const double pos = pct / 100.0 * double(sorted.size() - 1);
  const size_t lo = size_t(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - double(lo));
}

}  // namespace

BootstrapInterval BootstrapMean(const std::vector<double>& values, int samples, double confidence,
                                uint64_t seed) {
  if (values.empty()) return {};
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, values.size() - 1);
  std::vector<double> means(size_t(std::max(samples, 1)));
  for (double& m : means) {
    double sum = 0;
    for (size_t k = 0; k < values.size(); ++k) sum += values[pick(rng)];
    m = sum / double(values.size());
  }
  std::sort(means.begin(), means.end());
  const double tail = (1 - confidence) / 2 * 100;
  return {Percentile(means, tail), Percentile(means, 50), Percentile(means, 100 - tail)};
}

MetricAggregator::MetricAggregator(std::vector<std::string> names, size_t reservoir)
    : reservoir_(reservoir) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (std::string& n : names) slots_.push_back({std::move(n)});
}

void MetricAggregator::Record(const FieldMap& fields) {
  std::lock_guard lock(mu_);
  for (Slot& slot : slots_) {
    auto it = fields.find(slot.name);
    if (it == fields.end()) continue;
    const double* v = std::get_if<double>(&it->second);
    if (!v || !std::isfinite(*v)) continue;
    ++slot.count;
    slot.sum += *v;
    if (slot.sample.size() < reservoir_) {
      slot.sample.push_back(*v);
    } else {  // reservoir sampling (Algorithm R): every value kept with equal probability
      std::uniform_int_distribution<int64_t> pick(0, slot.count - 1);
      const int64_t j = pick(rng_);
      if (j < int64_t(reservoir_)) slot.sample[size_t(j)] = *v;
    }
  }
}

std::vector<MetricSummary> MetricAggregator::Summaries(bool intervals) const {
  if (!intervals) {
    std::vector<MetricSummary> out;
    std::lock_guard lock(mu_);
    for (const Slot& slot : slots_) {
      if (slot.count == 0) continue;
      const double mean = slot.sum / double(slot.count);
      out.push_back({slot.name, slot.count, mean, mean, mean, mean});
    }
    return out;
  }
  std::vector<Slot> copy;
  {
    std::lock_guard lock(mu_);
    copy = slots_;
  }
  std::vector<MetricSummary> out;
  for (const Slot& slot : copy) {
    if (slot.count == 0) continue;
    const BootstrapInterval ci = BootstrapMean(slot.sample);
    out.push_back({slot.name, slot.count, slot.sum / double(slot.count), ci.low, ci.mid, ci.high});
  }
  return out;
}

}  // namespace refinery
