#include "graph/compiler.h"

#include <oneapi/tbb/flow_graph.h>

#include <condition_variable>
#include <mutex>
#include <tuple>

#include "graph/internal/cycle_clock.h"
#include "graph/internal/did_you_mean.h"
#include "graph/loop_controller.h"
#include "graph/room_timer.h"

namespace refinery {

namespace flow = tbb::flow;
using StageNode = flow::multifunction_node<ItemPtr, std::tuple<ItemPtr, ItemPtr>>;

struct FlowGraph::Impl {
  flow::graph graph;
  std::vector<std::unique_ptr<StageNode>> nodes;
  std::vector<NodeStats*> stage_stats;
  std::unique_ptr<flow::sequencer_node<ItemPtr>> sequencer;
  std::unique_ptr<flow::function_node<ItemPtr>> sink;
  flow::receiver<ItemPtr>* exit = nullptr;  // sequencer when ordered, else the sink
  std::unique_ptr<LoopController> loop;
  size_t loop_from = 0, loop_to = 0;
  Sink sink_fn;          // the engine's, called directly for deadline failures when unordered
  bool ordered = false;
  std::unique_ptr<RoomTimer> timer;  // only when some node has a waiting room

  // Where an item goes after stage i ran it: the error port, back round the loop, or on.
  void Route(size_t i, const ItemPtr& item, StageNode::output_ports_type& ports);
  // Fails an item its deadline took out of stage i's waiting room.
  void FailExpired(size_t i, Item& item, double waited_ms, const std::vector<std::unique_ptr<NodeStage>>& stages);
  // Stage i with a waiting room: takes in the item (null: a tick) and runs ready batches.
  void Pump(size_t i, const ItemPtr& item, StageNode::output_ports_type& ports,
            const std::vector<std::unique_ptr<NodeStage>>& stages);
};

void FlowGraph::Impl::Route(size_t i, const ItemPtr& item, StageNode::output_ports_type& ports) {
  if (item->failed()) {
    std::get<1>(ports).try_put(item);
    return;
  }
  if (loop && i == loop_from) {
    if (loop->Again(*item)) {
      // Back to the loop's first node. It queues (never rejects), and the item still holds its
      // admission slot: no deadlock, no loss, no growth in items in flight.
      stage_stats[loop_to]->arrived.Add();
      nodes[loop_to]->try_put(item);
      return;
    }
    if (item->failed()) {
      std::get<1>(ports).try_put(item);
      return;
    }
  }
  if (i + 1 < nodes.size()) stage_stats[i + 1]->arrived.Add();
  std::get<0>(ports).try_put(item);
}

void FlowGraph::Impl::FailExpired(size_t i, Item& item, double waited_ms,
                                  const std::vector<std::unique_ptr<NodeStage>>& stages) {
  NodeStage& stage = *stages[i];
  const double deadline_ms = double(item.deadline_ticks() - item.submitted_ticks()) *
                             internal::CycleClock::NanosPerTick() / 1e6;
  char text[160];
  std::snprintf(text, sizeof text, "deadline passed while waiting (deadline %.1f ms after submission; waited %.1f ms in the queue)",
                deadline_ms, waited_ms);
  item.Fail(stage.spec().id, text);
  stage.stats().expired.Add();
}

void FlowGraph::Impl::Pump(size_t i, const ItemPtr& item, StageNode::output_ports_type& ports,
                           const std::vector<std::unique_ptr<NodeStage>>& stages) {
  NodeStage& stage = *stages[i];
  WaitingRoom& room = *stage.room();
  if (item) {
    if (std::optional<std::string> error = room.Add(item, internal::CycleClock::Now())) {
      stage.FailHere(*item, *error);
      std::get<1>(ports).try_put(item);
    }
  }
  // Run ready batches while this node has a free slot; a finishing batch makes room for the next.
  std::vector<Item*> raw;
  for (;;) {
    const uint64_t now = internal::CycleClock::Now();
    for (auto& [expired, waited_ms] : room.TakeExpired(now)) {
      FailExpired(i, *expired, waited_ms, stages);
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

namespace {

// The loop's fields must be written by a node of the pipeline (checked once the nodes exist,
// since what a node writes can depend on its options).
Status CheckLoopFields(const LoopSpec& loop, const std::vector<std::unique_ptr<NodeStage>>& stages) {
  std::vector<std::string> written;
  for (const auto& s : stages) written.insert(written.end(), s->io().writes.begin(), s->io().writes.end());
  std::vector<std::pair<std::string, std::string>> named;  // (what, field)
  for (const std::string& f : loop.until->fields()) named.emplace_back("condition", f);
  if (!loop.metric.empty()) named.emplace_back("metric", loop.metric);
  if (!loop.budget_field.empty()) named.emplace_back("budget_field", loop.budget_field);
  for (const auto& [what, field] : named) {
    if (std::find(written.begin(), written.end(), field) == written.end()) {
      return Status::InvalidArgument(loop.where.ToString() + ": error: loop " + what + " names field '" + field +
                                     "', which no node of the pipeline writes" + internal::DidYouMean(field, written));
    }
  }
  return Status::Ok();
}

}  // namespace

const LoopController* FlowGraph::loop_controller() const { return impl_ ? impl_->loop.get() : nullptr; }

StatusOr<std::unique_ptr<FlowGraph>> FlowGraph::Compile(const PipelineSpec& spec, bool ordered,
                                                        Sink sink, tbb::task_arena& arena) {
  std::unique_ptr<FlowGraph> fg(new FlowGraph());
  for (size_t index : spec.order) {
    StatusOr<std::unique_ptr<NodeStage>> stage = NodeStage::Create(spec.nodes[index], spec.base_dir);
    if (!stage.ok()) return stage.status();
    fg->stages_.push_back(std::move(stage).value());
  }
  if (!spec.loops.empty()) {
    const LoopSpec& loop = spec.loops.front();
    if (Status s = CheckLoopFields(loop, fg->stages_); !s.ok()) return s;
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
    for (size_t i = 0; i < fg->stages_.size(); ++i) {
      if (fg->stages_[i]->spec().id == loop.from) impl.loop_from = i;
      if (fg->stages_[i]->spec().id == loop.to) impl.loop_to = i;
    }
  }

  for (const auto& stage : fg->stages_) impl.stage_stats.push_back(&stage->stats());
  const std::vector<std::unique_ptr<NodeStage>>* stages = &fg->stages_;
  std::vector<RoomTimer::Room> rooms;
  for (size_t i = 0; i < fg->stages_.size(); ++i) {
    NodeStage* stage = fg->stages_[i].get();
    Impl* impl_ptr = &impl;
    if (stage->room() != nullptr) {
      // The room enforces the node's concurrency; the flow-graph node only hands items in.
      impl.nodes.push_back(std::make_unique<StageNode>(
          impl.graph, flow::unlimited, [i, impl_ptr, stages](const ItemPtr& item, StageNode::output_ports_type& ports) {
            impl_ptr->Pump(i, item, ports, *stages);
          }));
      StageNode* node = impl.nodes.back().get();
      rooms.push_back(RoomTimer::Room{
          stage->room(),
          [i, impl_ptr, stages](std::vector<std::pair<ItemPtr, double>>&& expired) {
            for (auto& [item, waited_ms] : expired) {
              impl_ptr->FailExpired(i, *item, waited_ms, *stages);
              // Unordered, the result is delivered from this thread now, even when every graph
              // thread is busy; ordered, it must wait for its turn in the sequencer anyway.
              if (impl_ptr->ordered) impl_ptr->exit->try_put(item);
              else impl_ptr->sink_fn(item);
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
  if (!rooms.empty()) impl.timer = std::make_unique<RoomTimer>(std::move(rooms), internal::CycleClock::NanosPerTick());
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
  if (!impl_) return;
  impl_->timer.reset();  // no more ticks from outside the graph
  impl_->graph.wait_for_all();
}

void FlowGraph::SetDraining(bool draining) {
  if (!impl_->timer) return;
  for (const auto& stage : stages_) {
    if (WaitingRoom* room = stage->room()) room->SetDraining(draining);
  }
  impl_->timer->Poke();
}

void FlowGraph::Put(const ItemPtr& item) {
  if (item->failed()) {  // arrived failed (bad input line): straight to the exit, still counted
    impl_->exit->try_put(item);
    return;
  }
  stages_.front()->stats().arrived.Add();
  // The first node queues (it never rejects), so try_put always succeeds; the gate in front
  // bounds how much it can queue.
  impl_->nodes.front()->try_put(item);
}

void FlowGraph::WaitForAll() { impl_->graph.wait_for_all(); }

namespace {

using RequestPtr = std::shared_ptr<Request>;
using Limiter = flow::limiter_node<RequestPtr, int>;
using AdmitNode = flow::multifunction_node<RequestPtr, std::tuple<ItemPtr, ItemPtr>>;

// An item admitted by a stream returns its gate slot (for stats and the bound) and then its
// limiter slot, which lets the reader pull the next request.
class StreamAdmission : public Admission {
 public:
  StreamAdmission(AdmissionGate& gate, Limiter& limiter) : gate_(gate), limiter_(limiter) {}
  void Release() override {
    gate_.Release();
    limiter_.decrementer().try_put(1);
  }

 private:
  AdmissionGate& gate_;
  Limiter& limiter_;
};

}  // namespace

void FlowGraph::Stream(const RequestSource& next, const ItemFactory& make, AdmissionGate& gate,
                       tbb::task_arena& arena, const std::function<void()>& wait_for_results) {
  flow::graph& g = impl_->graph;
  // The reader holds one request read ahead when the limiter is full; items are created only
  // after the limiter, so live items never exceed the gate's capacity.
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool reader_done = false;
  flow::input_node<RequestPtr> reader(g, [&](tbb::flow_control& control) -> RequestPtr {
    auto request = std::make_shared<Request>();
    if (!next(request.get())) {
      control.stop();
      std::lock_guard lock(done_mu);
      reader_done = true;
      done_cv.notify_all();
      return nullptr;
    }
    return request;
  });
  Limiter limiter(g, static_cast<size_t>(gate.capacity()));
  StreamAdmission admission(gate, limiter);
  NodeStats& first = stages_.front()->stats();
  AdmitNode admit(g, flow::serial,
                  [&](const RequestPtr& request, AdmitNode::output_ports_type& ports) {
                    // Cannot fail: the limiter admits at most capacity items, and an item gives
                    // its gate slot back before its limiter slot.
                    gate.TryAcquire();
                    ItemPtr item = make(std::move(*request));
                    item->HoldAdmission(&admission);
                    if (item->failed()) {
                      std::get<1>(ports).try_put(item);
                    } else {
                      first.arrived.Add();
                      std::get<0>(ports).try_put(item);
                    }
                  });
  flow::make_edge(reader, limiter);
  flow::make_edge(limiter, admit);
  flow::make_edge(flow::output_port<0>(admit), *impl_->nodes.front());
  flow::make_edge(flow::output_port<1>(admit), *impl_->exit);
  // The caller does not join the arena: its `threads` slots stay with the workers (a caller
  // holding one made an idle worker wake and find no slot, over and over). It waits for the
  // reader to finish and for every item's result, then for the graph's last tasks.
  arena.enqueue([&] { reader.activate(); });
  {
    std::unique_lock lock(done_mu);
    done_cv.wait(lock, [&] { return reader_done; });
  }
  wait_for_results();
  g.wait_for_all();
  flow::remove_edge(flow::output_port<0>(admit), *impl_->nodes.front());
  flow::remove_edge(flow::output_port<1>(admit), *impl_->exit);
}

}  // namespace refinery
