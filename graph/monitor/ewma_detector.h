// EwmaDetector: "is this value far from the recent behaviour?" An exponentially weighted mean and
// variance (West's incremental form) of a stream; each new value is scored against the state
// before it, as a z-score. Used for latency and token anomalies per request type.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>

namespace refinery::monitor {

class EwmaDetector {
 public:
  // alpha: weight of the newest value (0.05 ~ the last 20-40 values matter); no score is given
  // until `warmup` values have been seen.
  EwmaDetector(double alpha, int64_t warmup) : alpha_(alpha), warmup_(warmup) {}

  // Returns the z-score of x against the recent behaviour (nullopt during warm-up), then learns x
  // - clipped to mean +- clip_z sd, so one wild value cannot drag the mean and inflate the spread
  // enough to hide a real jump right behind it (the values of a jump stay anomalous for a while).
  std::optional<double> Score(double x, double clip_z = 0) {
    std::optional<double> z;
    if (seen_ >= warmup_) {
      // A floor on the spread: a perfectly steady stream (variance 0) would make any change
      // infinitely anomalous; 1% of the mean is below anything an operator would care about.
      const double sd = std::max(std::sqrt(var_), 0.01 * std::fabs(mean_) + 1e-12);
      z = (x - mean_) / sd;
      if (clip_z > 0) x = std::clamp(x, mean_ - clip_z * sd, mean_ + clip_z * sd);
    }
    if (seen_ == 0) {
      mean_ = x;
    } else {
      const double d = x - mean_;
      mean_ += alpha_ * d;
      var_ = (1 - alpha_) * (var_ + alpha_ * d * d);
    }
    ++seen_;
    return z;
  }
  // Forgets everything (e.g. after a jump was reported: learn the new level from scratch).
  void Reset() { *this = EwmaDetector(alpha_, warmup_); }
  double mean() const { return mean_; }
  double stddev() const { return std::sqrt(var_); }

 private:
  double alpha_;
  int64_t warmup_;
  int64_t seen_ = 0;
  double mean_ = 0;
  double var_ = 0;
};

}  // namespace refinery::monitor
