// ScalingSignal: how many workers the traffic this worker sees will need, early enough to start
// them before the queue-latency target is missed. Fed once per interval with what one worker can
// observe; pure arithmetic (no clock, no I/O) so a test can drive it with a simulated ramp.
//
//   arrival forecast  Holt's linear trend on this worker's arrival rate, projected `horizon_s`
//                     ahead (how long a new worker takes to start)
//   capacity          requests/s one worker serves: threads / mean node time per request
//   load              forecast / (capacity * target_utilization): worker-equivalents for the
//                     arrivals; additive over workers (each sees its share of the queue)
//   backlog           Little's law: requests already waiting = arrival rate * observed queue
//                     wait; draining them within the latency target needs
//                     backlog / (target_latency_s * capacity) more workers
//   recommended       ceil(load + backlog), up at once, down only after `down_after` intervals
//                     below (1 - down_margin) of the current value (hysteresis: no flapping)
//
// With N workers on a queue, the recommendation for the queue is the sum over workers of
// `desired` (Prometheus: sum(refinery_scaling_desired_workers)); docs/queue-workers.md shows an
// HPA and a KEDA ScaledObject that read it.
#pragma once

#include <cstdint>

namespace refinery::worker {

struct ScalingOptions {
  double target_latency_s = 2;      // queue wait + service, the latency the scaler protects
  double target_utilization = 0.8;  // workers run at most this busy at the forecast rate
  double horizon_s = 30;            // forecast this far ahead (a new worker's start-up time)
  double level_alpha = 0.5;         // Holt smoothing of the rate level
  double trend_beta = 0.3;          // Holt smoothing of the rate slope
  double down_margin = 0.2;         // scale down only below (1 - margin) * current
  int down_after = 6;               // ... for this many consecutive intervals
  int min_workers = 1;
  int max_workers = 1000;
};

struct ScalingSample {
  double t_s = 0;              // monotonic time of the sample
  int64_t arrived_total = 0;   // requests this worker received so far
  double mean_service_ms = 0;  // node time per request (0: none measured yet)
  int threads = 1;             // engine threads of this worker
  double queue_wait_s = 0;     // observed time in the queue (0: not known)
};

class ScalingSignal {
 public:
  explicit ScalingSignal(ScalingOptions options = {}) : options_(options) {}
  void Observe(const ScalingSample& sample);

  double arrival_rate() const { return rate_; }     // last measured, requests/s
  double forecast_rate() const;                     // at t + horizon_s
  double capacity() const { return capacity_; }     // requests/s per worker
  double desired() const { return desired_; }       // load + backlog (fractional)
  int recommended() const { return recommended_; }  // with hysteresis
  double trend() const { return trend_; }           // requests/s per second

 private:
  ScalingOptions options_;
  bool primed_ = false;
  double last_t_ = 0;
  int64_t last_arrived_ = 0;
  double rate_ = 0, level_ = 0, trend_ = 0, capacity_ = 0, desired_ = 0;
  int recommended_ = 0;
  int below_count_ = 0;
};

}  // namespace refinery::worker
