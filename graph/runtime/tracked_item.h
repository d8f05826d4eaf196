// TrackedItem: the engine's per-item state around the Item that nodes see (graph/item.h): its
// submission order and time, deadline, failure, per-node timings, refinement-loop record,
// parallel fan-out and admission slot.
//
// Messages are copied once per flow-graph hop (docs/architecture.md, oneTBB facts), so hops carry
// an ItemPtr (shared_ptr) and never the text.
//
// An item holds its admission slot (Admission) for its whole life: the slot is returned in the
// destructor, so the number of live items can never exceed the pipeline's max_in_flight, whatever
// path the item leaves by.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/item.h"
#include "graph/request.h"

namespace refinery {

class Admission;
struct FanState;

// A refinement loop's record of one item's passes (graph/runtime/loop_controller.h).
struct LoopState {
  std::vector<double> scores;  // the loop metric after each pass
  double best = 0;
  int best_pass = -1;
  FieldMap best_fields;           // the item's fields after the best pass (on_exhausted: best)
  double spent = 0;               // sum of the budget field over passes
  uint64_t pass_start_ticks = 0;  // when the running pass began (0: at submission)
  int start_pass = 0;             // the pass this item started at (loop adaptation)
  std::vector<double> pass_ms;    // wall time of each finished pass
};

class TrackedItem : public Item {
 public:
  TrackedItem(std::string id, std::string type, int32_t priority, uint64_t seq);
  ~TrackedItem() override;

  uint64_t seq() const { return seq_; }
  void set_iteration(int n) { iteration_ = n; }
  // internal::CycleClock ticks when the item was created (submission time).
  uint64_t submitted_ticks() const { return submitted_ticks_; }
  // internal::CycleClock ticks by which the request must be done (0: no deadline). Waiting rooms
  // fail it at that moment; every node checks it before it runs.
  uint64_t deadline_ticks() const { return deadline_ticks_; }
  void set_deadline_ticks(uint64_t t) { deadline_ticks_ = t; }
  std::optional<std::chrono::nanoseconds> time_left() const override;
  // Request::cancelled, when the submitter gave one.
  void set_cancel_flag(std::shared_ptr<const std::atomic<bool>> flag) {
    cancelled_ = std::move(flag);
  }
  bool cancelled() const {
    return cancelled_ != nullptr && cancelled_->load(std::memory_order_relaxed);
  }
  const std::shared_ptr<const std::atomic<bool>>& cancel_flag() const { return cancelled_; }

  // Failure: the first failure wins; the item then leaves through the error path.
  bool failed() const { return failed_; }
  const std::string& error_node() const { return error_node_; }
  const std::string& error_message() const { return error_message_; }
  FailureKind failure() const { return failure_; }
  void Fail(std::string node, std::string message, FailureKind kind = FailureKind::kError);

  std::vector<NodeTiming>& trace() { return trace_; }
  const std::vector<NodeTiming>& trace() const { return trace_; }

  LoopState* loop_state_if_any() { return loop_.get(); }
  // Created on the first loop pass.
  LoopState& loop_state() {
    if (!loop_) loop_ = std::make_unique<LoopState>();
    return *loop_;
  }

  // A copy made for a parallel branch points at its fan-out (graph/runtime/parallel_group.h).
  void SetFanOut(std::shared_ptr<FanState> state, int branch) {
    fan_out_ = std::move(state);
    branch_ = branch;
  }
  const std::shared_ptr<FanState>& fan_out() const { return fan_out_; }
  int branch() const { return branch_; }

  // The admission slot this item holds (returned on destruction).
  void HoldAdmission(Admission* admission) { admission_ = admission; }

  // Number of items alive in the process's engines; lets tests prove memory stays bounded.
  static int64_t LiveCount() { return live_.load(std::memory_order_relaxed); }
  static int64_t PeakLiveCount() { return peak_live_.load(std::memory_order_relaxed); }
  static void ResetPeakLiveCount() { peak_live_.store(LiveCount()); }

 private:
  uint64_t seq_;
  uint64_t submitted_ticks_;
  uint64_t deadline_ticks_ = 0;
  bool failed_ = false;
  FailureKind failure_ = FailureKind::kNone;
  std::shared_ptr<const std::atomic<bool>> cancelled_;
  std::string error_node_;
  std::string error_message_;
  std::vector<NodeTiming> trace_;
  Admission* admission_ = nullptr;
  std::unique_ptr<LoopState> loop_;
  std::shared_ptr<FanState> fan_out_;
  int branch_ = -1;

  static std::atomic<int64_t> live_;
  static std::atomic<int64_t> peak_live_;
};

using ItemPtr = std::shared_ptr<TrackedItem>;

}  // namespace refinery
