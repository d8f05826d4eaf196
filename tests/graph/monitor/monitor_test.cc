// The monitor through the engine: per-type accounting (tokens, iterations, pass latency),
// threshold alerts that fire once per breach and resolve, anomalies, drift on an input that
// changes half-way (and against a saved baseline), the JSON Lines and webhook sinks, the bound on
// distinct types, and the config section's located errors.
#include "graph/monitor/monitor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "graph/engine.h"
#include "graph/runtime_config.h"
#include "tests/support/scratch_path.h"

namespace refinery::testing {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<Engine> MakeEngine(const std::string& yaml, const MonitorConfig& monitoring) {
  EngineOptions options;
  options.monitoring = monitoring;
  auto engine = Engine::FromString(yaml, "monitor-test.yaml", {}, {}, options);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  return engine.ok() ? std::move(engine).value() : nullptr;
}

Request Req(const std::string& id, const std::string& type, const std::string& text) {
  Request r;
  r.id = id;
  r.type = type;
  r.fields["text"] = text;
  return r;
}

void SubmitAll(Engine& e, std::vector<Request> requests) {
  for (Request& r : requests) ASSERT_TRUE(e.Submit(std::move(r), [](Result&&) {}).ok());
  e.Drain();
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string Words(int n, const std::string& word = "word") {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " " : "") + word + std::to_string(i % 7);
  return s;
}

const monitor::TypeSnapshot* FindType(const EngineStats& s, const std::string& type) {
  for (const auto& t : s.monitor.types) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

int Count(const std::vector<monitor::Alert>& alerts, const std::string& rule,
          const std::string& state, const std::string& type = "") {
  int n = 0;
  for (const auto& a : alerts)
    n += a.rule == rule && a.state == state && (type.empty() || a.type == type);
  return n;
}

const char* kFailPipeline =
    "pipeline: mon\nmax_in_flight: 16\nnodes:\n  - {id: f, type: fail, needle: FAIL}\n";

TEST(Monitor, ErrorRateFiresOncePerBreachThenResolves) {
  MonitorConfig m;
  m.window = 20;
  m.min_requests = 10;
  m.default_thresholds.error_rate = 0.2;
  m.alerts.file = ScratchPath("alerts-error-rate.jsonl");
  std::remove(m.alerts.file.c_str());
  auto e = MakeEngine(kFailPipeline, m);
  ASSERT_TRUE(e);
  std::vector<Request> reqs;
  for (int i = 0; i < 60; ++i) {
    reqs.push_back(Req("b" + std::to_string(i), "bad", i % 2 ? "FAIL" : "fine"));  // 50% errors
    reqs.push_back(Req("g" + std::to_string(i), "good", "fine"));
  }
  SubmitAll(*e, std::move(reqs));
  EngineStats s = e->Stats();
  EXPECT_EQ(Count(s.monitor.recent_alerts, "error_rate", "firing", "bad"),
            1);  // once, not per request
  EXPECT_EQ(Count(s.monitor.recent_alerts, "error_rate", "firing", "good"), 0);
  std::vector<Request> healed;
  for (int i = 0; i < 40; ++i) healed.push_back(Req("h" + std::to_string(i), "bad", "fine"));
  SubmitAll(*e, std::move(healed));
  s = e->Stats();
  EXPECT_EQ(Count(s.monitor.recent_alerts, "error_rate", "resolved", "bad"), 1);
  const std::vector<std::string> lines = Lines(m.alerts.file);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0],
              HasSubstr(R"("type":"bad","kind":"threshold","rule":"error_rate","state":"firing")"));
  EXPECT_THAT(lines[0], HasSubstr(R"("pipeline":"mon")"));
  EXPECT_THAT(lines[0], HasSubstr("failed; the limit is 20.0%"));
  EXPECT_THAT(lines[1], HasSubstr(R"("state":"resolved")"));
  ASSERT_EQ(s.monitor.alert_counts.size(), 1u);
  EXPECT_EQ(s.monitor.alert_counts[0].firing, 1);
  const monitor::TypeSnapshot* bad = FindType(s, "bad");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->requests, 100);
  EXPECT_EQ(bad->failed, 30);
}

TEST(Monitor, LatencyThresholdPerType) {
  MonitorConfig m;
  m.window = 10;
  m.min_requests = 5;
  m.type_thresholds["tight"].latency_p95_ms = 1;  // the delay alone takes 2 ms
  m.type_thresholds["loose"].latency_p95_ms = 5000;
  auto e = MakeEngine("pipeline: mon\nnodes:\n  - {id: d, type: delay, micros: 2000}\n", m);
  ASSERT_TRUE(e);
  std::vector<Request> reqs;
  for (int i = 0; i < 20; ++i) {
    reqs.push_back(Req("t" + std::to_string(i), "tight", "x"));
    reqs.push_back(Req("l" + std::to_string(i), "loose", "x"));
  }
  SubmitAll(*e, std::move(reqs));
  const EngineStats s = e->Stats();
  EXPECT_EQ(Count(s.monitor.recent_alerts, "latency_p95_ms", "firing", "tight"), 1);
  EXPECT_EQ(Count(s.monitor.recent_alerts, "latency_p95_ms", "firing", "loose"), 0);
  const monitor::TypeSnapshot* tight = FindType(s, "tight");
  ASSERT_TRUE(tight);
  EXPECT_GE(tight->latency.p50_us, 2000);
  ASSERT_TRUE(tight->thresholds.latency_p95_ms);
  EXPECT_EQ(*tight->thresholds.latency_p95_ms, 1);
}

TEST(Monitor, TokensPerTypeAndTokenBudget) {
  MonitorConfig m;
  m.window = 10;
  m.min_requests = 5;
  m.type_thresholds["long"].token_budget = 20;
  auto e = MakeEngine("pipeline: mon\nnodes:\n  - {id: h, type: halve}\n", m);
  ASSERT_TRUE(e);
  std::vector<Request> reqs;
  for (int i = 0; i < 10; ++i) {
    reqs.push_back(Req("s" + std::to_string(i), "short", Words(10)));
    reqs.push_back(Req("l" + std::to_string(i), "long", Words(100)));
  }
  SubmitAll(*e, std::move(reqs));
  const EngineStats s = e->Stats();
  const monitor::TypeSnapshot* shrt = FindType(s, "short");
  const monitor::TypeSnapshot* lng = FindType(s, "long");
  ASSERT_TRUE(shrt && lng);
  EXPECT_EQ(shrt->tokens_in, 100);
  EXPECT_EQ(shrt->tokens_out, 50);
  EXPECT_EQ(shrt->tokens_saved, 50);
  EXPECT_EQ(lng->tokens_in, 1000);
  EXPECT_EQ(lng->tokens_out, 500);
  int64_t trend_in = 0;
  for (const auto& p : lng->trend) trend_in += p.tokens_in;
  EXPECT_EQ(trend_in, 1000);  // the over-time windows add up to the total
  EXPECT_EQ(Count(s.monitor.recent_alerts, "token_budget", "firing", "long"), 1);
  EXPECT_EQ(Count(s.monitor.recent_alerts, "token_budget", "firing", "short"), 0);
}

TEST(Monitor, RefinementPassesAndIterations) {
  const std::string yaml =
      "pipeline: mon-loop\nnodes:\n  - {id: up, type: upper}\n  - {id: lvl, type: level, shape: "
      "up}\n"
      "edges: [up -> lvl]\nloops:\n  - {from: lvl, to: lvl, until: \"lvl.value >= 3\", "
      "max_iterations: 6, "
      "metric: lvl.value, adjust: [{node: lvl, option: level, add: 1}]}\n";
  auto e = MakeEngine(yaml, MonitorConfig{});
  ASSERT_TRUE(e);
  std::vector<Result> results;
  std::mutex mu;
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(e->Submit(Req(std::to_string(i), "loop", "abc"), [&](Result&& r) {
                   std::lock_guard lock(mu);
                   results.push_back(std::move(r));
                 }).ok());
  }
  e->Drain();
  ASSERT_EQ(results.size(), 12u);
  int64_t passes = 0;
  for (const Result& r : results) {
    EXPECT_EQ(int(r.pass_ms.size()), r.iterations) << r.id;
    for (double ms : r.pass_ms) EXPECT_GE(ms, 0);
    passes += r.iterations;
  }
  const EngineStats stats = e->Stats();
  const monitor::TypeSnapshot* t = FindType(stats, "loop");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->pass_latency.count, passes);
  int64_t counted = 0, weighted = 0;
  for (size_t i = 0; i < t->iterations.size(); ++i) {
    counted += t->iterations[i];
    weighted += t->iterations[i] * int64_t(i + 1);
  }
  EXPECT_EQ(counted, 12);
  EXPECT_EQ(weighted, passes);
}

// The acceptance scenario: output length drifts when the input changes half-way.
TEST(Monitor, DriftWhenTheInputChangesHalfway) {
  MonitorConfig m;
  m.drift.enabled = true;
  m.drift.metrics = {"m.words", "tokens_out"};
  m.drift.baseline = 200;
  m.drift.window = 100;
  m.drift.save_baseline = ScratchPath("baseline.json");
  auto e = MakeEngine("pipeline: mon\nnodes:\n  - {id: m, type: measure}\n", m);
  ASSERT_TRUE(e);
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> longer(80, 120), shorter(20, 40);
  std::vector<Request> first, second;
  for (int i = 0; i < 300; ++i)
    first.push_back(Req("a" + std::to_string(i), "news", Words(longer(rng))));
  for (int i = 0; i < 300; ++i)
    second.push_back(Req("b" + std::to_string(i), "news", Words(shorter(rng))));
  SubmitAll(*e, std::move(first));
  EngineStats s = e->Stats();
  EXPECT_EQ(s.monitor.alerts_firing_total, 0);  // no drift while the input is steady
  const monitor::TypeSnapshot* t = FindType(s, "news");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->drift.size(), 2u);
  EXPECT_EQ(t->drift[0].metric, "m.words");
  EXPECT_TRUE(t->drift[0].measured);
  EXPECT_FALSE(t->drift[0].drifting);
  EXPECT_EQ(t->drift[1].baseline_count, 0);  // tokens_out: no node here counts tokens
  SubmitAll(*e, std::move(second));
  s = e->Stats();
  ASSERT_EQ(Count(s.monitor.recent_alerts, "m.words", "firing", "news"), 1);
  const monitor::Alert* a = nullptr;
  for (const auto& x : s.monitor.recent_alerts) a = x.rule == "m.words" ? &x : a;
  EXPECT_EQ(a->kind, "drift");
  EXPECT_THAT(a->message, HasSubstr("m.words moved from a baseline mean of "));
  EXPECT_THAT(a->message, HasSubstr("need attention"));
  EXPECT_GT(a->value, 0.25);  // PSI
  t = FindType(s, "news");
  EXPECT_TRUE(t->drift[0].drifting);
  EXPECT_LT(t->drift[0].current_mean, 45);

  // A later run compares with this run's saved baseline from its first result on.
  ASSERT_TRUE(e->monitor().SaveBaselines(m.drift.save_baseline).ok());
  MonitorConfig again = m;
  again.drift.save_baseline.clear();
  again.drift.baseline_file = m.drift.save_baseline;
  auto e2 = MakeEngine("pipeline: mon\nnodes:\n  - {id: m, type: measure}\n", again);
  ASSERT_TRUE(e2);
  std::vector<Request> shifted;
  for (int i = 0; i < 100; ++i)
    shifted.push_back(Req("c" + std::to_string(i), "news", Words(shorter(rng))));
  SubmitAll(*e2, std::move(shifted));
  EXPECT_EQ(Count(e2->Stats().monitor.recent_alerts, "m.words", "firing", "news"), 1);
}

TEST(Monitor, BadBaselineFileIsAClearError) {
  MonitorConfig m;
  m.drift.enabled = true;
  m.drift.baseline_file = ScratchPath("not-a-baseline.json");
  std::ofstream(m.drift.baseline_file) << "{\"types\": 3}";
  EngineOptions options;
  options.monitoring = m;
  auto e = Engine::FromString("pipeline: mon\nnodes:\n  - {id: m, type: measure}\n", "x.yaml", {},
                              {}, options);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(e.status().message(),
              HasSubstr("not-a-baseline.json: error: not a drift baseline file"));
}

TEST(Monitor, AnomalyOnAJumpNotOnAnOutlier) {
  MonitorConfig m;
  m.window = 50;
  m.anomaly.enabled = true;
  m.anomaly.metrics = {"m.words"};
  m.anomaly.warmup = 30;
  auto e = MakeEngine("pipeline: mon\nmax_in_flight: 1\nnodes:\n  - {id: m, type: measure}\n", m);
  ASSERT_TRUE(e);
  std::vector<Request> reqs;
  for (int i = 0; i < 60; ++i) reqs.push_back(Req(std::to_string(i), "t", Words(100 + i % 5)));
  reqs.push_back(Req("outlier", "t", Words(1000)));  // one wild value: a tail, not a jump
  for (int i = 0; i < 20; ++i)
    reqs.push_back(Req("n" + std::to_string(i), "t", Words(100 + i % 5)));
  SubmitAll(*e, std::move(reqs));
  EXPECT_EQ(e->Stats().monitor.alerts_firing_total, 0);
  std::vector<Request> jump;
  for (int i = 0; i < 20; ++i)
    jump.push_back(Req("j" + std::to_string(i), "t", Words(300 + i % 5)));
  SubmitAll(*e, std::move(jump));
  const EngineStats s = e->Stats();
  ASSERT_EQ(Count(s.monitor.recent_alerts, "m.words", "firing", "t"),
            1);  // once: then it learns the new level
  EXPECT_EQ(s.monitor.recent_alerts[0].kind, "anomaly");
  EXPECT_EQ(s.monitor.recent_alerts[0].value, 302);  // the third value of the jump
  EXPECT_THAT(s.monitor.recent_alerts[0].message,
              HasSubstr("jumped to 302 from a recent mean of 10"));
  EXPECT_THAT(s.monitor.recent_alerts[0].message, HasSubstr("3 results in a row"));
}

TEST(Monitor, WebhookReceivesAlerts) {
  httplib::Server receiver;
  std::mutex mu;
  std::vector<std::string> bodies;
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    bodies.push_back(req.body);
    res.status = 204;
  });
  const int port = receiver.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serve([&] { receiver.listen_after_bind(); });
  {
    MonitorConfig m;
    m.window = 10;
    m.min_requests = 5;
    m.default_thresholds.error_rate = 0.1;
    m.alerts.webhook = "http://127.0.0.1:" + std::to_string(port) + "/hook";
    auto e = MakeEngine(kFailPipeline, m);
    ASSERT_TRUE(e);
    std::vector<Request> reqs;
    for (int i = 0; i < 20; ++i) reqs.push_back(Req(std::to_string(i), "w", "FAIL"));
    SubmitAll(*e, std::move(reqs));
  }  // the engine's sinks deliver what is queued before they stop
  receiver.stop();
  serve.join();
  std::lock_guard lock(mu);
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_THAT(bodies[0], HasSubstr(R"("rule":"error_rate","state":"firing")"));
  EXPECT_THAT(bodies[0], HasSubstr(R"("type":"w")"));
}

TEST(Monitor, DeadWebhookNeverBlocksResults) {
  MonitorConfig m;
  m.window = 10;
  m.min_requests = 5;
  m.default_thresholds.error_rate = 0.1;
  m.alerts.webhook = "http://127.0.0.1:9/hook";  // discard port: nothing listens
  m.alerts.webhook_timeout_seconds = 0.2;
  auto e = MakeEngine(kFailPipeline, m);
  ASSERT_TRUE(e);
  std::vector<Request> reqs;
  for (int i = 0; i < 50; ++i) reqs.push_back(Req(std::to_string(i), "w", "FAIL"));
  SubmitAll(*e, std::move(reqs));
  EXPECT_EQ(e->Stats().completed, 50);
  EXPECT_EQ(e->Stats().monitor.alerts_firing_total, 1);
}

TEST(Monitor, ShutdownWithAHungWebhookDropsTheQueue) {
  // A receiver that takes connections (the kernel's backlog) and never answers: every POST waits
  // out its timeout.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 512), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  auto sink = monitor::WebhookAlertSink::Create(
      "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/hook", 0.2);
  ASSERT_TRUE(sink.ok());
  monitor::Alert a;
  a.rule = "r";
  for (int i = 0; i < 200; ++i) (*sink)->Publish(a);
  const auto start = std::chrono::steady_clock::now();
  sink->reset();  // trying each one would take 200 x 0.2 s
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ::close(fd);
}

TEST(Monitor, DistinctTypesAreBounded) {
  MonitorConfig m;
  m.max_types = 5;
  auto e = MakeEngine("pipeline: mon\nnodes:\n  - {id: u, type: upper}\n", m);
  ASSERT_TRUE(e);
  std::vector<Request> reqs;
  for (int i = 0; i < 50; ++i)
    reqs.push_back(Req(std::to_string(i), "type-" + std::to_string(i), "x"));
  SubmitAll(*e, std::move(reqs));
  const EngineStats s = e->Stats();
  EXPECT_LE(s.monitor.types.size(), 6u);
  int64_t total = 0;
  for (const auto& t : s.monitor.types) total += t.requests;
  EXPECT_EQ(total, 50);  // nothing lost: the rest are counted under "(other)"
  const monitor::TypeSnapshot* other = FindType(s, std::string(monitor::kOtherTypes));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->requests, 45);
}

TEST(Monitor, OffMeansNoPerTypeState) {
  MonitorConfig m;
  m.enabled = false;
  auto e = MakeEngine("pipeline: mon\nnodes:\n  - {id: u, type: upper}\n", m);
  ASSERT_TRUE(e);
  SubmitAll(*e, {Req("1", "a", "x")});
  EXPECT_TRUE(e->Stats().monitor.types.empty());
  EXPECT_EQ(e->Stats().completed, 1);
}

TEST(MonitorConfig, ParsesTheSection) {
  const std::string path = ScratchPath("monitor-config.yaml");
  std::ofstream(path)
      << "monitoring:\n  window: 50\n  alerts: {file: a.jsonl}\n"
         "  thresholds:\n    default: {error_rate: 0.05}\n"
         "    types:\n      news: {latency_p95_ms: 250, token_budget: 300}\n"
         "  anomaly: {z: 5}\n  drift: {metrics: [score.total], baseline: 50, psi: 0.2}\n";
  auto c = LoadRuntimeConfig(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->monitoring);
  const MonitorConfig& m = *c->monitoring;
  EXPECT_EQ(m.window, 50);
  EXPECT_EQ(m.alerts.file, "a.jsonl");
  EXPECT_TRUE(m.anomaly.enabled);
  EXPECT_EQ(m.anomaly.z, 5);
  EXPECT_TRUE(m.drift.enabled);
  EXPECT_EQ(m.drift.metrics, std::vector<std::string>{"score.total"});
  EXPECT_EQ(m.drift.baseline, 50);
  const ThresholdSpec news = m.ThresholdsFor("news");
  EXPECT_EQ(*news.latency_p95_ms, 250);
  EXPECT_EQ(*news.error_rate, 0.05);  // from default
  EXPECT_FALSE(m.ThresholdsFor("other").latency_p95_ms);
}

TEST(MonitorConfig, EveryMistakeIsLocated) {
  const std::string path = ScratchPath("monitor-config-bad.yaml");
  std::ofstream(path)
      << "monitoring:\n  treshold: {}\n  window: -3\n"
         "  thresholds:\n    types:\n      news: {latency_p59_ms: 3, error_rate: 2}\n"
         "  alerts: {webhook: \"ftp://x\"}\n  drift: {ks: high}\n";
  auto c = LoadRuntimeConfig(path);
  ASSERT_FALSE(c.ok());
  const std::string msg = c.status().message();
  EXPECT_THAT(
      msg,
      HasSubstr(":2:3: error: monitoring: unknown key 'treshold'; did you mean 'thresholds'?"));
  EXPECT_THAT(
      msg,
      HasSubstr(
          ":3:11: error: monitoring: 'window' must be an integer from 5 to 1000000, found '-3'"));
  EXPECT_THAT(
      msg,
      HasSubstr(
          ":6:14: error: monitoring.thresholds.types.news: unknown key 'latency_p59_ms'; did you "
          "mean 'latency_p95_ms'?"));
  EXPECT_THAT(msg, HasSubstr("'error_rate' must be a number from 0 to 1, found '2'"));
  EXPECT_THAT(msg, HasSubstr(":7:21: error: monitoring.alerts: 'webhook' must be an http:// URL"));
  EXPECT_THAT(
      msg,
      HasSubstr(":8:15: error: monitoring.drift: 'ks' must be a number from 0 to 1, found 'high'"));
}

}  // namespace
}  // namespace refinery::testing
