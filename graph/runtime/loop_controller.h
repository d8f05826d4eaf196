// LoopController: the decision a refinement loop takes after its `from` node: send the item
// round again (to `to`, with the next pass's option adjustments) or let it go on, and why.
//
// Stop rules, in order: `until` holds (passed); `max_iterations` passes done; the metric improved
// less than `min_delta` over the previous pass (converged); the budget field's sum over passes
// reached `budget`; the request is older than `time_budget_ms`. Ending without passing applies
// `on_exhausted`: best (the fields of the best-scoring pass come back), last, or error (the item
// fails saying why). Every result of a looping pipeline carries loop.passes, loop.stop_reason,
// loop.best_pass, loop.pass_scores (JSON list), loop.spent and loop.passed (1 or 0); the run
// report aggregates loop.passes, loop.passed and loop.spent.
//
// The item keeps its admission slot while it loops, so loops never raise the number of items in
// flight, and the loop-back goes into a queueing node, so it can never be refused
// (docs/architecture.md, oneTBB facts: no deadlock, no loss); max_iterations bounds every loop.
#pragma once

#include <memory>

#include "graph/runtime/loop_adaptation.h"
#include "graph/runtime/tracked_item.h"
#include "graph/spec/pipeline_spec.h"

namespace refinery {

class LoopController {
 public:
  LoopController(const LoopSpec& spec, double nanos_per_tick)
      : spec_(spec),
        nanos_per_tick_(nanos_per_tick),
        adaptation_(spec.adapt ? std::make_unique<LoopAdaptation>(spec.max_iterations) : nullptr) {}
  // Call after `from` ran successfully on the item. True: send it back to `to` (its iteration
  // is advanced). False: it is finished with the loop (fields restored/failed as configured).
  bool Again(TrackedItem& item) const;
  const LoopSpec& spec() const { return spec_; }
  // Where a new item starts (adaptation on), recorded on the item; call before it enters the graph.
  void Start(TrackedItem& item) const;

 private:
  void Finish(TrackedItem& item, const char* reason, bool passed) const;
  const LoopSpec& spec_;
  double nanos_per_tick_;
  std::unique_ptr<LoopAdaptation> adaptation_;
};

// The value of a node option on pass `pass` (0-based) after the loop's adjustments for it.
OptionValues AdjustedOptions(const NodeSpec& node, const std::vector<LoopAdjust>& adjust, int pass);

}  // namespace refinery
