#include "graph/runtime/compiler.h"

#include <cassert>

#include "graph/internal/cycle_clock.h"
#include "graph/runtime/flow_graph_impl.h"
#include "graph/runtime/parallel_group.h"

namespace refinery {

const LoopController* FlowGraph::loop_controller() const {
  return impl_ ? impl_->loop.get() : nullptr;
}

StatusOr<std::unique_ptr<FlowGraph>> FlowGraph::Compile(const PipelineSpec& spec, bool ordered,
                                                        Sink sink, tbb::task_arena& arena) {
  std::unique_ptr<FlowGraph> fg(new FlowGraph());
  // stages_: every stage, a group's branch stages right after the group; chain: the stage at
  // each position of the main chain; branches[position]: a group's branch stages.
  std::vector<NodeStage*> chain;
  std::vector<std::vector<std::vector<NodeStage*>>> branches;
  auto create = [&](const NodeSpec& node) -> StatusOr<NodeStage*> {
    StatusOr<std::unique_ptr<NodeStage>> stage = NodeStage::Create(node, spec.base_dir);
    if (!stage.ok()) return stage.status();
    fg->stages_.push_back(std::move(stage).value());
    return fg->stages_.back().get();
  };
  for (size_t index : spec.order) {
    const NodeSpec& node = spec.nodes[index];
    StatusOr<NodeStage*> stage = create(node);
    if (!stage.ok()) return stage.status();
    chain.push_back(*stage);
    branches.emplace_back();
    if (!node.parallel) continue;
    for (const std::vector<size_t>& members : node.parallel->branches) {
      branches.back().emplace_back();
      for (size_t m : members) {
        StatusOr<NodeStage*> inner = create(spec.nodes[m]);
        if (!inner.ok()) return inner.status();
        branches.back().back().push_back(*inner);
      }
    }
  }
  if (!spec.loops.empty()) {
    // The fields the loop names were checked by validation (pipeline_loader.cc).
    const LoopSpec& loop = spec.loops.front();
    for (auto& stage : fg->stages_) stage->SetLoopAdjustments(loop.adjust, loop.max_iterations);
  }
  // A flow::graph attaches to the arena it is constructed in.
  arena.execute([&] { fg->impl_ = std::make_unique<Impl>(); });
  Impl& impl = *fg->impl_;

  // The sink is serial when ordered, so results leave in seq order.
  impl.sink_fn = std::move(sink);
  impl.ordered = ordered;
  impl.sink = std::make_unique<flow::function_node<ItemPtr>>(
      impl.graph, ordered ? flow::serial : flow::unlimited,
      [impl_ptr = &impl](const ItemPtr& item) { impl_ptr->sink_fn(item); });
  flow::receiver<ItemPtr>* exit = impl.sink.get();
  if (ordered) {
    impl.sequencer = std::make_unique<flow::sequencer_node<ItemPtr>>(
        impl.graph, [](const ItemPtr& item) { return static_cast<size_t>(item->seq()); });
    flow::make_edge(*impl.sequencer, *impl.sink);
    exit = impl.sequencer.get();
  }
  impl.exit = exit;
  if (!spec.loops.empty()) {
    const LoopSpec& loop = spec.loops.front();
    impl.loop = std::make_unique<LoopController>(loop, internal::CycleClock::NanosPerTick());
    for (size_t i = 0; i < chain.size(); ++i) {
      if (chain[i]->spec().id == loop.from) impl.loop_from = i;
      if (chain[i]->spec().id == loop.to) impl.loop_to = i;
    }
  }

  impl.chain = chain;
  impl.branch_heads.resize(chain.size());
  impl.fan_ins.resize(chain.size());
  impl.group_writes.resize(chain.size());
  std::vector<RoomTimer::Room> rooms;
  for (size_t i = 0; i < chain.size(); ++i) {
    NodeStage* stage = chain[i];
    Impl* impl_ptr = &impl;
    if (stage->spec().parallel) {
      impl.WireGroup(i, branches[i]);
      continue;
    }
    if (stage->room() != nullptr) {
      // The room enforces the node's concurrency; the flow-graph node only hands items in.
      impl.nodes.push_back(std::make_unique<StageNode>(
          impl.graph, flow::unlimited,
          [i, impl_ptr]([[maybe_unused]] const ItemPtr& tick, StageNode::output_ports_type& ports) {
            assert(!tick &&
                   "arrivals enter the room through Impl::Enter; the node only gets ticks");
            impl_ptr->Pump(i, ports);
          }));
      StageNode* node = impl.nodes.back().get();
      rooms.push_back(
          RoomTimer::Room{stage->room(),
                          [i, impl_ptr](std::vector<std::pair<ItemPtr, double>>&& expired) {
                            for (auto& [item, waited_ms] : expired) {
                              impl_ptr->FailExpired(i, *item, waited_ms);
                              // Unordered, the result is delivered from this thread now, even when
                              // every graph thread is busy; ordered, it must wait for its turn in
                              // the sequencer anyway.
                              if (impl_ptr->ordered)
                                impl_ptr->exit->try_put(item);
                              else
                                impl_ptr->sink_fn(item);
                            }
                          },
                          [node] { node->try_put(ItemPtr()); }});
      continue;
    }
    const int limit = stage->spec().concurrency.limit;
    impl.nodes.push_back(std::make_unique<StageNode>(
        impl.graph, limit == 0 ? size_t(flow::unlimited) : static_cast<size_t>(limit),
        [stage, i, impl_ptr](const ItemPtr& item, StageNode::output_ports_type& ports) {
          stage->Run(*item);
          impl_ptr->Route(i, item, ports);
        }));
  }
  if (!rooms.empty())
    impl.timer =
        std::make_unique<RoomTimer>(std::move(rooms), internal::CycleClock::NanosPerTick());
  for (size_t i = 0; i < impl.nodes.size(); ++i) {
    // A group's item leaves from its fan-in; the fan-out node itself sends nothing on.
    StageNode& node = impl.fan_ins[i] ? *impl.fan_ins[i] : *impl.nodes[i];
    if (i + 1 < impl.nodes.size()) {
      flow::make_edge(flow::output_port<0>(node), *impl.nodes[i + 1]);
    } else {
      flow::make_edge(flow::output_port<0>(node), *exit);
    }
    flow::make_edge(flow::output_port<1>(node), *exit);
  }
  return fg;
}

FlowGraph::~FlowGraph() {
  if (!impl_) return;
  impl_->timer.reset();  // no more ticks from outside the graph
  impl_->graph.wait_for_all();
}

}  // namespace refinery
