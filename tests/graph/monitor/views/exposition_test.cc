// What operators read: the Prometheus exposition (checked by promtool), the /metrics and /healthz
// endpoint, and the HTML run report (rendered in headless Chromium: every chart draws, no script
// error).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "graph/engine.h"
#include "graph/io/json_io.h"
#include "graph/monitor/views/html_report.h"
#include "graph/monitor/views/metrics_server.h"
#include "graph/monitor/views/prometheus.h"
#include "tests/support/scratch_path.h"
#include "tests/support/set_up_material.h"

namespace refinery::testing {
namespace {

using ::testing::HasSubstr;

// A run with every kind of content: two request types, a loop, a cache, a failure, an alert and
// a drift tracker.
std::unique_ptr<Engine> BusyEngine() {
  MonitorConfig m;
  m.window = 10;
  m.min_requests = 5;
  m.default_thresholds.error_rate = 0.05;
  m.drift.enabled = true;
  m.drift.metrics = {"h.after"};
  m.drift.baseline = 10;
  m.drift.window = 10;
  EngineOptions options;
  options.monitoring = m;
  auto e = Engine::FromString(
      "pipeline: \"expo \\\"quoted\\\"\"\nmax_in_flight: 1\nnodes:\n  - {id: f, type: fail}\n  - "
      "{id: h, type: halve}\n"
      "  - {id: up, type: upper, cache: true}\n  - {id: lvl, type: level, shape: up}\n"
      "  - {id: g, type: gather, queue: {order: priority, batch: {max_items: 4, max_delay_ms: "
      "1}}}\n"
      "edges: [f -> h -> up -> g -> lvl]\nloops:\n  - {from: lvl, to: lvl, until: \"lvl.value >= "
      "2\", max_iterations: 4, "
      "metric: lvl.value, adjust: [{node: lvl, option: level, add: 1}]}\n",
      "expo.yaml", {}, {}, options);
  EXPECT_TRUE(e.ok()) << e.status().message();
  if (!e.ok()) return nullptr;
  for (int i = 0; i < 40; ++i) {
    Request r;
    r.id = std::to_string(i);
    r.type = i % 2 ? "news" : "mail";
    r.fields["text"] = std::string(i % 10 == 3 ? "FAIL " : "") + "one two three four five six " +
                       std::to_string(i % 4);
    EXPECT_TRUE((*e)->Submit(std::move(r), [](Result&&) {}).ok());
  }
  (*e)->Drain();
  return std::move(e).value();
}

std::string Shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  return out;
}

TEST(Prometheus, ConventionalFamiliesAndLabels) {
  auto e = BusyEngine();
  ASSERT_TRUE(e);
  const std::string text = monitor::FormatPrometheus(e->Stats(), e->pipeline_name());
  for (const char* family :
       {"refinery_requests_completed_total", "refinery_node_duration_seconds",
        "refinery_cache_hits_total", "refinery_request_duration_seconds",
        "refinery_refinement_pass_duration_seconds", "refinery_refinement_iterations",
        "refinery_tokens_total", "refinery_alerts_total", "refinery_drift_active",
        "refinery_result_field_mean"}) {
    EXPECT_THAT(text, HasSubstr("# TYPE " + std::string(family) + " ")) << family;
  }
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(refinery_requests_completed_total{pipeline="expo \"quoted\"",status="error"} 4)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(refinery_tokens_total{pipeline="expo \"quoted\"",request_type="news",direction="in"} 112)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(refinery_alerts_total{pipeline="expo \"quoted\"",request_type="news",kind="threshold",rule="error_rate"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(refinery_node_duration_seconds_bucket{pipeline="expo \"quoted\"",node="up",node_type="upper",le="+Inf"} 36)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(refinery_refinement_iterations_count{pipeline="expo \"quoted\"",request_type="news"} 20)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(refinery_queue_batched_items_total{pipeline="expo \"quoted\"",node="g",node_type="gather"} 36)"));
}

TEST(Prometheus, PromtoolAcceptsTheExposition) {
  REFINERY_REQUIRE_PROGRAM("promtool", "prometheus");
  auto e = BusyEngine();
  ASSERT_TRUE(e);
  const std::string path = ScratchPath("metrics.txt");
  std::ofstream(path) << monitor::FormatPrometheus(e->Stats(), e->pipeline_name());
  const std::string out = Shell("promtool check metrics < " + path + " 2>&1; echo \"rc=$?\"");
  EXPECT_THAT(out, HasSubstr("rc=0")) << out;
  EXPECT_EQ(out, "rc=0\n") << "promtool lint findings:\n" << out;
}

TEST(MetricsServer, ServesMetricsAndHealth) {
  bool healthy = true;
  auto server = monitor::MetricsServer::Start(
      "127.0.0.1", 0, [] { return std::string("refinery_x 1\n"); }, [&] { return healthy; });
  ASSERT_TRUE(server.ok()) << server.status().message();
  httplib::Client client("127.0.0.1", (*server)->port());
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->body, "refinery_x 1\n");
  EXPECT_THAT(metrics->get_header_value("Content-Type"), HasSubstr("version=0.0.4"));
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  healthy = false;
  EXPECT_EQ(client.Get("/healthz")->status, 503);
  EXPECT_EQ(client.Get("/nope")->status, 404);
  // The same port twice: a clear error, not a crash.
  auto second = monitor::MetricsServer::Start(
      "127.0.0.1", (*server)->port(), [] { return std::string(); }, [] { return true; });
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("cannot listen on 127.0.0.1:"));
}

// A large request body is refused unread (413) and a failing page shows no exception text
// (issue 19, class 2: a 300 MB POST used to be buffered whole).
TEST(MetricsServer, BoundsRequestBodiesAndHidesFailures) {
  auto server = monitor::MetricsServer::Start(
      "127.0.0.1", 0, []() -> std::string { throw std::runtime_error("secret detail"); },
      [] { return true; });
  ASSERT_TRUE(server.ok()) << server.status().message();
  httplib::Client client("127.0.0.1", (*server)->port());
  const std::string body(8 << 20, 'x');
  auto big = client.Post("/metrics", body, "application/octet-stream");
  ASSERT_TRUE(big) << "the server answered (or closed) rather than buffering 8 MB";
  EXPECT_EQ(big->status, 413);
  auto failing = client.Get("/metrics");
  ASSERT_TRUE(failing);
  EXPECT_EQ(failing->status, 500);
  EXPECT_THAT(failing->body, ::testing::Not(HasSubstr("secret")));
  for (const auto& [name, value] : failing->headers) {
    EXPECT_THAT(value, ::testing::Not(HasSubstr("secret"))) << name;
  }
}

// The listening socket of this process bound to `port`, found among its open descriptors.
int ListeningSocketOn(int port) {
  for (int fd = 0; fd < 4096; ++fd) {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    int listening = 0;
    socklen_t flag_len = sizeof listening;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
        addr.sin_family == AF_INET && ntohs(addr.sin_port) == port &&
        ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &flag_len) == 0 && listening)
      return fd;
  }
  return -1;
}

// httplib ends its accept loop for good on an accept() error such as ENFILE or ENOBUFS; the
// endpoint listens again on the same port instead (found by the http fuzz campaign's review).
// shutdown() of the listening socket makes accept() fail with EINVAL, as those errors would.
TEST(MetricsServer, ListensAgainAfterItsAcceptLoopFails) {
  auto server = monitor::MetricsServer::Start(
      "127.0.0.1", 0, [] { return std::string("refinery_x 1\n"); }, [] { return true; });
  ASSERT_TRUE(server.ok()) << server.status().message();
  const int port = (*server)->port();
  const int fd = ListeningSocketOn(port);
  ASSERT_GE(fd, 0) << "no listening socket on port " << port;
  ASSERT_EQ(::shutdown(fd, SHUT_RDWR), 0);
  bool answered = false;
  for (int i = 0; i < 100 && !answered; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    httplib::Client client("127.0.0.1", port);
    auto health = client.Get("/healthz");
    answered = health && health->status == 200;
  }
  EXPECT_TRUE(answered) << "the endpoint did not listen again on port " << port << " within 5 s";
  server->reset();  // and it still stops promptly
}

TEST(HtmlReport, HasEverySectionAndEscapes) {
  auto e = BusyEngine();
  ASSERT_TRUE(e);
  const proto::RunReport report = BuildRunReport(e->Stats(), e->spec(), 0, 1.0, e->threads());
  const std::string html = monitor::RenderHtmlReport(report);
  for (const char* section :
       {"<h2>Graph</h2>", "Latency per node", "Throughput and tokens over time",
        "Token savings per request type", "requests by iterations", "Cache hit rates",
        "Queues and batching", "<h2>Drift</h2>", "<h2>Alerts</h2>"}) {
    EXPECT_THAT(html, HasSubstr(section)) << section;
  }
  EXPECT_THAT(html, HasSubstr("expo &quot;quoted&quot;"));  // names are escaped
  EXPECT_THAT(html, HasSubstr("class=\"loop\""));           // the loop's back edge is drawn
  EXPECT_THAT(html, ::testing::Not(HasSubstr("http")));     // self-contained: nothing fetched
}

TEST(HtmlReport, RendersInHeadlessChromium) {
  REFINERY_REQUIRE_PROGRAM("chromium", "chromium");
  auto e = BusyEngine();
  ASSERT_TRUE(e);
  const std::string path = ScratchPath("report.html");
  std::ofstream(path) << monitor::RenderHtmlReport(
      BuildRunReport(e->Stats(), e->spec(), 0, 1.0, e->threads()));
  const std::string profile = ScratchPath("chromium-profile");
  // Flags from env/machines/cpp.md: no sandbox as root, no GPU, no background network traffic.
  const std::string dom = Shell(
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync --user-data-dir=" +
      profile + " --virtual-time-budget=5000 --dump-dom file://" + path + " 2>/dev/null");
  std::system(("rm -rf " + profile).c_str());
  ASSERT_THAT(dom, HasSubstr("<body")) << "chromium printed no page";
  EXPECT_THAT(dom, HasSubstr("data-rendered=\"ok\"")) << dom.substr(
      dom.find("render-errors") == std::string::npos ? 0 : dom.find("render-errors"), 600);
  // Graph + one histogram per node (4) + 2 time lines + savings + 2 iteration charts + caches.
  EXPECT_THAT(dom, HasSubstr("data-svg-count=\"12\""));
}

}  // namespace
}  // namespace refinery::testing
