// Parallel alternatives (fan-out / fan-in): a `parallel:` entry of a pipeline runs each branch
// on its own copy of the item at the same time and keeps the copy whose metric is best.
//
//   - id: best_summary
//     parallel:
//       keep_best: {lead: score_lead.total, textrank: score_rank.total}   # or one field for all
//       keep: highest                   # or lowest
//       branches:
//         lead:     [{id: lead, type: summarize, method: lead}, {id: score_lead, type: score}]
//         textrank: [{id: rank, type: summarize, method: textrank}, {id: score_rank, type: score}]
//
// The compiler (graph/runtime/compiler.cc) wires the flow graph; this file holds what does not
// depend on it: the group's node contract and the fan-in decision.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/node.h"
#include "graph/runtime/tracked_item.h"
#include "graph/spec/pipeline_spec.h"

namespace refinery {

// The contract of a group's own stage: no options, not cacheable; it writes <id>.chosen (the
// winning branch's name) and <id>.score (its metric). Not in the registry: `parallel:` makes one.
const NodeContract& ParallelContract();

// One item's fan-out: the copies out in the branches and what came back.
struct FanState {
  ItemPtr parent;
  std::vector<ItemPtr> results;  // by branch; filled as branches finish
  std::atomic<int> remaining{0};
  uint64_t start_ticks = 0;
};

// A copy of `parent` for branch `branch` with `fields`: same id, type, priority, seq, deadline and
// iteration; holds no admission slot (the parent does).
ItemPtr CloneForBranch(const TrackedItem& parent, const FieldMap& fields,
                       const std::shared_ptr<FanState>& state, int branch);

// The parent's fields without those the group's branches write (`writes`, sorted): what a
// previous pass round a loop left from another branch must not leak into this pass's winner.
FieldMap FieldsForBranches(const TrackedItem& parent, const std::vector<std::string>& writes);

// The fan-in: moves the best branch's fields (and every branch's node timings) into the parent
// and writes <group>.chosen, <group>.score (the winner's metric) and <group>.<branch> (each
// branch's metric). Fails the parent when no branch produced its metric, with each branch's reason.
// Ties go to the earlier branch in the file.
void MergeBranches(const ParallelSpec& spec, const std::string& group_id, TrackedItem& parent,
                   std::vector<ItemPtr>& results);

}  // namespace refinery
