// RollingWindow: the last N values of a stream (a ring buffer), for threshold checks over "the
// recent requests" with memory fixed at N whatever the run length.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace refinery::monitor {

class RollingWindow {
 public:
  explicit RollingWindow(size_t capacity) : capacity_(std::max<size_t>(1, capacity)) {
    values_.reserve(capacity_);
  }
  void Add(double v) {
    if (values_.size() < capacity_)
      values_.push_back(v);
    else
      values_[next_] = v;
    next_ = (next_ + 1) % capacity_;
  }
  size_t size() const { return values_.size(); }
  bool full() const { return values_.size() == capacity_; }
  const std::vector<double>& values() const { return values_; }  // not in arrival order
  double Mean() const {
    double s = 0;
    for (double v : values_) s += v;
    return values_.empty() ? 0 : s / values_.size();
  }
  // Nearest-rank quantile, q in [0, 1].
  double Quantile(double q) const {
    if (values_.empty()) return 0;
    std::vector<double> v = values_;
    size_t k = size_t(std::ceil(q * v.size()));
    k = std::clamp<size_t>(k, 1, v.size()) - 1;
    std::nth_element(v.begin(), v.begin() + k, v.end());
    return v[k];
  }

 private:
  size_t capacity_;
  size_t next_ = 0;
  std::vector<double> values_;
};

}  // namespace refinery::monitor
