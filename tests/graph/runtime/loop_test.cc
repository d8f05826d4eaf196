// Refinement loops: the condition language, loop validation with locations, the stop rules and
// on_exhausted, bounded items in flight at load, and independence from declaration order.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "graph/engine.h"
#include "graph/runtime/loop_adaptation.h"
#include "graph/runtime/tracked_item.h"
#include "graph/spec/condition.h"
#include "tests/support/node_runner.h"

namespace refinery::testing {
namespace {

using ::testing::HasSubstr;

std::string Pipeline(const std::string& loop, const std::string& shape = "up",
                     const std::string& extra_nodes = "") {
  return "pipeline: loop-test\nmax_in_flight: 8\nnodes:\n"
         "  - {id: up, type: upper, field: text}\n"
         "  - {id: lvl, type: level, shape: " +
         shape + "}\n" + extra_nodes +
         "edges: [up -> lvl]\n"
         "loops:\n  - " +
         loop + "\n";
}

Result RunOne(const std::string& yaml) {
  auto engine = Engine::FromString(yaml, "loop.yaml");
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  if (!engine.ok()) return {};
  Request r;
  r.id = "r";
  r.fields["text"] = std::string("abc");
  return (*engine)->Submit(std::move(r)).get();
}

TEST(Condition, ParsesAndEvaluates) {
  TrackedItem item("i", "", 0, 0);
  item.set_number("score.total", 0.7);
  item.set_number("n", 3);
  auto eval = [&](const std::string& text) {
    auto c = Condition::Parse(text);
    EXPECT_TRUE(c.ok()) << text << ": " << c.status().message();
    auto v = (*c)->Evaluate(item);
    EXPECT_TRUE(v.ok()) << v.status().message();
    return *v;
  };
  EXPECT_TRUE(eval("score.total >= 0.7"));
  EXPECT_FALSE(eval("score.total > 0.7"));
  EXPECT_TRUE(eval("score.total > 0.5 and n == 3"));
  EXPECT_TRUE(eval("score.total > 0.9 or not (n != 3)"));
  EXPECT_TRUE(eval("!(n < 1) && (n <= 3 || missing.field > 1)"));  // || short-circuits
  EXPECT_TRUE(eval("true"));
  EXPECT_FALSE(eval("n >= 4 and missing.field > 1"));  // && short-circuits
  auto missing = (*Condition::Parse("missing.field > 1"))->Evaluate(item);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("'missing.field' is not a number"));
  for (const auto& [bad, where] :
       std::vector<std::pair<std::string, std::string>>{{"score.total >> 1", "column 14"},
                                                        {"score.total = 1", "column 13"},
                                                        {"(n > 1", "column 1"},
                                                        {"n >", "column 4"},
                                                        {"and n", "column 1"},
                                                        {"n > 1 xyz", "column 7"}}) {
    auto c = Condition::Parse(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_THAT(c.status().message(), HasSubstr(where)) << bad << ": " << c.status().message();
  }
  EXPECT_EQ((*Condition::Parse("a.b > 1 or c_d < 2"))->fields(),
            (std::vector<std::string>{"a.b", "c_d"}));
}

// Hostile nesting is a located error, never a stack overflow in the parser, the evaluator or the
// destructor (issue 19, class 1: 20,000 `not ` crashed `run`, 20,000 `(` crashed `validate`).
TEST(Condition, NestingDeeperThanTheLimitIsAnErrorNotACrash) {
  std::string nots, parens = std::string(20'000, '(') + "x", chain = "x > 0";
  for (int i = 0; i < 20'000; ++i) nots += "not ";
  nots += "x";
  for (int i = 0; i < 20'000; ++i) chain += " and x > 0";
  for (const std::string* text : {&nots, &parens, &chain}) {
    auto c = Condition::Parse(*text);
    ASSERT_FALSE(c.ok()) << text->substr(0, 20);
    EXPECT_THAT(c.status().message(), HasSubstr("nested deeper than 256"));
  }
  // Up to the limit it parses and evaluates.
  std::string ok = "x > 0";
  for (int i = 0; i < 100; ++i) ok = "not (" + ok + ")";
  auto c = Condition::Parse(ok);
  ASSERT_TRUE(c.ok()) << c.status().message();
  TrackedItem item("i", "", 0, 0);
  item.set_number("x", 1);
  EXPECT_EQ(*(*c)->Evaluate(item), true);  // an even number of `not`s
}

TEST(Loop, PassesWhenTheConditionHolds) {
  const Result r = RunOne(Pipeline(
      "{from: lvl, to: lvl, until: \"lvl.value >= 3\", max_iterations: 10, metric: lvl.value, "
      "adjust: [{node: lvl, option: level, add: 1}]}"));
  ASSERT_TRUE(r.ok) << r.error_message;
  EXPECT_EQ(r.iterations, 4);
  EXPECT_EQ(Text(r, "loop.stop_reason"), "passed");
  EXPECT_EQ(Text(r, "loop.pass_scores"), "[0, 1, 2, 3]");
  EXPECT_EQ(Text(r, "lvl.text"), "level 3");
  EXPECT_EQ(Text(r, "text"), "ABC");  // nodes before `to` ran once
}

TEST(Loop, ExhaustedKeepsTheBestOrTheLastOrFails) {
  const std::string loop =
      "{from: lvl, to: lvl, until: \"lvl.value >= 100\", max_iterations: 5, metric: lvl.value, "
      "adjust: [{node: lvl, option: level, add: 1}], on_exhausted: ";
  const Result best = RunOne(Pipeline(loop + "best}", "peak"));
  ASSERT_TRUE(best.ok);
  EXPECT_EQ(Text(best, "loop.pass_scores"), "[6, 9, 10, 9, 6]");
  EXPECT_EQ(Text(best, "loop.stop_reason"), "max_iterations");
  EXPECT_EQ(Number(best, "loop.best_pass"), 3);
  EXPECT_EQ(Text(best, "lvl.text"), "level 2");  // the best pass's outputs
  EXPECT_EQ(Number(best, "lvl.value"), 10);
  EXPECT_EQ(best.iterations, 5);
  const Result last = RunOne(Pipeline(loop + "last}", "peak"));
  EXPECT_EQ(Text(last, "lvl.text"), "level 4");
  const Result error = RunOne(Pipeline(loop + "error}", "peak"));
  ASSERT_FALSE(error.ok);
  EXPECT_EQ(error.error_node, "loop");
  EXPECT_THAT(error.error_message, HasSubstr("after 5 passes (max_iterations)"));
}

TEST(Loop, StopsOnConvergenceAndBudget) {
  const Result converged =
      RunOne(Pipeline("{from: lvl, to: lvl, until: \"lvl.value >= 100\", max_iterations: 10, "
                      "metric: lvl.value, min_delta: 0.5, "
                      "adjust: [{node: lvl, option: level, add: 1}]}",
                      "flat"));
  EXPECT_EQ(Text(converged, "loop.stop_reason"), "converged");
  EXPECT_EQ(Text(converged, "loop.pass_scores"), "[0, 1, 2, 2]");
  const Result budget = RunOne(Pipeline(
      "{from: lvl, to: lvl, until: \"lvl.value >= 100\", max_iterations: 10, metric: lvl.value, "
      "budget_field: lvl.tokens, budget: 30, adjust: [{node: lvl, option: level, add: 1}]}"));
  EXPECT_EQ(Text(budget, "loop.stop_reason"), "budget");
  EXPECT_EQ(Number(budget, "loop.spent"), 30);
  EXPECT_EQ(budget.iterations, 3);
}

TEST(Loop, ValidationSaysWhereAndWhat) {
  auto error = [](const std::string& yaml) {
    auto e = Engine::FromString(yaml, "loop.yaml");
    return e.ok() ? std::string("<loaded>") : e.status().message();
  };
  EXPECT_THAT(error(Pipeline("{from: lvl, to: lvl, until: \"lvl.value >> 3\", metric: lvl.value}")),
              HasSubstr("loop.yaml:8:33"));
  EXPECT_THAT(error(Pipeline("{from: lvl, to: lvl, until: \"lvl.value >> 3\", metric: lvl.value}")),
              HasSubstr("at column 12"));
  EXPECT_THAT(error(Pipeline("{from: up, to: lvl, until: \"lvl.value > 1\", metric: lvl.value}")),
              HasSubstr("'lvl' runs after 'up'"));
  EXPECT_THAT(error(Pipeline("{from: lv, to: lvl, until: \"lvl.value > 1\", metric: lvl.value}")),
              HasSubstr("did you mean 'lvl'"));
  EXPECT_THAT(error(Pipeline("{from: lvl, to: lvl, until: \"lvl.valeu > 1\", metric: lvl.value}")),
              HasSubstr("which no node of the pipeline writes; did you mean 'lvl.value'"));
  EXPECT_THAT(error(Pipeline("{from: lvl, to: lvl, until: \"lvl.value > 1\", metric: lvl.value, "
                             "adjust: [{node: lvl, option: shape, add: 1}]}")),
              HasSubstr("only numeric options can be adjusted"));
  EXPECT_THAT(error(Pipeline("{from: lvl, to: lvl, until: \"lvl.value > 1\"}")),
              HasSubstr("set 'metric'"));
  EXPECT_THAT(
      error(Pipeline(
          "{from: lvl, to: lvl, until: \"lvl.value > 1\", metric: lvl.value, max_iteration: 3}")),
      HasSubstr("did you mean 'max_iterations'"));
}

TEST(Loop, EveryRequestGetsOneResultWithBoundedItemsInFlight) {
  auto engine = Engine::FromString(
      Pipeline(
          "{from: lvl, to: up, until: \"lvl.value >= 2\", max_iterations: 4, metric: lvl.value, "
          "adjust: [{node: lvl, option: level, add: 1}]}"),
      "loop.yaml", {}, {}, {.threads = 2});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  TrackedItem::ResetPeakLiveCount();
  const int64_t live_before = TrackedItem::LiveCount();
  std::atomic<int> results{0}, passed{0};
  for (int i = 0; i < 3000; ++i) {
    Request r;
    r.id = std::to_string(i);
    r.fields["text"] = std::string("request ") + std::to_string(i % 50);  // cache hits too
    (*engine)->Submit(std::move(r), [&](Result&& res) {
      ++results;
      if (res.ok && res.iterations == 3) ++passed;
    });
  }
  (*engine)->Drain();
  EXPECT_EQ(results.load(), 3000);
  EXPECT_EQ(passed.load(), 3000);
  EXPECT_LE(TrackedItem::PeakLiveCount() - live_before, 8);  // max_in_flight, loops included
}

// Adaptation: after a few requests of a type, new ones start at the pass that type usually passes
// at, so they pass in fewer passes; probes keep checking one pass earlier.
TEST(Loop, AdaptationLearnsWhereATypeStarts) {
  auto run = [](bool adapt) {
    auto engine = Engine::FromString(
        Pipeline(std::string("{from: lvl, to: lvl, until: \"lvl.value >= 3\", max_iterations: 6, "
                             "metric: lvl.value, "
                             "adjust: [{node: lvl, option: level, add: 1}], adapt: ") +
                 (adapt ? "true" : "false") + "}"),
        "adapt.yaml");
    EXPECT_TRUE(engine.ok()) << engine.status().message();
    std::vector<Result> results;
    for (int i = 0; i < 60; ++i) {
      Request r;
      r.id = std::to_string(i);
      r.type = "t";
      r.fields["text"] = std::string("abc");
      results.push_back(
          (*engine)->Submit(std::move(r)).get());  // one at a time: outcomes feed the next
    }
    return results;
  };
  for (const Result& r : run(false)) {
    EXPECT_EQ(r.iterations, 4);
    EXPECT_EQ(r.fields.count("loop.start_pass"), 0u);
  }
  const std::vector<Result> adapted = run(true);
  int probes = 0, direct = 0;
  for (size_t i = 0; i < adapted.size(); ++i) {
    const Result& r = adapted[i];
    ASSERT_TRUE(r.ok) << r.error_message;
    EXPECT_EQ(Number(r, "loop.passed"), 1);  // every request still passes...
    EXPECT_EQ(Number(r, "lvl.value"), 3);    // ...with the same outcome
    EXPECT_EQ(int(r.pass_ms.size()), r.iterations);
    if (i < LoopAdaptation::kMinOutcomes) {
      EXPECT_EQ(r.iterations, 4) << i;  // learning
      EXPECT_EQ(Number(r, "loop.start_pass"), 0);
    } else if (Number(r, "loop.start_pass") == 2) {
      EXPECT_EQ(r.iterations, 2) << i;  // a probe one pass earlier
      ++probes;
    } else {
      EXPECT_EQ(Number(r, "loop.start_pass"), 3) << i;
      EXPECT_EQ(r.iterations, 1) << i;
      EXPECT_EQ(Number(r, "loop.best_pass"), 1);
      ++direct;
    }
  }
  EXPECT_GT(probes, 2);
  EXPECT_GT(direct, 40);
  auto bad = Engine::FromString(
      Pipeline("{from: lvl, to: lvl, until: \"lvl.value >= 3\", metric: lvl.value, adapt: true}"),
      "bad.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("'adapt: true' needs 'adjust'"));
}

TEST(Loop, ResultsDoNotDependOnDeclarationOrder) {
  const std::string loop =
      "loops:\n  - {from: lvl, to: lvl, until: \"lvl.value >= 2\", max_iterations: 5, metric: "
      "lvl.value, "
      "adjust: [{node: lvl, option: level, add: 1}]}\n";
  const std::string a =
      "pipeline: p\nnodes:\n  - {id: up, type: upper, field: text}\n  - {id: lvl, type: level}\n"
      "edges: [up -> lvl]\n" +
      loop;
  const std::string b =
      "pipeline: p\nnodes:\n  - {id: lvl, type: level}\n  - {id: up, type: upper, field: text}\n"
      "edges: [up -> lvl]\n" +
      loop;
  const Result ra = RunOne(a), rb = RunOne(b);
  EXPECT_EQ(ra.iterations, rb.iterations);
  EXPECT_EQ(Text(ra, "loop.pass_scores"), Text(rb, "loop.pass_scores"));
  EXPECT_EQ(Text(ra, "text"), Text(rb, "text"));
}

}  // namespace
}  // namespace refinery::testing
