// Requests-per-minute and tokens-per-minute limits, as hosted APIs impose them: two token
// buckets that refill continuously, each holding at most one minute's allowance. A call waits
// (it is not failed) until both allow it, so the limit turns into back-pressure on the graph.
#pragma once

#include <chrono>
#include <mutex>

namespace refinery::openai {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // 0 = no limit.
  RateLimiter(double requests_per_minute, double tokens_per_minute);

  // Takes one request and `tokens` (an estimate) if both buckets allow it now; otherwise takes
  // nothing and returns how long to wait before asking again.
  Clock::duration TryAcquire(double tokens);
  // Corrects the token estimate once the server has said how many were used (may go negative:
  // the next calls then wait longer).
  void Adjust(double tokens_delta);

 private:
  void Refill(Clock::time_point now);
  std::mutex mu_;
  double rpm_, tpm_;
  double requests_, tokens_;  // available now
  Clock::time_point last_;
};

}  // namespace refinery::openai
