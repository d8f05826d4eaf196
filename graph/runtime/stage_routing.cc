#include <cstdio>

#include "graph/internal/cycle_clock.h"
#include "graph/runtime/flow_graph_impl.h"
#include "graph/runtime/parallel_group.h"

namespace refinery {

const ItemPtr& FlowGraph::Impl::Enter(size_t i, const ItemPtr& item) {
  static const ItemPtr kTick;
  WaitingRoom* room = chain[i]->room();
  if (room == nullptr) return item;
  if (std::optional<std::string> error = room->Add(item, internal::CycleClock::Now())) {
    chain[i]->FailHere(*item, *error);
    exit->try_put(item);
  }
  return kTick;
}

void FlowGraph::Impl::FanOut(size_t i, const ItemPtr& item) {
  const std::vector<flow::receiver<ItemPtr>*>& heads = branch_heads[i];
  auto state = std::make_shared<FanState>();
  state->parent = item;
  state->results.resize(heads.size());
  state->remaining.store(int(heads.size()));
  state->start_ticks = internal::CycleClock::Now();
  const FieldMap fields = FieldsForBranches(*item, group_writes[i]);
  for (size_t b = 0; b < heads.size(); ++b)
    heads[b]->try_put(CloneForBranch(*item, fields, state, int(b)));
}

void FlowGraph::Impl::FanIn(size_t i, const ItemPtr& copy, StageNode::output_ports_type& ports) {
  std::shared_ptr<FanState> state = copy->fan_out();
  state->results[size_t(copy->branch())] = copy;
  if (state->remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  NodeStage& group = *chain[i];
  ItemPtr parent = std::move(state->parent);
  MergeBranches(*group.spec().parallel, group.spec().id, *parent, state->results);
  for (ItemPtr& r : state->results) r->SetFanOut(nullptr, -1);  // break the copy <-> state cycle
  state->results.clear();
  const uint64_t now = internal::CycleClock::Now();
  group.RecordGroup(
      *parent, int64_t(double(now - state->start_ticks) * internal::CycleClock::NanosPerTick()));
  Route(i, parent, ports);
}

void FlowGraph::Impl::Route(size_t i, const ItemPtr& item, StageNode::output_ports_type& ports) {
  if (item->failed()) {
    std::get<1>(ports).try_put(item);
    return;
  }
  if (loop && i == loop_from) {
    if (loop->Again(*item)) {
      // Back to the loop's first node. It queues (never rejects), and the item still holds its
      // admission slot: no deadlock, no loss, no growth in items in flight.
      chain[loop_to]->stats().arrived.Add();
      nodes[loop_to]->try_put(Enter(loop_to, item));
      return;
    }
    if (item->failed()) {
      std::get<1>(ports).try_put(item);
      return;
    }
  }
  if (i + 1 < nodes.size()) {
    chain[i + 1]->stats().arrived.Add();
    std::get<0>(ports).try_put(Enter(i + 1, item));
  } else {
    std::get<0>(ports).try_put(item);
  }
}

void FlowGraph::Impl::FailExpired(size_t i, TrackedItem& item, double waited_ms) {
  NodeStage& stage = *chain[i];
  const double deadline_ms = double(item.deadline_ticks() - item.submitted_ticks()) *
                             internal::CycleClock::NanosPerTick() / 1e6;
  char text[160];
  std::snprintf(text, sizeof text,
                "deadline passed while waiting (deadline %.1f ms after submission; waited %.1f ms "
                "in the queue)",
                deadline_ms, waited_ms);
  item.Fail(stage.spec().id, text, FailureKind::kDeadline);
  stage.stats().expired.Add();
}

void FlowGraph::Impl::Pump(size_t i, StageNode::output_ports_type& ports) {
  NodeStage& stage = *chain[i];
  WaitingRoom& room = *stage.room();
  // Run ready batches while this node has a free slot; a finishing batch makes room for the next.
  std::vector<TrackedItem*> raw;
  for (;;) {
    const uint64_t now = internal::CycleClock::Now();
    for (auto& [expired, waited_ms] : room.TakeExpired(now)) {
      FailExpired(i, *expired, waited_ms);
      std::get<1>(ports).try_put(expired);
    }
    std::optional<WaitingRoom::Batch> batch = room.TakeBatch(now);
    if (!batch) break;
    if (batch->items.size() == 1 && !stage.spec().contract->accepts_batches) {
      stage.Run(*batch->items.front());
    } else {
      raw.clear();
      for (const ItemPtr& p : batch->items) raw.push_back(p.get());
      stage.RunBatch(raw);
    }
    room.Finish(*batch, internal::CycleClock::Now());
    for (const ItemPtr& p : batch->items) Route(i, p, ports);
  }
  timer->Poke();
}

void FlowGraph::Impl::WireGroup(size_t i, const std::vector<std::vector<NodeStage*>>& branches) {
  Impl& impl = *this;
  Impl* impl_ptr = this;
  impl.nodes.push_back(std::make_unique<StageNode>(
      impl.graph, flow::unlimited,
      [i, impl_ptr](const ItemPtr& item, StageNode::output_ports_type&) {
        impl_ptr->FanOut(i, item);
      }));
  impl.fan_ins[i] = std::make_unique<StageNode>(
      impl.graph, flow::unlimited,
      [i, impl_ptr](const ItemPtr& copy, StageNode::output_ports_type& ports) {
        impl_ptr->FanIn(i, copy, ports);
      });
  StageNode* fan_in = impl.fan_ins[i].get();
  std::vector<std::string>& writes = impl.group_writes[i];
  writes = chain[i]->io().writes;
  for (const std::string& name : chain[i]->spec().parallel->names)
    writes.push_back(chain[i]->spec().id + "." + name);
  for (const std::vector<NodeStage*>& branch : branches) {
    for (const NodeStage* stage : branch)
      writes.insert(writes.end(), stage->io().writes.begin(), stage->io().writes.end());
  }
  std::sort(writes.begin(), writes.end());
  for (const std::vector<NodeStage*>& branch : branches) {
    // Built back to front, so each node knows the next. A failed copy goes straight to the
    // fan-in: the group decides what a failed branch means.
    flow::receiver<ItemPtr>* next = fan_in;
    for (size_t k = branch.size(); k-- > 0;) {
      NodeStage* stage = branch[k];
      const int limit = stage->spec().concurrency.limit;
      impl.branch_nodes.push_back(std::make_unique<flow::function_node<ItemPtr>>(
          impl.graph, limit == 0 ? size_t(flow::unlimited) : size_t(limit),
          [stage, next, fan_in](const ItemPtr& copy) {
            stage->Run(*copy);
            (copy->failed() ? fan_in : next)->try_put(copy);
            return flow::continue_msg();
          }));
      next = impl.branch_nodes.back().get();
    }
    impl.branch_heads[i].push_back(next);
  }
}

}  // namespace refinery
