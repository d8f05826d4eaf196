// Compiler: turns a validated PipelineSpec into a oneTBB flow graph.
//
// Shape (one tbb::flow::graph per compiled pipeline):
//
//   Put(item) -> [node 1] -> [node 2] -> ... -> [node N] -> (sequencer if ordered) -> sink
//                    \__________\______ error port ____________________/
//
// Each pipeline node becomes a multifunction_node<ItemPtr, tuple<ItemPtr, ItemPtr>> with the
// node's concurrency: port 0 to the next node, port 1 (an item that failed here) straight to the
// sink, so one bad item never reaches later nodes nor cancels the graph. Nodes run in the spec's
// topological order. The node body wraps Node::Process with the required-field check, the cache
// lookup, timing and exception capture (NodeStage).
//
// Back-pressure is not set up here: the Engine's AdmissionGate bounds items before they are put.
// Queues inside the graph are therefore bounded by max_in_flight.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "graph/item.h"
#include "graph/node_stage.h"
#include "graph/pipeline_spec.h"
#include "graph/status.h"

namespace refinery {

class FlowGraph {
 public:
  // Called exactly once per item that was Put, from a graph thread (concurrently unless ordered,
  // in which case calls are serial and in seq order).
  using Sink = std::function<void(const ItemPtr&)>;

  // Instantiates every node (factories may fail, e.g. a missing vocabulary) and wires the graph.
  static StatusOr<std::unique_ptr<FlowGraph>> Compile(const PipelineSpec& spec, bool ordered,
                                                      Sink sink);
  ~FlowGraph();

  void Put(const ItemPtr& item);
  void WaitForAll();
  const std::vector<std::unique_ptr<NodeStage>>& stages() const { return stages_; }

 private:
  struct Impl;
  FlowGraph() = default;
  std::vector<std::unique_ptr<NodeStage>> stages_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace refinery
