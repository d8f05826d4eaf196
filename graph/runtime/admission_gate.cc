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

bool AdmissionGate::Acquire() {
  if (closed_.load(std::memory_order_acquire)) return false;
  if (TryAcquire()) return true;
  std::unique_lock lock(mu_);
  waiters_.fetch_add(1);
  bool got = false;
  cv_.wait(lock, [&] {
    wake_pending_.store(false);
    if (closed_.load(std::memory_order_acquire)) return true;
    got = TryAcquire();
    return got;
  });
  waiters_.fetch_sub(1);
  return got;
}

AdmissionGate::Outcome AdmissionGate::AcquireUntil(std::chrono::steady_clock::time_point deadline) {
  if (closed_.load(std::memory_order_acquire)) return kClosed;
  if (TryAcquire()) return kAcquired;
  std::unique_lock lock(mu_);
  waiters_.fetch_add(1);
  bool got = false;
  const bool woken = cv_.wait_until(lock, deadline, [&] {
    wake_pending_.store(false);
    if (closed_.load(std::memory_order_acquire)) return true;
    got = TryAcquire();
    return got;
  });
  waiters_.fetch_sub(1);
  if (got) return kAcquired;
  return woken ? kClosed : kTimedOut;
}

void AdmissionGate::Release() {
  int64_t now = taken_.fetch_sub(1) - 1;
  // Wake only at the watermark (or when empty, so a drain never waits on a half batch).
  if (now <= low_watermark_ && waiters_.load() > 0 && !wake_pending_.exchange(true)) {
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
