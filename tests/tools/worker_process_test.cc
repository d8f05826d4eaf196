// graph-runner work against a private RabbitMQ 3.10 (AMQP 1.0 plugin) that the ctest fixture
// `rabbitmq` starts on free loopback ports (tests/support/rabbitmq/broker.sh): results for every
// request, reply-to, dead-lettering, SIGKILL and SIGTERM mid-stream, a broker restart, and clear
// errors for bad configuration. Each test uses its own lane of queues (LANE.requests with its
// dead-letter queue LANE.dlq, LANE.results, LANE.replies), so tests may run in parallel.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <proton/scalar.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/read_file.h"
#include "tools/worker/queue_client.h"

namespace refinery::worker {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Slurp(const fs::path& p) { return refinery::testing::ReadFile(p); }

int Shell(const std::string& cmd) {
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The port of the fixture's broker; the test fails with the broker's log when there is none.
int BrokerPort(const fs::path& dir) {
  const std::string port = Slurp(dir / "amqp_port");
  return port.empty() ? 0 : std::stoi(port);
}

std::string BrokerLogTail(const fs::path& dir) {
  const std::string log = Slurp(dir / "log" / "broker.log") + Slurp(dir / "log" / "server.out");
  return log.size() > 3000 ? log.substr(log.size() - 3000) : log;
}

proton::message Request(const std::string& id, const std::string& text) {
  proton::message m;
  m.id(id);
  m.body("{\"id\":\"" + id + "\",\"text\":\"" + text + "\"}");
  m.content_type("application/json");
  m.durable(true);
  return m;
}

std::string Body(const proton::message& m) { return proton::get<std::string>(m.body()); }

class WorkerProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = fs::temp_directory_path() / ("worker-test-" + std::to_string(::getpid()) + "-" + name);
    fs::create_directories(dir_);
    port_ = BrokerPort(broker_dir_);
    ASSERT_GT(port_, 0) << "the rabbitmq test fixture did not start a broker in " << broker_dir_
                        << " (tools/setup.sh --tests installs rabbitmq-server):\n"
                        << BrokerLogTail(broker_dir_);
    client_.broker.host = "127.0.0.1";
    client_.broker.port = port_;
  }
  void TearDown() override {
    for (pid_t pid : pids_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (!getenv("KEEP_WORKER_TEST_DIR")) fs::remove_all(dir_);
  }

  std::string Url(const std::string& queue, int port = 0) const {
    return "amqp://127.0.0.1:" + std::to_string(port ? port : port_) + "/amq/queue/" + queue;
  }

  // Starts `graph-runner work PIPELINE --source LANE.requests --sink LANE.results ARGS`, stdout
  // and stderr to dir_/work-N.err; returns its pid.
  pid_t StartWorker(const std::string& lane, std::vector<std::string> args = {},
                    const std::string& pipeline = "clean-text.yaml", int port = 0) {
    const int n = started_++;
    const fs::path err = dir_ / ("work-" + std::to_string(n) + ".err");
    std::vector<std::string> all = {GRAPH_RUNNER,
                                    "work",
                                    pipelines_ + "/" + pipeline,
                                    "--source",
                                    Url(lane + ".requests", port),
                                    "--sink",
                                    Url(lane + ".results", port),
                                    "--threads",
                                    "1",
                                    "--log-level",
                                    "info"};
    all.insert(all.end(), args.begin(), args.end());
    pid_t pid = ::fork();
    if (pid == 0) {
      int out = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int in = ::open("/dev/null", O_RDONLY);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      std::vector<char*> argv;
      for (std::string& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(GRAPH_RUNNER, argv.data());
      ::_exit(99);
    }
    pids_.push_back(pid);
    return pid;
  }
  std::string WorkerLog(int n) const {
    return Slurp(dir_ / ("work-" + std::to_string(n) + ".err"));
  }

  // Waits for `pid` to exit (up to `seconds`); its exit code, or -1 when it did not.
  int WaitExit(pid_t pid, double seconds) {
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(seconds * 1000));
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pids_.erase(std::find(pids_.begin(), pids_.end(), pid));
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  // Result messages by request id (message-id), duplicates counted.
  struct Results {
    std::map<std::string, std::vector<proton::message>> by_id;
    size_t total = 0;
    size_t duplicates() const { return total - by_id.size(); }
  };
  Results CollectResults(const std::string& queue, size_t count, double timeout,
                         double quiet = 0.5) {
    StatusOr<std::vector<proton::message>> got =
        Collect(client_, "/amq/queue/" + queue, count, timeout, quiet);
    EXPECT_TRUE(got.ok()) << got.status().message();
    Results out;
    if (!got.ok()) return out;
    for (proton::message& m : *got) {
      out.by_id[proton::to_string(m.id())].push_back(m);
      ++out.total;
    }
    return out;
  }

  void PublishRequests(const std::string& lane, int from, int count, const std::string& prefix) {
    std::vector<proton::message> messages;
    for (int i = from; i < from + count; ++i)
      messages.push_back(Request(prefix + std::to_string(i),
                                 "request  number   " + std::to_string(i) + "\\n\\n\\n"));
    Status s = Publish(client_, "/amq/queue/" + lane + ".requests", messages);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  const fs::path broker_dir_ = RABBITMQ_DIR;
  const std::string pipelines_ = std::string(PROJECT_DIR) + "/pipelines";
  fs::path dir_;
  int port_ = 0;
  ClientConnection client_;
  std::vector<pid_t> pids_;
  int started_ = 0;  // workers started so far: names their logs
};

TEST_F(WorkerProcess, EveryRequestGetsItsResultAtTheSinkOrItsReplyTo) {
  PublishRequests("lane0", 0, 200, "r");
  std::vector<proton::message> with_reply;
  for (int i = 0; i < 10; ++i) {
    proton::message m = Request("reply" + std::to_string(i), "answer me");
    m.reply_to("/amq/queue/lane0.replies");
    m.correlation_id("corr-" + std::to_string(i));
    with_reply.push_back(m);
  }
  ASSERT_TRUE(Publish(client_, "/amq/queue/lane0.requests", with_reply).ok());
  StartWorker("lane0");

  Results results = CollectResults("lane0.results", 200, 60);
  ASSERT_EQ(results.by_id.size(), 200u) << WorkerLog(0);
  EXPECT_EQ(results.duplicates(), 0u);
  for (const auto& [id, messages] : results.by_id) {
    const proton::message& m = messages.front();
    EXPECT_EQ(proton::to_string(m.correlation_id()), id) << "correlation-id = request message-id";
    EXPECT_THAT(Body(m), HasSubstr("\"id\":\"" + id + "\""));
    EXPECT_THAT(Body(m), HasSubstr("\"status\":\"ok\""));
    EXPECT_EQ(m.content_type(), "application/json");
    EXPECT_TRUE(m.durable());
  }
  // The cleaned text: runs of spaces collapsed by the pipeline's normalize node.
  EXPECT_THAT(Body(results.by_id["r7"].front()), HasSubstr("request number 7"));

  Results replies = CollectResults("lane0.replies", 10, 30);
  ASSERT_EQ(replies.by_id.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    const auto& m = replies.by_id["reply" + std::to_string(i)].front();
    EXPECT_EQ(proton::to_string(m.correlation_id()), "corr-" + std::to_string(i));
  }
}

TEST_F(WorkerProcess, PoisonMessagesAreDeadLetteredWithAFailureResultAndDoNotBlockOthers) {
  std::vector<proton::message> messages;
  for (int i = 0; i < 50; ++i) {
    if (i % 10 == 3) {
      proton::message bad;
      bad.id("bad" + std::to_string(i));
      bad.body(std::string("{not json"));
      bad.durable(true);
      messages.push_back(bad);
    } else if (i % 10 == 7) {
      proton::message unknown;
      unknown.id("unknown" + std::to_string(i));
      unknown.body(std::string("{\"id\":\"unknown" + std::to_string(i) + "\",\"txet\":\"x\"}"));
      messages.push_back(unknown);
    } else {
      messages.push_back(Request("good" + std::to_string(i), "fine"));
    }
  }
  ASSERT_TRUE(Publish(client_, "/amq/queue/lane1.requests", messages).ok());
  StartWorker("lane1");

  Results results = CollectResults("lane1.results", 50, 60);
  ASSERT_EQ(results.by_id.size(), 50u) << WorkerLog(0);
  int failed = 0;
  for (const auto& [id, ms] : results.by_id) {
    const bool ok = Body(ms.front()).find("\"status\":\"ok\"") != std::string::npos;
    EXPECT_EQ(ok, id.rfind("good", 0) == 0) << id << ": " << Body(ms.front());
    if (!ok) {
      ++failed;
      EXPECT_THAT(proton::get<std::string>(ms.front().properties().get("refinery-error")),
                  HasSubstr(id.rfind("bad", 0) == 0 ? "not a valid request" : "txet"));
    }
  }
  EXPECT_EQ(failed, 10);
  // The originals are in the dead-letter queue, each once, and not redelivered to the worker.
  Results dead = CollectResults("lane1.dlq", 10, 30, 1.0);
  EXPECT_EQ(dead.by_id.size(), 10u);
  EXPECT_EQ(dead.total, 10u);
  EXPECT_TRUE(dead.by_id.count("bad3"));
  EXPECT_TRUE(dead.by_id.count("unknown7"));
}

TEST_F(WorkerProcess, SigkillMidStreamLosesNothing) {
  // 10k requests; a worker is SIGKILLed at a random point three times, then one runs to the end.
  constexpr int kRequests = 10000;
  PublishRequests("lane2", 0, kRequests, "k");
  std::mt19937 random(42);
  for (int kill = 0; kill < 3; ++kill) {
    pid_t pid = StartWorker("lane2", {"--max-in-flight", "32"});
    std::this_thread::sleep_for(std::chrono::milliseconds(700 + random() % 1500));
    ::kill(pid, SIGKILL);
    EXPECT_EQ(WaitExit(pid, 10), 128 + SIGKILL);
  }
  StartWorker("lane2", {"--max-in-flight", "32"});
  Results results = CollectResults("lane2.results", kRequests, 240, 2.0);
  EXPECT_EQ(results.by_id.size(), size_t(kRequests)) << WorkerLog(3);
  for (int i = 0; i < kRequests; ++i)
    ASSERT_TRUE(results.by_id.count("k" + std::to_string(i))) << "lost k" << i;
  // At-least-once: a kill between sending a result and accepting its request repeats it.
  std::map<size_t, int> times;  // answered N times -> how many requests
  for (const auto& [id, ms] : results.by_id) ++times[ms.size()];
  std::cout << "[ figures  ] " << kRequests << " requests, 3 SIGKILLs: " << results.total
            << " results, " << results.duplicates() << " duplicates;";
  for (const auto& [n, count] : times) std::cout << " " << count << " answered " << n << "x";
  std::cout << "\n";
  EXPECT_LE(results.duplicates(), 3u * 32u) << "at most one credit window per kill";
}

TEST_F(WorkerProcess, SigtermFinishesInFlightReleasesTheRestAndExitsZero) {
  constexpr int kRequests = 3000;
  PublishRequests("lane3", 0, kRequests, "t");
  pid_t pid = StartWorker("lane3", {"--max-in-flight", "64"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ::kill(pid, SIGTERM);
  EXPECT_EQ(WaitExit(pid, 30), 0) << WorkerLog(0);
  EXPECT_THAT(WorkerLog(0), HasSubstr("SIGTERM"));
  // Whatever it did not finish is still in the queue: a second worker answers the rest.
  StartWorker("lane3");
  Results results = CollectResults("lane3.results", kRequests, 120, 1.0);
  EXPECT_EQ(results.by_id.size(), size_t(kRequests)) << WorkerLog(1);
  EXPECT_EQ(results.duplicates(), 0u) << "a clean stop settles everything it answered";
}

TEST_F(WorkerProcess, ABrokerRestartMidStreamLosesNothing) {
  // Its own broker (the shared one must stay up for the other tests): durable quorum queues and
  // persistent messages survive the restart; the worker reconnects with backoff and goes on.
  const fs::path own = dir_ / "broker";
  ASSERT_EQ(Shell(std::string(BROKER_SH) + " start " + own.string() + " restart > " +
                  (dir_ / "broker.out").string() + " 2>&1"),
            0)
      << Slurp(dir_ / "broker.out");
  const int port = BrokerPort(own);
  ClientConnection shared = client_;
  client_.broker.port = port;
  constexpr int kRequests = 10000;
  PublishRequests("restart", 0, kRequests, "b");
  pid_t pid = StartWorker("restart", {"--reconnect-max", "2", "--max-in-flight", "16"},
                          "clean-text.yaml", port);
  // Mid-stream: the restart comes once results are flowing, so some are sent but unsettled and
  // some requests are inside the engine when the connection drops.
  Results before = CollectResults("restart.results", 300, 60, 0);
  ASSERT_EQ(before.total, 300u) << WorkerLog(0);
  ASSERT_EQ(Shell(std::string(BROKER_SH) + " restart " + own.string() + " restart > " +
                  (dir_ / "broker.out").string() + " 2>&1"),
            0)
      << Slurp(dir_ / "broker.out");
  Results results = before;
  const size_t missing = kRequests - before.by_id.size();
  Results rest = CollectResults("restart.results", missing, 180, 1.0);
  for (auto& [id, ms] : rest.by_id)
    for (auto& m : ms) results.by_id[id].push_back(m);
  results.total += rest.total;
  Shell(std::string(BROKER_SH) + " stop " + own.string());
  client_ = shared;
  EXPECT_EQ(WaitExit(pid, 0), -1) << "the worker must outlive the outage:\n" << WorkerLog(0);
  EXPECT_EQ(results.by_id.size(), size_t(kRequests)) << WorkerLog(0);
  EXPECT_THAT(WorkerLog(0), HasSubstr("connection lost"));
  size_t again = 0;  // results collected (and accepted) before the restart that came back
  for (const auto& [id, ms] : rest.by_id) again += before.by_id.count(id);
  std::cout << "[ figures  ] broker restart after " << before.total << " results: " << results.total
            << " results for " << kRequests << " requests (" << rest.total
            << " after the restart), " << results.duplicates() << " duplicates, " << again
            << " of them answers collected before the restart\n";
}

TEST_F(WorkerProcess, MetricsExportTheCountersAndTheScalingSignalWhileWorking) {
  // A worker with one request in flight in front of a backlog: its counters, the bound on
  // unsettled messages and the scaling signal are on --metrics-port while it works.
  constexpr int kRequests = 2000;
  PublishRequests("lane6", 0, kRequests, "m");
  // The settings come from a --worker-config file (the queues from the flags).
  const fs::path config = dir_ / "worker.yaml";
  std::ofstream(config) << "work:\n  max_in_flight: 1\n  metrics_port: 0\n"
                           "  scaling_interval: 0.2\n";
  StartWorker("lane6", {"--worker-config", config.string()});
  int port = 0;
  for (int tries = 0; tries < 500 && port == 0; ++tries) {
    const std::string log = WorkerLog(0);
    const size_t at = log.find("metrics: http://127.0.0.1:");
    if (at != std::string::npos && log.find("/metrics", at + 26) != std::string::npos)
      port = std::stoi(log.substr(at + 26));
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(port, 0) << WorkerLog(0);
  httplib::Client http("127.0.0.1", port);
  // The metric line's value, or NaN when absent.
  auto value = [](const std::string& text, const std::string& name) {
    const size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? std::nan("") : std::stod(text.substr(at + name.size() + 2));
  };
  double received = 0, rate = 0;
  std::string text;
  for (int tries = 0; tries < 100; ++tries) {
    auto got = http.Get("/metrics");
    ASSERT_TRUE(got) << "no answer from the worker's metrics port";
    text = got->body;
    received = value(text, "refinery_worker_received_total");
    rate = value(text, "refinery_scaling_arrival_rate");
    if (received > 0 && rate > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GT(received, 0) << text;
  EXPECT_GT(rate, 0) << "arrivals measured within a few 0.2 s intervals:\n" << text;
  EXPECT_LE(received, kRequests) << text;
  for (const char* name :
       {"refinery_worker_in_flight", "refinery_worker_connected", "refinery_scaling_arrival_rate",
        "refinery_scaling_desired_workers", "refinery_scaling_recommended_workers"})
    EXPECT_FALSE(std::isnan(value(text, name))) << name << " missing:\n" << text;
  EXPECT_EQ(value(text, "refinery_worker_connected"), 1) << text;
  EXPECT_LE(value(text, "refinery_worker_in_flight"), 1) << "--max-in-flight 1:\n" << text;
}

TEST_F(WorkerProcess, BadConfigurationIsAClearErrorNotAHang) {
  // Nothing listens: exit 2 once the start-up timeout passes.
  const int dead_port = port_ + 1 == 65536 ? port_ - 1 : port_ + 1;
  pid_t pid = StartWorker("lane4", {"--connect-timeout", "1"}, "clean-text.yaml", dead_port);
  EXPECT_EQ(WaitExit(pid, 30), 2);
  EXPECT_THAT(WorkerLog(0), HasSubstr("cannot connect"));

  // A missing source queue.
  std::vector<std::string> a = {"--connect-timeout", "5"};
  pid = StartWorker("nosuchlane", a);
  EXPECT_EQ(WaitExit(pid, 30), 2);
  EXPECT_THAT(WorkerLog(1), HasSubstr("nosuchlane"));

  // A missing sink (RabbitMQ would drop the results silently): refused before consuming.
  pids_.push_back(::fork());
  if (pids_.back() == 0) {
    const fs::path err = dir_ / "work-2.err";
    int out = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(out, 2);
    const std::string source = Url("lane4.requests"), sink = Url("missing.results");
    const std::string pipeline = pipelines_ + "/clean-text.yaml";
    ::execl(GRAPH_RUNNER, GRAPH_RUNNER, "work", pipeline.c_str(), "--source", source.c_str(),
            "--sink", sink.c_str(), nullptr);
    ::_exit(99);
  }
  EXPECT_EQ(WaitExit(pids_.back(), 30), 2);
  EXPECT_THAT(WorkerLog(2), HasSubstr("the sink"));
  EXPECT_THAT(WorkerLog(2), HasSubstr("missing.results"));

  // Wrong credentials: the user is known, the password is not.
  const std::string wrong =
      "REFINERY_AMQP_PASSWORD=wrong " + std::string(GRAPH_RUNNER) + " work " + pipelines_ +
      "/clean-text.yaml --source amqp://refinery@127.0.0.1:" + std::to_string(port_) +
      "/amq/queue/lane4.requests --sink amqp://refinery@127.0.0.1:" + std::to_string(port_) +
      "/amq/queue/lane4.results > " + (dir_ / "wrong.err").string() + " 2>&1";
  EXPECT_EQ(Shell(wrong), 2);
  EXPECT_THAT(Slurp(dir_ / "wrong.err"), HasSubstr("check the user and the password"));

  // A password in the URL is refused: it would show in ps and shell history.
  EXPECT_EQ(Shell(std::string(GRAPH_RUNNER) + " work " + pipelines_ +
                  "/clean-text.yaml --source amqp://u:p@127.0.0.1/q --sink amqp://u@127.0.0.1/r "
                  "> " +
                  (dir_ / "url.err").string() + " 2>&1"),
            2);
  EXPECT_THAT(Slurp(dir_ / "url.err"), HasSubstr("--password-env"));
}

TEST_F(WorkerProcess, ValidCredentialsWork) {
  PublishRequests("lane5", 0, 20, "c");
  const std::string cmd =
      "REFINERY_AMQP_PASSWORD=secret timeout -s TERM 8 " + std::string(GRAPH_RUNNER) + " work " +
      pipelines_ + "/clean-text.yaml --source amqp://refinery@127.0.0.1:" + std::to_string(port_) +
      "/amq/queue/lane5.requests --sink amqp://refinery@127.0.0.1:" + std::to_string(port_) +
      "/amq/queue/lane5.results > " + (dir_ / "auth.err").string() + " 2>&1 &";
  ASSERT_EQ(Shell(cmd), 0);
  Results results = CollectResults("lane5.results", 20, 30);
  EXPECT_EQ(results.by_id.size(), 20u) << Slurp(dir_ / "auth.err");
}

}  // namespace
}  // namespace refinery::worker
