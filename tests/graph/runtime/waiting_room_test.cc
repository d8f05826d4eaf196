// WaitingRoom on its own, with the time passed in (1 tick = 1 ns here): ordering, the three
// flush rules, buckets, deadlines, concurrency slots, draining and batch-size adaptation.
#include "graph/runtime/waiting_room.h"

#include <gtest/gtest.h>

#include <limits>

namespace refinery {
namespace {

constexpr uint64_t kMs = 1'000'000;  // ticks per millisecond at 1 ns per tick

ItemPtr MakeItem(const std::string& id, int priority = 0, double size = 0, uint64_t deadline = 0) {
  auto item = std::make_shared<TrackedItem>(id, "", priority, 0);
  item->set_number("n", size);
  item->set_deadline_ticks(deadline);
  return item;
}

std::vector<std::string> Ids(const WaitingRoom::Batch& b) {
  std::vector<std::string> ids;
  for (const ItemPtr& i : b.items) ids.push_back(i->id());
  return ids;
}

QueueSpec Queue(QueueSpec::Order order, int max_items = 1, double delay_ms = 5) {
  QueueSpec q;
  q.enabled = true;
  q.order = order;
  q.batch.max_items = max_items;
  q.batch.max_delay_ms = delay_ms;
  return q;
}

TEST(WaitingRoom, PriorityOrderIsHighestFirstAndFifoWithinAPriority) {
  WaitingRoom room(Queue(QueueSpec::kPriority), /*concurrency=*/1, 1.0);
  int p[] = {1, 5, 3, 5, 9, 1};
  for (int i = 0; i < 6; ++i) room.Add(MakeItem("r" + std::to_string(i), p[i]), 100);
  std::vector<std::string> order;
  while (auto b = room.TakeBatch(100)) {
    order.push_back(b->items[0]->id());
    EXPECT_FALSE(room.TakeBatch(100)) << "one slot: nothing else runs until Finish";
    room.Finish(*b, 101);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"r4", "r1", "r3", "r2", "r0", "r5"}));
}

TEST(WaitingRoom, FifoIgnoresPriority) {
  WaitingRoom room(Queue(QueueSpec::kFifo), 0, 1.0);
  for (int i = 0; i < 4; ++i) room.Add(MakeItem("r" + std::to_string(i), i), 100);
  std::vector<std::string> order;
  while (auto b = room.TakeBatch(100)) order.push_back(b->items[0]->id());
  EXPECT_EQ(order, (std::vector<std::string>{"r0", "r1", "r2", "r3"}));
}

TEST(WaitingRoom, FlushesWhenFullOrOnTheDelayOrWhenDraining) {
  WaitingRoom room(Queue(QueueSpec::kFifo, /*max_items=*/3, /*delay_ms=*/10), 0, 1.0);
  const uint64_t t0 = 1000 * kMs;
  room.Add(MakeItem("a"), t0);
  room.Add(MakeItem("b"), t0 + 1 * kMs);
  EXPECT_FALSE(room.TakeBatch(t0 + 2 * kMs)) << "2 of 3 items and 2 of 10 ms: not ready";
  EXPECT_EQ(room.NextDue(t0 + 2 * kMs), t0 + 10 * kMs)
      << "due when the oldest has waited the delay";
  room.Add(MakeItem("c"), t0 + 3 * kMs);
  auto full = room.TakeBatch(t0 + 3 * kMs);
  ASSERT_TRUE(full);
  EXPECT_EQ(Ids(*full), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(full->reason, FlushReason::kFull);

  room.Add(MakeItem("d"), t0 + 4 * kMs);
  EXPECT_FALSE(room.TakeBatch(t0 + 13 * kMs));
  auto late = room.TakeBatch(t0 + 14 * kMs);
  ASSERT_TRUE(late);
  EXPECT_EQ(Ids(*late), (std::vector<std::string>{"d"}));
  EXPECT_EQ(late->reason, FlushReason::kDelay);

  room.Add(MakeItem("e"), t0 + 20 * kMs);
  room.SetDraining(true);
  EXPECT_EQ(room.NextDue(t0 + 20 * kMs), t0 + 20 * kMs);
  auto drained = room.TakeBatch(t0 + 20 * kMs);
  ASSERT_TRUE(drained);
  EXPECT_EQ(drained->reason, FlushReason::kDrain);
  room.SetDraining(false);

  const WaitingRoomStats s = room.Stats();
  EXPECT_EQ(s.arrived, 5);
  EXPECT_EQ(s.batches, 3);
  EXPECT_EQ(s.batch_sizes[3], 1);
  EXPECT_EQ(s.batch_sizes[1], 2);
  EXPECT_EQ(s.flushes[int(FlushReason::kFull)], 1);
  EXPECT_EQ(s.flushes[int(FlushReason::kDelay)], 1);
  EXPECT_EQ(s.flushes[int(FlushReason::kDrain)], 1);
  EXPECT_DOUBLE_EQ(s.max_wait_ms, 10);
}

TEST(WaitingRoom, TokenBudgetFlushesAndBatchesStayWithinIt) {
  QueueSpec q = Queue(QueueSpec::kFifo, 100, 1000);
  q.batch.max_tokens = 10;
  q.batch.size_field = "n";
  WaitingRoom room(q, 0, 1.0);
  room.Add(MakeItem("a", 0, 4), 1);
  room.Add(MakeItem("b", 0, 4), 1);
  EXPECT_FALSE(room.TakeBatch(1)) << "8 of 10 tokens";
  room.Add(MakeItem("c", 0, 4), 1);
  auto b = room.TakeBatch(1);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->reason, FlushReason::kTokens);
  EXPECT_EQ(Ids(*b), (std::vector<std::string>{"a", "b"})) << "c would take the batch to 12 of 10";
  // An item over the budget on its own still runs, alone.
  room.Add(MakeItem("huge", 0, 50), 2);
  std::vector<std::vector<std::string>> batches;
  while (auto x = room.TakeBatch(2)) batches.push_back(Ids(*x));
  EXPECT_EQ(batches, (std::vector<std::vector<std::string>>{{"c"}, {"huge"}}));
}

TEST(WaitingRoom, BucketsNeverMixSizes) {
  QueueSpec q = Queue(QueueSpec::kFifo, 2, 1000);
  q.batch.size_field = "n";
  q.batch.buckets = {10};
  WaitingRoom room(q, 0, 1.0);
  room.Add(MakeItem("s1", 0, 3), 1);
  room.Add(MakeItem("l1", 0, 30), 2);
  room.Add(MakeItem("l2", 0, 40), 3);
  room.Add(MakeItem("s2", 0, 10), 4);  // the bound belongs to the lower bucket
  std::vector<std::vector<std::string>> batches;
  while (auto b = room.TakeBatch(5)) batches.push_back(Ids(*b));
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0], (std::vector<std::string>{"s1", "s2"}))
      << "the bucket with the oldest first item goes first";
  EXPECT_EQ(batches[1], (std::vector<std::string>{"l1", "l2"}));
}

TEST(WaitingRoom, MissingSizeFieldIsAnError) {
  QueueSpec q = Queue(QueueSpec::kFifo, 2, 1);
  q.batch.size_field = "prompt.tokens";
  WaitingRoom room(q, 0, 1.0);
  auto error = room.Add(MakeItem("a"), 1);
  ASSERT_TRUE(error);
  EXPECT_NE(error->find("'prompt.tokens'"), std::string::npos) << *error;
  EXPECT_EQ(room.Stats().waiting, 0);
}

TEST(WaitingRoom, DeadlinesExpireWaitingItemsOnly) {
  WaitingRoom room(Queue(QueueSpec::kPriority), 1, 1.0);
  room.Add(MakeItem("running", 0, 0, 50 * kMs), 0);
  auto run = room.TakeBatch(0);
  ASSERT_TRUE(run);
  room.Add(MakeItem("soon", 9, 0, 30 * kMs), 1 * kMs);
  room.Add(MakeItem("later", 0, 0, 80 * kMs), 2 * kMs);
  room.Add(MakeItem("none", 0), 3 * kMs);
  EXPECT_EQ(room.NextDue(4 * kMs), 30 * kMs) << "the slot is taken: only deadlines fall due";
  EXPECT_TRUE(room.TakeExpired(29 * kMs).empty());
  auto expired = room.TakeExpired(31 * kMs);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].first->id(), "soon");
  EXPECT_DOUBLE_EQ(expired[0].second, 30);
  room.Finish(*run,
              60 * kMs);  // `running` passed its deadline while running: not the room's business
  auto next = room.TakeBatch(60 * kMs);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->items[0]->id(), "later");
  room.Finish(*next, 61 * kMs);
  EXPECT_TRUE(room.TakeExpired(100 * kMs).empty()) << "taken items are no longer the room's";
  EXPECT_EQ(room.Stats().expired, 1);
}

TEST(WaitingRoom, ConcurrencySlotsBoundRunningBatches) {
  WaitingRoom room(Queue(QueueSpec::kFifo), 2, 1.0);
  for (int i = 0; i < 5; ++i) room.Add(MakeItem("r" + std::to_string(i)), 1);
  auto a = room.TakeBatch(1), b = room.TakeBatch(1);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(room.TakeBatch(1));
  EXPECT_EQ(room.NextDue(1), std::numeric_limits<uint64_t>::max())
      << "no slot, no deadline: nothing due";
  room.Finish(*a, 2);
  EXPECT_TRUE(room.TakeBatch(2));
}

// Every batch fills at once; the time items spend at the node is `ms` per batch.
void RunWindow(WaitingRoom& room, uint64_t& now, double ms, int batches = 16) {
  for (int k = 0; k < batches; ++k) {
    const int n = room.Stats().max_items;
    for (int i = 0; i < n; ++i) room.Add(MakeItem("x"), now);
    auto b = room.TakeBatch(now);
    ASSERT_TRUE(b);
    ASSERT_EQ(int(b->items.size()), n);
    now += uint64_t(ms * kMs);
    room.Finish(*b, now);
  }
}

TEST(WaitingRoom, AdaptationGrowsUnderTheTargetAndShrinksOverIt) {
  QueueSpec q = Queue(QueueSpec::kFifo, 4, 2);
  q.batch.adapt = true;
  q.batch.target_p95_ms = 100;
  q.batch.min_items = 2;
  q.batch.adapt_max_items = 12;
  q.batch.min_delay_ms = 1;
  q.batch.adapt_max_delay_ms = 8;
  WaitingRoom room(q, 1, 1.0);
  uint64_t now = 1;
  RunWindow(room, now, 10);  // p95 10 ms, batches full: grow
  EXPECT_EQ(room.Stats().max_items, 5);
  EXPECT_DOUBLE_EQ(room.Stats().max_delay_ms, 2.5);
  for (int w = 0; w < 10; ++w) RunWindow(room, now, 10);
  EXPECT_EQ(room.Stats().max_items, 12) << "grows to its bound, not past it";
  EXPECT_DOUBLE_EQ(room.Stats().max_delay_ms, 8);
  RunWindow(room, now, 90);  // between 80% and 100% of the target: hold
  EXPECT_EQ(room.Stats().max_items, 12);
  RunWindow(room, now, 300);  // over the target: shrink
  EXPECT_EQ(room.Stats().max_items, 9);
  EXPECT_DOUBLE_EQ(room.Stats().max_delay_ms, 4);
  for (int w = 0; w < 10; ++w) RunWindow(room, now, 300);
  EXPECT_EQ(room.Stats().max_items, 2) << "shrinks to its bound, not past it";
  EXPECT_DOUBLE_EQ(room.Stats().max_delay_ms, 1);
  const WaitingRoomStats s = room.Stats();
  EXPECT_EQ(s.adapt_grow, 7);
  EXPECT_GE(s.adapt_shrink, 5);
  EXPECT_DOUBLE_EQ(s.last_window_p95_ms, 300);
}

TEST(WaitingRoom, AdaptationFitsTheBatchToWhatArrives) {
  QueueSpec q = Queue(QueueSpec::kFifo, 8, 4);
  q.batch.adapt = true;
  q.batch.target_p95_ms = 100;
  WaitingRoom room(q, 1, 1.0);
  uint64_t now = 1;
  auto alone = [&] {  // one client: an item arrives, waits for company that never comes
    room.Add(MakeItem("x"), now);
    now += 5 * kMs;
    auto b = room.TakeBatch(now);
    EXPECT_TRUE(b);
    if (!b) return FlushReason::kDrain;
    room.Finish(*b, now + kMs);
    return b->reason;
  };
  for (int k = 0; k < 16; ++k) EXPECT_EQ(alone(), FlushReason::kDelay);
  EXPECT_EQ(room.Stats().max_items, 1) << "fitted to the one item that arrives per batch";
  EXPECT_EQ(room.Stats().adapt_fits, 1);
  // Now an item leaves at once: nothing waits for company.
  room.Add(MakeItem("y"), now);
  auto b = room.TakeBatch(now);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->reason, FlushReason::kFull);
  room.Finish(*b, now);
  // Full batches with latency to spare do not grow right after a fit (4 windows hold) ...
  for (int w = 0; w < 3; ++w) RunWindow(room, now, 10);
  EXPECT_EQ(room.Stats().max_items, 1);
  // ... and then probe upwards again.
  RunWindow(room, now, 10);
  RunWindow(room, now, 10);
  EXPECT_GT(room.Stats().max_items, 1);
}

}  // namespace
}  // namespace refinery
