// AdmissionGate: the limiter that bounds items in flight in a compiled pipeline.
//
// Why not tbb::flow::limiter_node: requests are pushed from threads outside the graph (the CLI's
// reader, a service's handlers), and a full limiter_node rejects an outside try_put (the message
// is lost unless re-sent; docs/architecture.md, oneTBB facts). A pushing source must instead wait
// before it creates the item. Acquire() blocks the submitter while `capacity` slots are taken;
// Release() is called from Item's destructor, so every exit path (result, error, drop) returns its
// slot.
//
// To keep wake-ups off the per-item path, a blocked submitter is only woken once the number of
// taken slots falls to the low watermark (half the capacity), so it then admits a batch.
//
// Waiting submitters are admitted in priority order (the request's priority): while one with a
// higher priority waits, lower ones (and newcomers) leave the free slots to it, and a freed slot
// wakes the waiters at once instead of at the watermark. Without this, a
// full pipeline admits whichever submitter wakes first, and a service's urgent requests would
// wait at the door behind a busy stream's, however the queues inside order them.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>

namespace refinery {

// What an item gives back when it dies: its slot among the items in flight.
class Admission {
 public:
  virtual ~Admission() = default;
  virtual void Release() = 0;
};

class AdmissionGate : public Admission {
 public:
  explicit AdmissionGate(int64_t capacity);

  // Blocks until a slot is free or Close() was called. Returns false when closed.
  bool Acquire(int32_t priority = 0);
  // Blocks until a slot is free, Close() was called, or `deadline` passed.
  enum Outcome { kAcquired, kClosed, kTimedOut };
  Outcome AcquireUntil(std::chrono::steady_clock::time_point deadline, int32_t priority = 0);
  // Non-blocking: takes a slot if one is free.
  bool TryAcquire();
  void Release() override;
  // Wakes all waiters; later Acquire() calls return false.
  void Close();

  int64_t capacity() const { return capacity_; }
  int64_t in_flight() const { return taken_.load(std::memory_order_acquire); }
  int64_t peak_in_flight() const { return peak_.load(std::memory_order_relaxed); }
  int waiting() const { return waiters_.load(); }  // submitters blocked now

 private:
  const int64_t capacity_;
  const int64_t low_watermark_;
  std::atomic<int64_t> taken_{0};
  std::atomic<int64_t> peak_{0};
  std::atomic<int> waiters_{0};
  std::atomic<bool> wake_pending_{false};  // one notify per wait, not one per Release
  std::atomic<bool> closed_{false};
  std::atomic<bool> mixed_waiting_{false};  // waiters of more than one priority
  // The blocking path of Acquire/AcquireUntil (nullopt deadline: none).
  Outcome Wait(std::optional<std::chrono::steady_clock::time_point> deadline, int32_t priority);

  std::mutex mu_;
  std::condition_variable cv_;
  std::multiset<int32_t> waiting_;  // priorities of the blocked submitters (under mu_)
};

}  // namespace refinery
