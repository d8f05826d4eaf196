// Compiler: turns a validated PipelineSpec into a oneTBB flow graph.
//
// Shape (one tbb::flow::graph per compiled pipeline):
//
//   Put(item) -> [node 1] -> [node 2] -> ... -> [node N] -> (sequencer if ordered) -> sink
//                    \__________\______ error port ____________________/
//
//   Stream():  reader (input_node) -> limiter -> admit -> [node 1] ...   (created per stream)
//
// Each pipeline node becomes a multifunction_node<ItemPtr, tuple<ItemPtr, ItemPtr>> with the
// node's concurrency: port 0 to the next node, port 1 (an item that failed here) straight to the
// sink, so one bad item never reaches later nodes nor cancels the graph. Nodes run in the spec's
// topological order. The node body wraps Node::Process with the required-field check, the cache
// lookup, timing and exception capture (NodeStage).
//
// Nodes with a `queue:` hand items to a WaitingRoom (graph/runtime/waiting_room.h); a `parallel:`
// group becomes a fan-out node, a chain per branch and a fan-in (graph/runtime/parallel_group.h).
// What happens to an item between stages lives in graph/runtime/stage_routing.cc, the graph's parts
// in graph/runtime/flow_graph_impl.h.
//
// Back-pressure is not set up here: the Engine's AdmissionGate bounds items before they are put.
// Queues inside the graph are therefore bounded by max_in_flight.
#pragma once

#include <oneapi/tbb/task_arena.h>

#include <functional>
#include <memory>
#include <vector>

#include "graph/request.h"
#include "graph/runtime/admission_gate.h"
#include "graph/runtime/node_stage.h"
#include "graph/runtime/tracked_item.h"
#include "graph/spec/pipeline_spec.h"
#include "graph/status.h"

namespace refinery {

class LoopController;

class FlowGraph {
 public:
  // Called exactly once per item that was Put, from a graph thread (concurrently unless ordered,
  // in which case calls are serial and in seq order).
  using Sink = std::function<void(const ItemPtr&)>;

  // Instantiates every node (factories may fail, e.g. a missing vocabulary) and wires the graph.
  // The graph's tasks run in `arena` (which must outlive the FlowGraph): work put from threads
  // outside the arena is enqueued there, so submitting threads never need to join it.
  static StatusOr<std::unique_ptr<FlowGraph>> Compile(const PipelineSpec& spec, bool ordered,
                                                      Sink sink, tbb::task_arena& arena);
  ~FlowGraph();

  void Put(const ItemPtr& item);

  // Pull mode: reads requests from `next` inside the arena (a serial input_node behind a
  // limiter_node of gate.capacity(), the bounded-stream pattern of docs/architecture.md, oneTBB
  // facts), turns each into an item with `make`, and returns when `next` is exhausted,
  // `wait_for_results` has returned and the graph is idle. The calling thread only waits. Items
  // hold a slot of `gate` and of the limiter; both are returned when the item dies. No Put() may
  // run concurrently.
  using ItemFactory = std::function<ItemPtr(Request&&)>;
  void Stream(const RequestSource& next, const ItemFactory& make, AdmissionGate& gate,
              tbb::task_arena& arena, const std::function<void()>& wait_for_results);
  void WaitForAll();
  // End of input (Engine::Drain): waiting rooms stop holding items back for a fuller batch.
  // Calls nest; each SetDraining(true) is matched by a SetDraining(false).
  void SetDraining(bool draining);
  const std::vector<std::unique_ptr<NodeStage>>& stages() const { return stages_; }
  // The refinement loop's controller (null without a loop): where new items start.
  const LoopController* loop_controller() const;

 private:
  struct Impl;
  FlowGraph() = default;
  std::vector<std::unique_ptr<NodeStage>> stages_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace refinery
