// FlowGraph::Impl: the compiled flow graph's nodes and the routing between them, shared by the
// compiler (graph/runtime/compiler.cc: builds it) and graph/runtime/stage_routing.cc (what happens
// to an item between stages: next node, loop-back, error exit, waiting rooms, parallel fan-out and
// fan-in).
#pragma once

#include <oneapi/tbb/flow_graph.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "graph/runtime/compiler.h"
#include "graph/runtime/loop_controller.h"
#include "graph/runtime/room_timer.h"

namespace refinery {

namespace flow = tbb::flow;
// A stage: port 0 to the next stage, port 1 (the item failed) to the exit.
using StageNode = flow::multifunction_node<ItemPtr, std::tuple<ItemPtr, ItemPtr>>;

struct FlowGraph::Impl {
  flow::graph graph;
  std::vector<std::unique_ptr<StageNode>> nodes;  // by chain position
  std::vector<NodeStage*> chain;                  // the stage at each chain position
  // Parallel groups, by chain position (empty / null elsewhere): where each branch starts, and
  // the fan-in that merges the branches and routes the item on like a stage.
  std::vector<std::vector<flow::receiver<ItemPtr>*>> branch_heads;
  std::vector<std::unique_ptr<StageNode>> fan_ins;
  std::vector<std::unique_ptr<flow::function_node<ItemPtr>>> branch_nodes;
  std::vector<std::vector<std::string>>
      group_writes;  // by position: fields the branches write, sorted
  std::unique_ptr<flow::sequencer_node<ItemPtr>> sequencer;
  std::unique_ptr<flow::function_node<ItemPtr>> sink;
  flow::receiver<ItemPtr>* exit = nullptr;  // sequencer when ordered, else the sink
  std::unique_ptr<LoopController> loop;
  size_t loop_from = 0, loop_to = 0;
  Sink sink_fn;  // the engine's, called directly for deadline failures when unordered
  bool ordered = false;
  std::unique_ptr<RoomTimer> timer;  // only when some node has a waiting room

  // What to send node i for `item`: the item itself, or - when stage i has a waiting room, which
  // takes the item now, in the sending thread - a tick that makes a graph thread pump the room.
  // Entering synchronously is what keeps priority: an arrival queued as a flow-graph task would
  // wait in the task queue (FIFO) while the room's bodies hold every thread.
  // (A reference, so the common case costs no shared_ptr copy: this is on every hop.)
  const ItemPtr& Enter(size_t i, const ItemPtr& item);
  // Where an item goes after stage i ran it: the error port, back round the loop, or on.
  void Route(size_t i, const ItemPtr& item, StageNode::output_ports_type& ports);
  // Fails an item its deadline took out of stage i's waiting room.
  void FailExpired(size_t i, TrackedItem& item, double waited_ms);
  // Stage i with a waiting room, on a tick (arrivals are already in the room, put there by
  // Enter): runs ready batches while the node has a free slot.
  void Pump(size_t i, StageNode::output_ports_type& ports);
  // Group at chain position i: the fan-out node (at nodes[i], where items for the group arrive),
  // each branch as a chain of function nodes, and the fan-in.
  void WireGroup(size_t i, const std::vector<std::vector<NodeStage*>>& branches);
  // Group i: a copy of the item into every branch.
  void FanOut(size_t i, const ItemPtr& item);
  // Group i: a branch's copy is back; the last one merges them and routes the item on.
  void FanIn(size_t i, const ItemPtr& copy, StageNode::output_ports_type& ports);
};

}  // namespace refinery
