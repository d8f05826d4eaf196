// How requests enter a compiled graph (FlowGraph, compiler.h): Put() pushes one admitted item
// (Engine::Submit), Stream() pulls requests through a reader and a limiter built per stream
// (Engine::Run); SetDraining and WaitForAll are the end-of-input side.
#include <condition_variable>
#include <mutex>

#include "graph/runtime/compiler.h"
#include "graph/runtime/flow_graph_impl.h"

namespace refinery {

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
  impl_->nodes.front()->try_put(impl_->Enter(0, item));
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
                      std::get<0>(ports).try_put(impl_->Enter(0, item));
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
