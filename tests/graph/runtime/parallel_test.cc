// Parallel alternatives: every branch runs on a copy at the same time, the best copy continues,
// failed branches lose, loops go round a group, mistakes in the file are located, and nothing
// leaks at volume.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "graph/engine.h"
#include "graph/runtime/tracked_item.h"
#include "tests/support/node_runner.h"
#include "tests/support/test_nodes.h"
#include "tests/support/wait_until.h"

namespace refinery::testing {
namespace {

using ::testing::HasSubstr;

std::string Group(const std::string& keep = "highest",
                  const std::string& branch_a = "{id: la, type: level, level: 1}",
                  const std::string& extra = "") {
  return "pipeline: alt\nnodes:\n"
         "  - {id: up, type: upper}\n"
         "  - id: best\n"
         "    parallel:\n"
         "      keep_best: {a: la.value, b: lb.value}\n"
         "      keep: " +
         keep +
         "\n"
         "      branches:\n"
         "        a: [" +
         branch_a +
         "]\n"
         "        b: [{id: f, type: fail, needle: BOTH}, {id: lb, type: level, level: 3}]\n"
         "  - {id: after, type: upper}\n" +
         extra;
}

Result RunText(Engine& engine, const std::string& text) {
  Request r;
  r.id = "r";
  r.fields["text"] = text;
  return engine.Submit(std::move(r)).get();
}

std::unique_ptr<Engine> Make(const std::string& yaml, EngineOptions options = {}) {
  auto e = Engine::FromString(yaml, "alt.yaml", {}, {}, options);
  EXPECT_TRUE(e.ok()) << e.status().message();
  return e.ok() ? std::move(e).value() : nullptr;
}

TEST(Parallel, KeepsTheBestBranchAndRecordsEveryBranch) {
  auto engine = Make(Group());
  ASSERT_TRUE(engine);
  Result r = RunText(*engine, "abc");
  ASSERT_TRUE(r.ok) << r.error_message;
  EXPECT_EQ(Text(r, "best.chosen"), "b");
  EXPECT_EQ(Number(r, "best.score"), 3);
  EXPECT_EQ(Number(r, "best.a"), 1);
  EXPECT_EQ(Number(r, "best.b"), 3);
  EXPECT_EQ(Number(r, "lb.value"), 3);
  EXPECT_FALSE(r.fields.count("la.value")) << "the losing branch's fields are dropped";
  EXPECT_EQ(Text(r, "text"), "ABC") << "the nodes after the group ran on the winner";
  std::vector<std::string> ran;
  for (const NodeTiming& t : r.trace) ran.push_back(t.node);
  EXPECT_THAT(ran, ::testing::UnorderedElementsAre("up", "la", "f", "lb", "best", "after"));
  const EngineStats s = engine->Stats();
  ASSERT_EQ(s.nodes.size(), 6u);
  for (const auto& n : s.nodes) EXPECT_EQ(n.items, 1) << n.id;
  EXPECT_EQ(s.nodes[2].inputs, std::vector<std::string>{"best"}) << s.nodes[2].id;

  auto lowest = Make(Group("lowest"));
  ASSERT_TRUE(lowest);
  Result low = RunText(*lowest, "abc");
  ASSERT_TRUE(low.ok);
  EXPECT_EQ(Text(low, "best.chosen"), "a");
  EXPECT_EQ(Number(low, "la.value"), 1);
}

TEST(Parallel, AFailedBranchLosesAndAllFailedFailsTheRequest) {
  auto engine =
      Make(Group("highest", "{id: fa, type: fail, needle: BOTH}, {id: la, type: level, level: 5}"));
  ASSERT_TRUE(engine);
  Result ok = RunText(*engine, "fine");
  ASSERT_TRUE(ok.ok);
  EXPECT_EQ(Text(ok, "best.chosen"), "a");
  Result failed = RunText(*engine, "BOTH branches fail");
  ASSERT_FALSE(failed.ok);
  EXPECT_EQ(failed.error_node, "best");
  EXPECT_THAT(failed.error_message, HasSubstr("no branch produced its keep_best field"));
  EXPECT_THAT(failed.error_message, HasSubstr("a: node 'fa': found 'BOTH'"));
  EXPECT_THAT(failed.error_message, HasSubstr("b: node 'f': found 'BOTH'"));
}

TEST(Parallel, BranchesRunAtTheSameTime) {
  GatherReset();
  auto engine = Make(
      "pipeline: p\nnodes:\n  - id: g\n    parallel:\n      keep_best: {x: gx.batch, y: gy.batch}\n"
      "      branches:\n        x: [{id: gx, type: gather, hold: true}]\n        y: [{id: gy, "
      "type: gather, hold: true}]\n",
      {.threads = 2});
  ASSERT_TRUE(engine);
  std::future<Result> f = std::async(std::launch::async, [&] { return RunText(*engine, "t"); });
  // One request, both branches inside their node at once: they are not run one after the other.
  testing::WaitUntil([] { return GatherHeld() >= 2; });
  EXPECT_EQ(GatherHeld(), 2);
  GatherOpen();
  Result r = f.get();
  ASSERT_TRUE(r.ok) << r.error_message;
  EXPECT_EQ(Text(r, "g.chosen"), "x") << "a tie goes to the first branch in the file";
}

TEST(Parallel, ALoopGoesRoundTheGroupWithBranchAdjustments) {
  auto engine =
      Make(Group("highest", "{id: la, type: level, level: 1}",
                 "edges: [up -> best -> after]\n"
                 "loops:\n  - {from: best, to: best, until: \"best.score >= 5\", max_iterations: 5,"
                 " adjust: [{node: la, option: level, add: 2}, {node: lb, option: level, add: 1}],"
                 " on_exhausted: last}\n"));
  ASSERT_TRUE(engine);
  Result r = RunText(*engine, "abc");
  ASSERT_TRUE(r.ok) << r.error_message;
  // Pass 1: a=1, b=3; pass 2: a=3, b=4; pass 3: a=5, b=5 -> tie to a, passes.
  EXPECT_EQ(r.iterations, 3);
  EXPECT_EQ(Text(r, "best.chosen"), "a");
  EXPECT_EQ(Number(r, "best.score"), 5);
  EXPECT_EQ(Text(r, "loop.stop_reason"), "passed");
  EXPECT_FALSE(r.fields.count("lb.value"))
      << "b won the earlier passes; its fields must not leak into a's win";
}

TEST(Parallel, MistakesAreLocated) {
  auto error = [](const std::string& yaml) {
    auto e = Engine::FromString(yaml, "alt.yaml");
    EXPECT_FALSE(e.ok());
    return e.ok() ? std::string() : e.status().message();
  };
  std::string g = Group();
  EXPECT_THAT(error(g + "edges: [up -> lb]\n"),
              HasSubstr("node 'lb' is inside parallel group 'best'; edges connect the group"));
  std::string wrong = g;
  wrong.replace(wrong.find("lb.value}"), 8, "lb.valeu");
  EXPECT_THAT(error(wrong),
              HasSubstr("alt.yaml:4:5: error: parallel group 'best': branch 'b' writes no field "
                        "'lb.valeu' (keep_best); did you mean 'lb.value'?"));
  std::string stray = g;
  stray.replace(stray.find("b: lb.value"), 11, "c: lb.value");
  EXPECT_THAT(error(stray), HasSubstr("keep_best names branch 'c', which the group does not have"));
  EXPECT_THAT(error("pipeline: p\nnodes:\n  - id: g\n    parallel: {keep_best: x, branches: {a: "
                    "[{id: u, type: upper}]}}\n"),
              HasSubstr("'branches' must map two or more branch names to lists of nodes"));
  EXPECT_THAT(
      error("pipeline: p\nnodes:\n  - id: g\n    type: upper\n    parallel: {keep_best: x}\n"),
      HasSubstr("unknown key 'type'"));
  EXPECT_THAT(error(g + "loops:\n  - {from: lb, to: up, until: \"lb.value > 1\"}\n"),
              HasSubstr("loop: 'from' names node 'lb' inside parallel group 'best'"));
  EXPECT_THAT(
      error("pipeline: p\nnodes:\n  - id: g\n    parallel:\n      keep_best: x\n      branches:\n"
            "        a: [{id: g2, parallel: {}}]\n        b: [{id: u, type: upper}]\n"),
      HasSubstr("parallel groups do not nest"));
}

TEST(Parallel, NothingLostNorLeakedAtVolume) {
  auto engine =
      Make(Group("highest", "{id: la, type: level, level: 1}",
                 "edges: [up -> best -> after]\nmax_in_flight: 16\n"
                 "loops:\n  - {from: best, to: best, until: \"best.score >= 4\", max_iterations: 3,"
                 " adjust: [{node: lb, option: level, add: 1}], on_exhausted: last}\n"));
  ASSERT_TRUE(engine);
  const int64_t live_before = TrackedItem::LiveCount();
  std::atomic<int> ok{0}, failed{0};
  constexpr int kRequests = 3000;
  for (int i = 0; i < kRequests; ++i) {
    Request r;
    r.id = std::to_string(i);
    r.fields["text"] = i % 10 == 0 ? std::string("BOTH") : "t" + std::to_string(i % 7);
    ASSERT_TRUE(engine->Submit(std::move(r), [&](Result&& res) { (res.ok ? ok : failed)++; }).ok());
  }
  engine->Drain();
  EXPECT_EQ(ok.load(), kRequests) << "branch b fails on BOTH; a still wins";
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(TrackedItem::LiveCount(), live_before) << "every branch copy was freed";
}

}  // namespace
}  // namespace refinery::testing
