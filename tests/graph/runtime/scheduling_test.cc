// Waiting rooms through the engine: priority order at a busy node, deadlines that fail a waiting
// request at that moment (before the running batch ends), batches by count / delay / drain,
// per-item failures inside a batch, loops through a batching node, `queue:` validation, and
// nothing lost with bounded memory at volume.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <limits>
#include <thread>

#include "graph/engine.h"
#include "graph/runtime/tracked_item.h"
#include "tests/support/test_nodes.h"
#include "tests/support/wait_until.h"

namespace refinery::testing {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<Engine> Make(const std::string& yaml, EngineOptions options = {}) {
  auto engine = Engine::FromString(yaml, "sched.yaml", {}, {}, options);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  return engine.ok() ? std::move(engine).value() : nullptr;
}

Request Req(const std::string& id, int priority = 0, double deadline_ms = 0,
            const std::string& text = "t") {
  Request r;
  r.id = id;
  r.priority = priority;
  r.deadline_ms = deadline_ms;
  r.fields["text"] = text;
  return r;
}

const WaitingRoomStats& Room(const EngineStats& s, const std::string& node) {
  for (const auto& n : s.nodes) {
    if (n.id == node && n.queue) return *n.queue;
  }
  static WaitingRoomStats none;
  ADD_FAILURE() << "no waiting room at " << node;
  return none;
}

// Waits (bounded) until `node`'s room holds `n` items.
void WaitForWaiting(Engine& e, const std::string& node, int64_t n) {
  testing::WaitUntil([&] { return Room(e.Stats(), node).waiting >= n; });
  ASSERT_EQ(Room(e.Stats(), node).waiting, n);
}

void WaitForHeld(int n) {
  testing::WaitUntil([&] { return GatherHeld() >= n; });
  ASSERT_EQ(GatherHeld(), n);
}

std::vector<std::string> Flatten(const std::vector<std::vector<std::string>>& batches) {
  std::vector<std::string> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

// The queue is the first node, so a submitted request is in it when Submit returns (a node in
// front would run it on a graph thread first, and on a loaded machine after its deadline: it then
// fails there, correctly, before it ever waits in the queue).
const char* kHeldNode =
    "pipeline: sched\n"
    "nodes:\n"
    "  - id: g\n"
    "    type: gather\n"
    "    hold: true\n"
    "    concurrency: serial\n"
    "    queue: {order: ORDER}\n"
    "  - {id: up, type: upper}\n";

std::string Held(const std::string& order) {
  std::string y = kHeldNode;
  y.replace(y.find("ORDER"), 5, order);
  return y;
}

// Five requests wait behind a held one; the rest run in the room's order once it opens.
std::vector<std::string> RunOrder(const std::string& order) {
  GatherReset();
  auto engine = Make(Held(order));
  if (!engine) return {};
  std::vector<std::future<Result>> results;
  results.push_back(engine->Submit(Req("first")));
  WaitForHeld(1);
  const int priorities[] = {1, 5, 3, 9, 2};
  // One at a time: flow-graph tasks may reorder requests sent together on their way to the room.
  for (int i = 0; i < 5; ++i) {
    results.push_back(engine->Submit(Req("p" + std::to_string(priorities[i]), priorities[i])));
    WaitForWaiting(*engine, "g", i + 1);
  }
  GatherOpen();
  for (auto& f : results) EXPECT_TRUE(f.get().ok);
  return Flatten(GatherBatches());
}

TEST(Scheduling, PriorityQueueRunsTheMostUrgentWaitingRequestFirst) {
  EXPECT_EQ(RunOrder("priority"),
            (std::vector<std::string>{"first", "p9", "p5", "p3", "p2", "p1"}));
}

TEST(Scheduling, FifoQueueKeepsArrivalOrder) {
  EXPECT_EQ(RunOrder("fifo"), (std::vector<std::string>{"first", "p1", "p5", "p3", "p9", "p2"}));
}

TEST(Scheduling, DeadlineFailsAWaitingRequestBeforeTheRunningOneEnds) {
  for (bool ordered : {false, true}) {
    SCOPED_TRACE(ordered ? "ordered" : "unordered");
    GatherReset();
    auto engine = Make(Held("priority"), {.ordered = ordered});
    ASSERT_TRUE(engine);
    std::future<Result> running = engine->Submit(Req("running"));
    WaitForHeld(1);
    std::future<Result> late = engine->Submit(Req("late", 0, /*deadline_ms=*/30));
    std::future<Result> patient = engine->Submit(Req("patient", 0, /*deadline_ms=*/60'000));
    testing::WaitUntil([&] { return Room(engine->Stats(), "g").expired >= 1; });
    ASSERT_EQ(Room(engine->Stats(), "g").expired, 1);
    if (!ordered) {
      // The running request still holds the node, yet the waiting one already has its result.
      ASSERT_EQ(late.wait_for(std::chrono::seconds(10)), std::future_status::ready);
      EXPECT_EQ(running.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
      EXPECT_EQ(GatherHeld(), 1);
    }
    GatherOpen();
    Result r = late.get();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error_node, "g");
    EXPECT_THAT(r.error_message,
                HasSubstr("deadline passed while waiting (deadline 30.0 ms after submission"));
    EXPECT_TRUE(running.get().ok);
    EXPECT_TRUE(patient.get().ok);
    engine->Drain();
    const EngineStats s = engine->Stats();
    EXPECT_EQ(Room(s, "g").expired, 1);
    EXPECT_EQ(s.nodes[0].waiting, 0) << "an expired request is no longer counted as waiting";
    EXPECT_EQ(Flatten(GatherBatches()), (std::vector<std::string>{"running", "patient"}));
  }
}

TEST(Scheduling, APassedDeadlineFailsTheRequestAtTheNextNode) {
  auto engine = Make(
      "pipeline: d\nnodes:\n  - {id: s, type: spin, micros: 20000}\n  - {id: up, type: upper}\n");
  ASSERT_TRUE(engine);
  Result r = engine->Submit(Req("r", 0, 5)).get();
  EXPECT_FALSE(r.ok);
  // At `up`, after the 20 ms in `s`; or at `s` itself when a loaded machine started it late.
  EXPECT_THAT(r.error_node, ::testing::AnyOf("up", "s"));
  EXPECT_THAT(r.error_message, HasSubstr("deadline passed before the node ran"));
}

const char* kBatching =
    "pipeline: batching\n"
    "nodes:\n"
    "  - {id: up, type: upper}\n"
    "  - id: g\n"
    "    type: gather\n"
    "    queue: {batch: {max_items: 4, max_delay_ms: DELAY}}\n";

std::string Batching(const std::string& delay) {
  std::string y = kBatching;
  y.replace(y.find("DELAY"), 5, delay);
  return y;
}

TEST(Scheduling, BatchesFlushWhenFullAndTheRestAtDrain) {
  GatherReset();
  auto engine = Make(Batching("60000"));
  ASSERT_TRUE(engine);
  std::vector<std::future<Result>> results;
  for (int i = 0; i < 10; ++i) results.push_back(engine->Submit(Req("r" + std::to_string(i))));
  // 8 leave in two full batches; two wait for company until the drain.
  testing::WaitUntil([&] { return Room(engine->Stats(), "g").batched_items >= 8; });
  WaitForWaiting(*engine, "g", 2);
  engine->Drain();
  for (auto& f : results) {
    Result r = f.get();
    ASSERT_TRUE(r.ok) << r.error_message;
    EXPECT_TRUE(r.fields.count("g.batch"));
  }
  const WaitingRoomStats q = Room(engine->Stats(), "g");
  EXPECT_EQ(q.batch_sizes[4], 2);
  EXPECT_EQ(q.batch_sizes[2], 1);
  EXPECT_EQ(q.flushes[int(FlushReason::kFull)], 2);
  EXPECT_EQ(q.flushes[int(FlushReason::kDrain)], 1);
  EXPECT_EQ(q.batched_items, 10);
}

TEST(Scheduling, BatchesFlushOnTheDelayWhenTrafficStops) {
  GatherReset();
  auto engine = Make(Batching("20"));
  ASSERT_TRUE(engine);
  std::vector<std::future<Result>> results;
  for (int i = 0; i < 3; ++i) results.push_back(engine->Submit(Req("r" + std::to_string(i))));
  // No Drain: only the room's timer can let these three go.
  for (auto& f : results) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_TRUE(f.get().ok);
  }
  const WaitingRoomStats q = Room(engine->Stats(), "g");
  EXPECT_GE(q.flushes[int(FlushReason::kDelay)], 1);
  EXPECT_EQ(q.flushes[int(FlushReason::kFull)] + q.flushes[int(FlushReason::kDrain)], 0);
  EXPECT_EQ(q.batched_items, 3);
}

TEST(Scheduling, OneBadItemInABatchFailsAlone) {
  GatherReset();
  auto engine = Make(Batching("60000"));
  ASSERT_TRUE(engine);
  std::vector<std::future<Result>> results;
  for (int i = 0; i < 4; ++i)
    results.push_back(engine->Submit(Req("r" + std::to_string(i), 0, 0, i == 2 ? "FAIL" : "ok")));
  for (int i = 0; i < 4; ++i) {
    Result r = results[size_t(i)].get();
    EXPECT_EQ(r.ok, i != 2) << r.id;
    if (i == 2) {
      EXPECT_EQ(r.error_node, "g");
      EXPECT_THAT(r.error_message, HasSubstr("FAIL in r2"));
    }
  }
  EXPECT_EQ(GatherBatches().size(), 1u) << "the four went together";
}

TEST(Scheduling, QueueValidationIsLocated) {
  auto bad = [](const std::string& queue) {
    auto e = Engine::FromString(
        "pipeline: q\nnodes:\n  - id: n\n    type: upper\n    queue: " + queue + "\n", "q.yaml");
    EXPECT_FALSE(e.ok()) << queue;
    return e.ok() ? std::string() : e.status().message();
  };
  EXPECT_THAT(
      bad("{order: urgent}"),
      HasSubstr("q.yaml:5:20: error: node 'n' (upper): queue.order must be fifo or priority"));
  EXPECT_THAT(bad("{ordr: fifo}"), HasSubstr("queue: unknown key 'ordr'; did you mean 'order'?"));
  EXPECT_THAT(bad("{batch: {max_items: 4}}"), HasSubstr("this node type does not accept batches"));
  auto gather = [](const std::string& batch) {
    auto e = Engine::FromString(
        "pipeline: q\nnodes:\n  - id: n\n    type: gather\n    queue: {batch: " + batch + "}\n",
        "q.yaml");
    EXPECT_FALSE(e.ok()) << batch;
    return e.ok() ? std::string() : e.status().message();
  };
  EXPECT_THAT(gather("{max_items: 0}"),
              HasSubstr("queue.batch.max_items must be an integer from 1 to 4096, found '0'"));
  EXPECT_THAT(gather("{max_tokens: 100}"), HasSubstr("need 'size_field'"));
  EXPECT_THAT(gather("{size_field: n, buckets: [10, 5]}"), HasSubstr("ascending positive sizes"));
  EXPECT_THAT(gather("{adapt: {min_items: 2}}"), HasSubstr("needs 'target_p95_ms'"));
  EXPECT_THAT(gather("{adapt: {target_p95_ms: 5, min_items: 9, max_items: 3}}"),
              HasSubstr("min_items is above max_items"));
}

TEST(Scheduling, LoopThroughABatchingNodeLosesNothingAtVolume) {
  GatherReset();
  auto engine = Make(
      "pipeline: v\nmax_in_flight: 32\nnodes:\n"
      "  - id: g\n    type: gather\n    concurrency: 2\n"
      "    queue: {order: priority, batch: {max_items: 8, max_delay_ms: 1, size_field: text, "
      "buckets: [3]}}\n"
      "  - {id: lvl, type: level}\n"
      "loops:\n  - {from: lvl, to: g, until: \"lvl.value >= 3\", max_iterations: 3, on_exhausted: "
      "last,"
      " adjust: [{node: lvl, option: level, add: 1}]}\n");
  ASSERT_TRUE(engine);
  TrackedItem::ResetPeakLiveCount();
  const int64_t live_before = TrackedItem::LiveCount();
  std::atomic<int> ok{0}, failed{0};
  constexpr int kRequests = 5000;
  for (int i = 0; i < kRequests; ++i) {
    Request r = Req(std::to_string(i), i % 7, 0, std::string(size_t(1 + i % 6), 'x'));
    ASSERT_TRUE(engine->Submit(std::move(r), [&](Result&& res) { (res.ok ? ok : failed)++; }).ok());
  }
  engine->Drain();
  EXPECT_EQ(ok.load(), kRequests);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_LE(TrackedItem::PeakLiveCount() - live_before, 32)
      << "looping through a room never raises the items in flight";
  const WaitingRoomStats q = Room(engine->Stats(), "g");
  EXPECT_EQ(q.batched_items, 3 * kRequests) << "every request made three passes";
  EXPECT_EQ(q.waiting, 0);
  for (const auto& batch : GatherBatches()) EXPECT_LE(batch.size(), 8u);
}

}  // namespace
// A deadline too far to count in ticks is no deadline (1e13 ms used to overflow into the past
// and fail the request at once with "deadline passed"; issue 19, class 6).
TEST(Scheduling, HugeDeadlinesNeverExpireRequestsEarly) {
  auto engine = Make("pipeline: p\nnodes:\n  - {id: up, type: upper}\n");
  ASSERT_TRUE(engine);
  for (double deadline : {1e13, 1e300, std::numeric_limits<double>::infinity(), 5e3}) {
    Result r = engine->Submit(Req("r", 0, deadline)).get();
    EXPECT_TRUE(r.ok) << deadline << ": " << r.error_message;
  }
}

}  // namespace refinery::testing
