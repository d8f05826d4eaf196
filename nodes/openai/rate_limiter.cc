#include "nodes/openai/rate_limiter.h"

#include <algorithm>

namespace refinery::openai {

RateLimiter::RateLimiter(double rpm, double tpm)
    : rpm_(rpm), tpm_(tpm), requests_(rpm), tokens_(tpm), last_(Clock::now()) {}

void RateLimiter::Refill(Clock::time_point now) {
  const double minutes = std::chrono::duration<double>(now - last_).count() / 60.0;
  last_ = now;
  if (rpm_ > 0) requests_ = std::min(rpm_, requests_ + minutes * rpm_);
  if (tpm_ > 0) tokens_ = std::min(tpm_, tokens_ + minutes * tpm_);
}

RateLimiter::Clock::duration RateLimiter::TryAcquire(double tokens) {
  std::lock_guard lock(mu_);
  Refill(Clock::now());
  // A call larger than a whole minute's allowance waits for a full bucket, then goes.
  const double need_tokens = tpm_ > 0 ? std::min(tokens, tpm_) : 0;
  double wait_minutes = 0;
  if (rpm_ > 0 && requests_ < 1) wait_minutes = std::max(wait_minutes, (1 - requests_) / rpm_);
  if (tpm_ > 0 && tokens_ < need_tokens)
    wait_minutes = std::max(wait_minutes, (need_tokens - tokens_) / tpm_);
  if (wait_minutes > 0) {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(wait_minutes * 60.0));
  }
  if (rpm_ > 0) requests_ -= 1;
  if (tpm_ > 0) tokens_ -= tokens;
  return Clock::duration::zero();
}

void RateLimiter::Adjust(double delta) {
  std::lock_guard lock(mu_);
  if (tpm_ > 0) tokens_ -= delta;
}

}  // namespace refinery::openai
