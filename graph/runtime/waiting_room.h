// WaitingRoom: where items wait in front of a node that has a `queue:` (docs/architecture.md,
// oneTBB facts: a flow-graph node's own queue is FIFO and holds whatever it is sent, so priority is
// lost there). The room holds the waiting items itself and decides what runs next:
//
//   - order: highest request priority first (first come first served within a priority), or FIFO;
//   - batches: a bucket (items of similar size) is ready when it holds max_items items, or
//     max_tokens of size, or its oldest item has waited max_delay_ms, or the engine is draining
//     (end of input); a batch is taken from the ready bucket whose best item ranks first;
//   - deadlines: items whose deadline passed are taken out (TakeExpired) to fail at that moment;
//   - concurrency: at most `concurrency` batches run at once (0: no limit);
//   - adaptation (batch.adapt): every 16 batches, compare the p95 time items spent here (waiting
//     + running) with the target: over it, shrink max_items by 25% and halve the delay; when most
//     batches left on the delay (load does not fill them), fit max_items to the mean batch so
//     they leave full without waiting; when batches fill and p95 is under 80% of the target, grow
//     max_items and the delay by 25% (not in the 4 windows after a fit). Within the bounds.
//
// Pure logic with the time passed in (internal::CycleClock ticks), so tests drive it directly;
// the compiler calls it from node bodies and the RoomTimer thread. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "graph/runtime/tracked_item.h"
#include "graph/spec/pipeline_spec.h"
#include "graph/stats.h"

namespace refinery {

class WaitingRoom {
 public:
  struct Batch {
    std::vector<ItemPtr> items;
    std::vector<uint64_t> arrived;  // each item's arrival tick
    FlushReason reason = FlushReason::kFull;
  };

  WaitingRoom(const QueueSpec& spec, int concurrency, double nanos_per_tick);

  // An item arrives. Returns an error message instead when its size cannot be read (the caller
  // fails the item with it); the item is then not held.
  std::optional<std::string> Add(ItemPtr item, uint64_t now);
  // Removes and returns the items whose deadline is at or before `now`, with how long each waited.
  std::vector<std::pair<ItemPtr, double>> TakeExpired(uint64_t now);
  // The next batch to run, if a bucket is ready and a run slot is free (the slot is taken).
  std::optional<Batch> TakeBatch(uint64_t now);
  // The batch finished at `now`: frees its slot and feeds the adaptation.
  void Finish(const Batch& batch, uint64_t now);
  // The earliest tick at which something falls due with no new arrivals: a deadline, or a delay
  // flush when a slot is free. UINT64_MAX when nothing will. Draining makes waiting items due now.
  uint64_t NextDue(uint64_t now) const;
  // While draining (end of input), every waiting item is ready: nothing waits for company.
  void SetDraining(bool draining);
  // A tick has been sent to the node: NextDue ignores delay flushes until the next TakeBatch.
  void MarkTickPending();
  bool has_deadlines() const;
  WaitingRoomStats Stats() const;

 private:
  struct Entry {
    ItemPtr item;
    uint64_t arrived = 0;
    uint64_t deadline = 0;  // the item's deadline tick (0: none)
    int64_t size = 0;
    size_t bucket = 0;
    int32_t rank = 0;  // -priority (priority order) or 0 (FIFO): sets order by (rank, number)
  };
  struct Bucket {
    std::set<std::pair<int32_t, uint64_t>> order;  // (rank, arrival number)
    std::set<uint64_t> arrivals;                   // arrival numbers: the oldest first
    int64_t size_sum = 0;
  };

  std::optional<FlushReason> ReadyReason(const Bucket& b, uint64_t now) const;
  void Remove(uint64_t number);
  void Adapt();
  uint64_t DelayTicks() const;

  const QueueSpec spec_;
  const int concurrency_;
  const double nanos_per_tick_;
  mutable std::mutex mu_;
  std::map<uint64_t, Entry> entries_;  // by arrival number
  std::vector<Bucket> buckets_;
  std::set<std::pair<uint64_t, uint64_t>> deadlines_;  // (deadline tick, arrival number)
  uint64_t next_number_ = 0;
  uint64_t last_now_ = 0;
  int running_ = 0;
  int draining_ = 0;
  bool tick_pending_ = false;
  // Current batch settings (adapted) and the adaptation window.
  int max_items_;
  double max_delay_ms_;
  std::vector<double> window_ms_;
  int window_batches_ = 0, window_filled_ = 0, window_on_delay_ = 0, window_items_ = 0;
  int hold_windows_ = 0;  // windows to wait after fitting before growing again
  WaitingRoomStats stats_;
};

}  // namespace refinery
