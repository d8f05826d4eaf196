#include "graph/compiler.h"

#include <oneapi/tbb/flow_graph.h>

#include <tuple>

namespace refinery {

namespace flow = tbb::flow;
using StageNode = flow::multifunction_node<ItemPtr, std::tuple<ItemPtr, ItemPtr>>;

struct FlowGraph::Impl {
  flow::graph graph;
  std::vector<std::unique_ptr<StageNode>> nodes;
  std::unique_ptr<flow::sequencer_node<ItemPtr>> sequencer;
  std::unique_ptr<flow::function_node<ItemPtr>> sink;
  flow::receiver<ItemPtr>* exit = nullptr;  // sequencer when ordered, else the sink
};

StatusOr<std::unique_ptr<FlowGraph>> FlowGraph::Compile(const PipelineSpec& spec, bool ordered,
                                                        Sink sink) {
  std::unique_ptr<FlowGraph> fg(new FlowGraph());
  for (size_t index : spec.order) {
    StatusOr<std::unique_ptr<NodeStage>> stage = NodeStage::Create(spec.nodes[index], spec.base_dir);
    if (!stage.ok()) return stage.status();
    fg->stages_.push_back(std::move(stage).value());
  }
  fg->impl_ = std::make_unique<Impl>();
  Impl& impl = *fg->impl_;

  // The sink is serial when ordered, so results leave in seq order.
  impl.sink = std::make_unique<flow::function_node<ItemPtr>>(
      impl.graph, ordered ? flow::serial : flow::unlimited,
      [sink = std::move(sink)](const ItemPtr& item) { sink(item); });
  flow::receiver<ItemPtr>* exit = impl.sink.get();
  if (ordered) {
    impl.sequencer = std::make_unique<flow::sequencer_node<ItemPtr>>(
        impl.graph, [](const ItemPtr& item) { return static_cast<size_t>(item->seq()); });
    flow::make_edge(*impl.sequencer, *impl.sink);
    exit = impl.sequencer.get();
  }
  impl.exit = exit;

  for (size_t i = 0; i < fg->stages_.size(); ++i) {
    NodeStage* stage = fg->stages_[i].get();
    NodeStats* next_stats = i + 1 < fg->stages_.size() ? &fg->stages_[i + 1]->stats() : nullptr;
    const int limit = stage->spec().concurrency.limit;
    impl.nodes.push_back(std::make_unique<StageNode>(
        impl.graph, limit == 0 ? size_t(flow::unlimited) : static_cast<size_t>(limit),
        [stage, next_stats](const ItemPtr& item, StageNode::output_ports_type& ports) {
          if (stage->Run(*item)) {
            if (next_stats) next_stats->arrived.fetch_add(1, std::memory_order_relaxed);
            std::get<0>(ports).try_put(item);
          } else {
            std::get<1>(ports).try_put(item);
          }
        }));
  }
  for (size_t i = 0; i < impl.nodes.size(); ++i) {
    StageNode& node = *impl.nodes[i];
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
  if (impl_) impl_->graph.wait_for_all();
}

void FlowGraph::Put(const ItemPtr& item) {
  if (item->failed()) {  // arrived failed (bad input line): straight to the exit, still counted
    impl_->exit->try_put(item);
    return;
  }
  stages_.front()->stats().arrived.fetch_add(1, std::memory_order_relaxed);
  // The first node queues (it never rejects), so try_put always succeeds; the gate in front
  // bounds how much it can queue.
  impl_->nodes.front()->try_put(item);
}

void FlowGraph::WaitForAll() { impl_->graph.wait_for_all(); }

}  // namespace refinery
