// RoomWaiters: threads for the unary calls that must wait for room in a full pipeline.
//
// A unary call runs on the callback API and holds no thread while its request is in the
// pipeline; only the wait for a free slot blocks (that wait is the back-pressure), so a call that
// finds its pipeline full waits on a thread of its own, at most `limit` of them at once (the
// server's --max-threads). The destructor waits for every one to end.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace refinery::service {

class RoomWaiters {
 public:
  explicit RoomWaiters(int limit) : limit_(limit) {}
  RoomWaiters(const RoomWaiters&) = delete;
  RoomWaiters& operator=(const RoomWaiters&) = delete;
  ~RoomWaiters() {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] { return running_ == 0; });
  }

  int running() const {
    std::lock_guard lock(mu_);
    return running_;
  }

  // Runs `wait` on a new thread; false (and `wait` is not run) when `limit` threads are waiting.
  bool Start(std::function<void()> wait) {
    {
      std::lock_guard lock(mu_);
      if (running_ >= limit_) return false;
      ++running_;
    }
    std::thread([this, wait = std::move(wait)] {
      wait();
      std::lock_guard lock(mu_);
      --running_;
      idle_.notify_all();
    }).detach();
    return true;
  }

 private:
  const int limit_;
  mutable std::mutex mu_;
  std::condition_variable idle_;
  int running_ = 0;
};

}  // namespace refinery::service
