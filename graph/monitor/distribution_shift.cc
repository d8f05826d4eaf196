#include "graph/monitor/distribution_shift.h"

#include <algorithm>
#include <cmath>

namespace refinery::monitor {

double PopulationStabilityIndex(std::vector<double> baseline, const std::vector<double>& current,
                                int bins) {
  std::sort(baseline.begin(), baseline.end());
  return PopulationStabilityIndexSorted(baseline, current, bins);
}

double PopulationStabilityIndexSorted(const std::vector<double>& baseline,
                                      const std::vector<double>& current, int bins) {
  if (baseline.empty() || current.empty() || bins < 2) return 0;
  // Upper edges at the baseline's quantiles; a value v falls in the first bin whose edge >= v,
  // the last bin takes everything above the last edge.
  std::vector<double> edges;
  for (int i = 1; i < bins; ++i) {
    const size_t k = std::min(baseline.size() - 1, baseline.size() * i / bins);
    const double e = baseline[k == 0 ? 0 : k - 1];
    if (edges.empty() || e > edges.back()) edges.push_back(e);
  }
  const size_t n = edges.size() + 1;
  auto shares = [&](const std::vector<double>& values) {
    std::vector<double> count(n, 0);
    for (double v : values) {
      const size_t b = size_t(std::lower_bound(edges.begin(), edges.end(), v) - edges.begin());
      count[b] += 1;
    }
    for (double& c : count) c = std::max(c / double(values.size()), 1e-4);
    return count;
  };
  const std::vector<double> b = shares(baseline), c = shares(current);
  double psi = 0;
  for (size_t i = 0; i < n; ++i) psi += (c[i] - b[i]) * std::log(c[i] / b[i]);
  return psi;
}

double KolmogorovSmirnov(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return KolmogorovSmirnovSorted(a, b);
}

double KolmogorovSmirnovSorted(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.empty() || b.empty()) return 0;
  size_t i = 0, j = 0;
  double d = 0;
  while (i < a.size() && j < b.size()) {
    const double x = std::min(a[i], b[j]);
    while (i < a.size() && a[i] == x) ++i;
    while (j < b.size() && b[j] == x) ++j;
    d = std::max(d, std::fabs(double(i) / a.size() - double(j) / b.size()));
  }
  return d;
}

}  // namespace refinery::monitor
