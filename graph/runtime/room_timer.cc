#include "graph/runtime/room_timer.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "graph/internal/cycle_clock.h"

namespace refinery {

RoomTimer::RoomTimer(std::vector<Room> rooms, double nanos_per_tick)
    : rooms_(std::move(rooms)), nanos_per_tick_(nanos_per_tick), thread_([this] { Loop(); }) {}

RoomTimer::~RoomTimer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void RoomTimer::Poke() {
  {
    std::lock_guard lock(mu_);
    if (poked_) return;
    poked_ = true;
  }
  cv_.notify_one();
}

void RoomTimer::Loop() {
  // Sleeps are capped so that a missed poke costs at most this much delay.
  constexpr auto kMaxSleep = std::chrono::milliseconds(200);
  std::unique_lock lock(mu_);
  while (!stop_) {
    poked_ = false;
    lock.unlock();
    const uint64_t now = internal::CycleClock::Now();
    uint64_t due = std::numeric_limits<uint64_t>::max();
    for (Room& r : rooms_) {
      if (r.room->has_deadlines()) {
        auto expired = r.room->TakeExpired(now);
        if (!expired.empty()) r.expire(std::move(expired));
      }
      uint64_t d = r.room->NextDue(now);
      if (d <= now) {
        r.room->MarkTickPending();
        r.tick();
        d = r.room->NextDue(now);  // a deadline, at most: the tick takes care of the batch
      }
      due = std::min(due, d);
    }
    lock.lock();
    if (stop_ || poked_) continue;
    auto sleep = std::chrono::duration_cast<std::chrono::nanoseconds>(kMaxSleep);
    if (due != std::numeric_limits<uint64_t>::max()) {
      const uint64_t after = internal::CycleClock::Now();
      const double ns = due > after ? double(due - after) * nanos_per_tick_ : 0;
      sleep = std::min(sleep, std::chrono::nanoseconds(int64_t(ns) + 1000));
    }
    cv_.wait_for(lock, sleep, [&] { return stop_ || poked_; });
  }
}

}  // namespace refinery
