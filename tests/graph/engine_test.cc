// The engine end to end through its public API, at 1, 2 and 4 worker threads.
#include "graph/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "graph/runtime/tracked_item.h"
#include "tests/support/node_runner.h"
#include "tests/support/test_nodes.h"

namespace refinery {
namespace {

using ::testing::HasSubstr;
using testing::Text;

std::unique_ptr<Engine> MakeEngine(const std::string& yaml, EngineOptions options = {}) {
  auto engine = Engine::FromString(yaml, "t.yaml", {}, {}, options);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  return engine.ok() ? std::move(engine).value() : nullptr;
}

class EngineTest : public ::testing::TestWithParam<int> {
 protected:
  std::unique_ptr<Engine> Make(const std::string& yaml, EngineOptions options = {}) {
    options.threads = GetParam();
    return MakeEngine(yaml, options);
  }
};

Request Req(std::string id, std::string text) {
  Request r;
  r.id = std::move(id);
  r.fields["text"] = std::move(text);
  return r;
}

TEST_P(EngineTest, EveryRequestGetsExactlyOneResultAndFailuresStayAlone) {
  auto engine = Make(R"(pipeline: t
max_in_flight: 16
nodes:
  - {id: up, type: upper}
  - {id: check, type: fail, needle: BAD}
  - {id: size, type: measure}
)");
  ASSERT_TRUE(engine);
  constexpr int kN = 5000;
  std::mutex mu;
  std::map<std::string, Result> results;
  int duplicates = 0;
  for (int i = 0; i < kN; ++i) {
    std::string text = (i % 7 == 0) ? "bad item " + std::to_string(i) : "item " + std::to_string(i);
    ASSERT_TRUE(engine
                    ->Submit(Req(std::to_string(i), text),
                             [&](Result&& r) {
                               std::lock_guard lock(mu);
                               if (!results.emplace(r.id, std::move(r)).second) ++duplicates;
                             })
                    .ok());
  }
  engine->Drain();
  EXPECT_EQ(duplicates, 0);
  ASSERT_EQ(results.size(), size_t(kN));
  int failed = 0;
  for (int i = 0; i < kN; ++i) {
    const Result& r = results.at(std::to_string(i));
    if (i % 7 == 0) {
      ++failed;
      EXPECT_FALSE(r.ok);
      EXPECT_EQ(r.error_node, "check");
      EXPECT_THAT(r.error_message, HasSubstr("found 'BAD' in " + std::to_string(i)));
      EXPECT_EQ(r.trace.size(), 2u);  // never reached `size`
    } else {
      EXPECT_TRUE(r.ok) << r.error_message;
      EXPECT_EQ(Text(r, "text"), "ITEM " + std::to_string(i));
      EXPECT_EQ(r.trace.size(), 3u);
    }
  }
  EngineStats s = engine->Stats();
  EXPECT_EQ(s.submitted, kN);
  EXPECT_EQ(s.completed, kN);
  EXPECT_EQ(s.failed, failed);
  EXPECT_EQ(s.nodes[1].errors, failed);
  EXPECT_EQ(s.nodes[2].items, kN - failed);
  EXPECT_LE(s.peak_in_flight, 16);
}

TEST_P(EngineTest, LiveItemsStayBoundedWhileStreamingIntoASlowLastNode) {
  // The last node is serial and slow: without back-pressure the first nodes would queue items
  // without limit. The admission gate must hold live Items at max_in_flight.
  auto engine = Make(R"(pipeline: t
max_in_flight: 32
nodes:
  - {id: a, type: upper, cache: false}
  - {id: b, type: measure, cache: false}
  - {id: slow, type: spin, micros: 2, concurrency: serial}
)");
  ASSERT_TRUE(engine);
  ASSERT_EQ(TrackedItem::LiveCount(), 0);
  TrackedItem::ResetPeakLiveCount();
  constexpr int kN = 200'000;
  std::atomic<int64_t> done{0};
  const std::string payload(256, 'x');
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(engine->Submit(Req(std::to_string(i), payload), [&](Result&&) { ++done; }).ok());
  }
  engine->Drain();
  EXPECT_EQ(done.load(), kN);
  EXPECT_LE(TrackedItem::PeakLiveCount(), 32);
  EXPECT_GE(TrackedItem::PeakLiveCount(), 2);
  EXPECT_EQ(TrackedItem::LiveCount(), 0);
  EXPECT_EQ(engine->Stats().peak_in_flight, TrackedItem::PeakLiveCount());
}

TEST_P(EngineTest, PullModeStreamKeepsLiveItemsBoundedAndLosesNothing) {
  auto engine = Make(R"(pipeline: t
max_in_flight: 24
nodes:
  - {id: a, type: upper, cache: false}
  - {id: check, type: fail, needle: "7"}
  - {id: slow, type: spin, micros: 2, concurrency: serial}
)");
  ASSERT_TRUE(engine);
  TrackedItem::ResetPeakLiveCount();
  constexpr int kN = 200'000;
  int next = 0;
  std::atomic<int64_t> ok{0}, failed{0};
  Status s = engine->Run(
      [&](Request* r) {
        if (next == kN) return false;
        r->id = std::to_string(next);
        r->fields["text"] = std::string("n") + std::to_string(next++ % 10);
        return true;
      },
      [&](Result&& r) { (r.ok ? ok : failed).fetch_add(1); });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(ok.load() + failed.load(), kN);
  EXPECT_EQ(failed.load(), kN / 10);  // every text ending in 7
  EXPECT_LE(TrackedItem::PeakLiveCount(), 24);
  EXPECT_EQ(TrackedItem::LiveCount(), 0);
  EXPECT_EQ(engine->Stats().completed, kN);
}

TEST_P(EngineTest, PullModeOrderedAndStoppable) {
  auto engine = Make("pipeline: t\nmax_in_flight: 8\nnodes:\n  - {id: w, type: spin, micros: 5}\n",
                     {.ordered = true});
  std::vector<std::string> order;
  int next = 0;
  Status s = engine->Run(
      [&](Request* r) {
        if (next == 3000) engine->StopAccepting();  // as a signal handler's thread would
        r->id = std::to_string(next++);
        return true;  // an endless source: only StopAccepting ends the run
      },
      [&](Result&& r) { order.push_back(r.id); });
  ASSERT_TRUE(s.ok());
  ASSERT_GE(order.size(), 3000u);
  for (size_t i = 0; i < order.size(); ++i) ASSERT_EQ(order[i], std::to_string(i));
  EXPECT_EQ(engine->Stats().completed, int64_t(order.size()));
}

TEST_P(EngineTest, SecondRunOfTheSameRequestsIsServedFromTheCache) {
  auto engine = Make("pipeline: t\nnodes:\n  - {id: up, type: upper, cache: {capacity: 1000}}\n");
  ASSERT_TRUE(engine);
  testing::g_upper_calls = 0;
  auto run = [&] {
    std::vector<std::future<Result>> futures;
    for (int i = 0; i < 200; ++i)
      futures.push_back(engine->Submit(Req(std::to_string(i), "t" + std::to_string(i))));
    for (auto& f : futures) EXPECT_TRUE(f.get().ok);
  };
  run();
  EXPECT_EQ(testing::g_upper_calls.load(), 200);
  run();
  EXPECT_EQ(testing::g_upper_calls.load(), 200);  // no new executions
  CacheStats c = engine->Stats().nodes[0].cache;
  EXPECT_EQ(c.hits, 200);
  EXPECT_EQ(c.misses, 200);
  Result r = engine->Submit(Req("x", "t5")).get();
  EXPECT_EQ(Text(r, "text"), "T5");
  EXPECT_TRUE(r.trace[0].cache_hit);
  engine->ClearCaches();
  EXPECT_FALSE(engine->Submit(Req("y", "t5")).get().trace[0].cache_hit);
  EXPECT_EQ(testing::g_upper_calls.load(), 201);
}

TEST_P(EngineTest, OrderedModeDeliversInSubmissionOrder) {
  auto engine = Make(R"(pipeline: t
max_in_flight: 8
nodes:
  - {id: up, type: upper, cache: false}
  - {id: wait, type: spin, micros: 20}
)",
                     {.ordered = true});
  ASSERT_TRUE(engine);
  std::vector<std::string> order;  // callbacks are serial in ordered mode
  for (int i = 0; i < 500; ++i) {
    engine->Submit(Req(std::to_string(i), "x"), [&](Result&& r) { order.push_back(r.id); });
  }
  engine->Drain();
  ASSERT_EQ(order.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(order[i], std::to_string(i));
}

TEST_P(EngineTest, ConcurrentSubmittersAllGetResults) {
  auto engine =
      Make("pipeline: t\nmax_in_flight: 4\nnodes:\n  - {id: up, type: upper, cache: false}\n");
  ASSERT_TRUE(engine);
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        engine->Submit(Req(std::to_string(t * 1000 + i), "a"), [&](Result&& r) {
          if (r.ok) ++done;
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  engine->Drain();
  EXPECT_EQ(done.load(), 4000);
}

INSTANTIATE_TEST_SUITE_P(Threads, EngineTest, ::testing::Values(1, 2, 4));

TEST(Engine, MissingRequiredFieldFailsThatItemWithAClearMessage) {
  testing::NodeRunner runner("{id: n, type: normalize}");
  Result r = runner.Run({{"body", "x"}});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error_node, "n");
  EXPECT_EQ(r.error_message, "missing required field 'text'");
}

TEST(Engine, InputErrorsTakeTheirPlaceInTheStream) {
  auto engine = MakeEngine("pipeline: t\nnodes:\n  - {id: up, type: upper}\n", {.ordered = true});
  std::vector<Result> results;
  Request bad;
  bad.id = "2";
  bad.input_error = "in.jsonl:2: error: not a valid request";
  engine->Submit(Req("1", "a"), [&](Result&& r) { results.push_back(std::move(r)); });
  engine->Submit(std::move(bad), [&](Result&& r) { results.push_back(std::move(r)); });
  engine->Submit(Req("3", "c"), [&](Result&& r) { results.push_back(std::move(r)); });
  engine->Drain();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[1].id, "2");
  EXPECT_FALSE(results[1].ok);
  EXPECT_EQ(results[1].error_message, "in.jsonl:2: error: not a valid request");
  EXPECT_EQ(engine->Stats().failed, 1);
}

TEST(Engine, SubmitIsRefusedWhileARunStreams) {
  auto engine = MakeEngine("pipeline: t\nnodes:\n  - {id: w, type: spin, micros: 10}\n");
  Status during;
  int next = 0;
  Status s = engine->Run(
      [&](Request* r) {
        if (next == 10) during = engine->Submit(Req("push", "x"), [](Result&&) {});
        r->id = std::to_string(next);
        return next++ < 20;
      },
      [](Result&&) {});
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(during.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(during.message(), HasSubstr("a Run() stream is in progress"));
  EXPECT_TRUE(engine->Submit(Req("after", "x")).get().ok);  // push works again afterwards
}

TEST(Engine, ShutdownRefusesNewRequests) {
  auto engine = MakeEngine("pipeline: t\nnodes:\n  - {id: up, type: upper}\n");
  engine->Shutdown();
  Status s = engine->Submit(Req("late", "x"), [](Result&&) {});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  Result r = engine->Submit(Req("late2", "x")).get();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error_message, HasSubstr("shut down"));
}

TEST(Engine, ThrowingResultCallbackDoesNotBreakTheStream) {
  auto engine = MakeEngine("pipeline: t\nnodes:\n  - {id: up, type: upper}\n");
  std::atomic<int> calls{0};
  for (int i = 0; i < 50; ++i) {
    engine->Submit(Req(std::to_string(i), "x"), [&](Result&&) {
      ++calls;
      throw std::runtime_error("consumer bug");
    });
  }
  engine->Drain();
  EXPECT_EQ(calls.load(), 50);
  EXPECT_EQ(engine->Stats().completed, 50);
}

TEST(Engine, NodeFactoryFailureIsAnErrorNotACrash) {
  // The pipeline is valid; building the node fails (no rank files there).
  auto engine = Engine::FromString(
      "pipeline: t\nnodes:\n  - {id: tok, type: tokenize, vocab_dir: /nonexistent-vocab}\n",
      "t.yaml");
  ASSERT_FALSE(engine.ok());
  EXPECT_THAT(engine.status().message(), HasSubstr("t.yaml:3:5: error: node 'tok' (tokenize)"));
  EXPECT_THAT(engine.status().message(), HasSubstr("/nonexistent-vocab/cl100k_base.tiktoken"));
}

TEST(Engine, FactoryErrorsAreReportedWithTheNode) {
  auto engine = Engine::FromString(
      "pipeline: t\nnodes:\n  - {id: up, type: upper}\n  - {id: x, type: nope}\n");
  ASSERT_FALSE(engine.ok());
  EXPECT_THAT(engine.status().message(), HasSubstr("unknown node type 'nope'"));
}

}  // namespace
}  // namespace refinery
