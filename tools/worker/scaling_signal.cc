#include "tools/worker/scaling_signal.h"

#include <algorithm>
#include <cmath>

namespace refinery::worker {

double ScalingSignal::forecast_rate() const {
  return std::max(0.0, level_ + trend_ * options_.horizon_s);
}

void ScalingSignal::Observe(const ScalingSample& s) {
  if (s.mean_service_ms > 0) capacity_ = std::max(1, s.threads) * 1000.0 / s.mean_service_ms;
  if (!primed_) {
    primed_ = true;
    last_t_ = s.t_s;
    last_arrived_ = s.arrived_total;
    recommended_ = options_.min_workers;
    return;
  }
  const double dt = s.t_s - last_t_;
  if (dt <= 0) return;
  rate_ = double(s.arrived_total - last_arrived_) / dt;
  last_t_ = s.t_s;
  last_arrived_ = s.arrived_total;

  // Holt's linear trend: the level follows the rate, the trend its slope per second.
  const double previous_level = level_;
  if (level_ == 0 && trend_ == 0) {
    level_ = rate_;
  } else {
    level_ =
        options_.level_alpha * rate_ + (1 - options_.level_alpha) * (previous_level + trend_ * dt);
    trend_ =
        options_.trend_beta * (level_ - previous_level) / dt + (1 - options_.trend_beta) * trend_;
  }
  if (capacity_ <= 0) return;  // nothing served yet: no basis for a recommendation

  const double load = forecast_rate() / (capacity_ * options_.target_utilization);
  const double backlog_requests = rate_ * s.queue_wait_s;  // Little's law
  const double backlog = backlog_requests / (options_.target_latency_s * capacity_);
  desired_ = load + backlog;

  const int wanted =
      std::clamp(int(std::ceil(desired_ - 1e-9)), options_.min_workers, options_.max_workers);
  if (wanted >= recommended_) {
    recommended_ = wanted;
    below_count_ = 0;
  } else if (desired_ < recommended_ * (1 - options_.down_margin)) {
    if (++below_count_ >= options_.down_after) {
      recommended_ = wanted;
      below_count_ = 0;
    }
  } else {
    below_count_ = 0;
  }
}

}  // namespace refinery::worker
