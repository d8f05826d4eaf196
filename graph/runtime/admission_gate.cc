#include "graph/runtime/admission_gate.h"

#include <algorithm>

namespace refinery {

AdmissionGate::AdmissionGate(int64_t capacity)
    : capacity_(std::max<int64_t>(1, capacity)),
      low_watermark_(capacity_ - std::max<int64_t>(1, capacity_ / 2)) {}

bool AdmissionGate::TryAcquire() {
  int64_t cur = taken_.load();  // seq_cst: pairs with Release's waiters_ load
  while (cur < capacity_) {
    if (taken_.compare_exchange_weak(cur, cur + 1)) {
      int64_t peak = peak_.load(std::memory_order_relaxed);
      while (cur + 1 > peak && !peak_.compare_exchange_weak(peak, cur + 1)) {
      }
      return true;
    }
  }
  return false;
}

bool AdmissionGate::Acquire(int32_t priority) { return Wait(std::nullopt, priority) == kAcquired; }

AdmissionGate::Outcome AdmissionGate::AcquireUntil(std::chrono::steady_clock::time_point deadline,
                                                   int32_t priority) {
  return Wait(deadline, priority);
}

AdmissionGate::Outcome AdmissionGate::Wait(
    std::optional<std::chrono::steady_clock::time_point> deadline, int32_t priority) {
  if (closed_.load(std::memory_order_acquire)) return kClosed;
  // The fast path only when nobody waits: a newcomer does not pass a waiting submitter.
  if (waiters_.load() == 0 && TryAcquire()) return kAcquired;
  std::unique_lock lock(mu_);
  waiters_.fetch_add(1);
  const auto me = waiting_.insert(priority);
  mixed_waiting_.store(*waiting_.begin() < *waiting_.rbegin());
  bool got = false;
  auto ready = [&] {
    wake_pending_.store(false);
    if (closed_.load(std::memory_order_acquire)) return true;
    if (priority < *waiting_.rbegin()) return false;  // a higher priority is waiting
    got = TryAcquire();
    return got;
  };
  const bool woken =
      deadline ? cv_.wait_until(lock, *deadline, ready) : (cv_.wait(lock, ready), true);
  waiting_.erase(me);
  mixed_waiting_.store(!waiting_.empty() && *waiting_.begin() < *waiting_.rbegin());
  waiters_.fetch_sub(1);
  // The others may now be first in line; with no free slot, Release wakes them in time.
  if (!waiting_.empty() && taken_.load() < capacity_) cv_.notify_all();
  if (got) return kAcquired;
  return woken ? kClosed : kTimedOut;
}

void AdmissionGate::Release() {
  int64_t now = taken_.fetch_sub(1) - 1;
  // Wake only at the watermark (or when empty, so a drain never waits on a half batch); at once
  // when waiters of different priorities wait, so the highest is not held back by the batching.
  if ((now <= low_watermark_ || mixed_waiting_.load()) && waiters_.load() > 0 &&
      !wake_pending_.exchange(true)) {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  }
}

void AdmissionGate::Close() {
  closed_.store(true, std::memory_order_release);
  std::lock_guard lock(mu_);
  cv_.notify_all();
}

}  // namespace refinery
