// RoomTimer: the one thread per compiled pipeline that makes waiting rooms
// (graph/runtime/waiting_room.h) act on time when no item moves: it fails requests at their
// deadline - delivering the error result itself, so it is not late behind running batches that hold
// every graph thread - and sends a node a tick when a batch falls due on its delay or because the
// engine is draining. Node bodies Poke() it when they change a room, so it sleeps until the next
// due time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "graph/runtime/waiting_room.h"

namespace refinery {

class RoomTimer {
 public:
  struct Room {
    WaitingRoom* room;
    // Fails and delivers items taken out by their deadline (with how long each waited, ms).
    std::function<void(std::vector<std::pair<ItemPtr, double>>&&)> expire;
    // Asks the node to take its due batch (puts a tick into the flow graph).
    std::function<void()> tick;
  };

  RoomTimer(std::vector<Room> rooms, double nanos_per_tick);
  ~RoomTimer();
  RoomTimer(const RoomTimer&) = delete;
  RoomTimer& operator=(const RoomTimer&) = delete;

  // A room changed (arrival, batch done, draining): recompute when to wake.
  void Poke();

 private:
  void Loop();

  std::vector<Room> rooms_;
  const double nanos_per_tick_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool poked_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace refinery
