#include "graph/runtime/parallel_group.h"

#include <algorithm>
#include <cstdio>

namespace refinery {

namespace {

class GroupNode : public Node {
 public:
  explicit GroupNode(const NodeConfig&) {}
  void Process(Item&) const override {}  // the compiler does the group's work
};

}  // namespace

const NodeContract& ParallelContract() {
  static const NodeContract contract = [] {
    NodeContract c;
    c.type = "parallel";
    c.summary = "parallel alternatives: runs every branch on a copy of the item, keeps the best";
    c.cacheable = false;
    c.io = [](const NodeConfig& n) { return FieldIo{{}, {}, {n.id + ".chosen", n.id + ".score"}}; };
    c.factory = MakeFactory<GroupNode>();
    return c;
  }();
  return contract;
}

FieldMap FieldsForBranches(const TrackedItem& parent, const std::vector<std::string>& writes) {
  FieldMap fields;
  for (const auto& [name, value] : parent.fields()) {
    if (!std::binary_search(writes.begin(), writes.end(), name)) fields.emplace(name, value);
  }
  return fields;
}

ItemPtr CloneForBranch(const TrackedItem& parent, const FieldMap& fields,
                       const std::shared_ptr<FanState>& state, int branch) {
  auto clone =
      std::make_shared<TrackedItem>(parent.id(), parent.type(), parent.priority(), parent.seq());
  clone->set_fields(fields);
  clone->set_iteration(parent.iteration());
  clone->set_deadline_ticks(parent.deadline_ticks());
  clone->set_cancel_flag(parent.cancel_flag());
  clone->SetFanOut(state, branch);
  return clone;
}

void MergeBranches(const ParallelSpec& spec, const std::string& group_id, TrackedItem& parent,
                   std::vector<ItemPtr>& results) {
  int best = -1;
  double best_value = 0;
  std::string reasons;
  for (size_t b = 0; b < results.size(); ++b) {
    TrackedItem& r = *results[b];
    for (NodeTiming& t : r.trace()) parent.trace().push_back(std::move(t));
    const std::string& name = spec.names[b];
    if (r.failed()) {
      reasons += (reasons.empty() ? "" : "; ") + name + ": node '" + r.error_node() +
                 "': " + r.error_message();
      continue;
    }
    std::optional<double> v = r.number(spec.metrics[b]);
    if (!v) {
      reasons += (reasons.empty() ? "" : "; ") + name + ": no number '" + spec.metrics[b] + "'";
      continue;
    }
    if (best < 0 || (spec.lowest ? *v < best_value : *v > best_value)) {
      best = int(b);
      best_value = *v;
    }
  }
  if (best < 0) {
    parent.Fail(group_id, "no branch produced its keep_best field (" + reasons + ")");
    return;
  }
  parent.set_fields(results[size_t(best)]->TakeFields());
  for (size_t b = 0; b < results.size(); ++b) {
    if (std::optional<double> v =
            b == size_t(best) ? best_value : results[b]->number(spec.metrics[b])) {
      parent.set_number(group_id + "." + spec.names[b], *v);
    }
  }
  parent.set_text(group_id + ".chosen", spec.names[size_t(best)]);
  parent.set_number(group_id + ".score", best_value);
}

}  // namespace refinery
