// worker_bench: graph-runner work through a private RabbitMQ 3.10 (tests/support/rabbitmq/
// broker.sh: loopback, free ports, AMQP 1.0 plugin, durable quorum queues), with the broker's own
// cost measured in the same run by a pass-through consumer (receive, send a small result, accept
// once the broker confirmed it: the worker's protocol without the engine).
//
//   worker_bench [REQUESTS]   the tokenize pipeline (cl100k_base, caches off) on 4 KiB slices of
//                             ../shared/data/text/linux-doc.txt (generated text without it):
//                             1. drain REQUESTS queued requests (default 20,000): requests/s
//                                for the pass-through, 1 and 2 worker processes (1 thread
//                                each), and how the work split between the two;
//                             2. open loop at half the slowest drain rate for 10 s: p50/p99
//                                publish -> result received, same three consumers.
//   worker_bench rss [N]      one worker on clean-text with small requests, N (default
//                             1,000,000) streamed through it (at most 5,000 outstanding): its
//                             RSS at every tenth.
// Prints tables; asserts nothing (tests assert behaviour).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <proton/connection.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>
#include <proton/work_queue.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "graph/io/result_json.h"
#include "tools/worker/queue_client.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using refinery::worker::ClientConnection;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Shell(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }

// The private broker, stopped when the bench ends.
struct Broker {
  fs::path dir;
  int port = 0;
  ~Broker() {
    if (port) Shell(std::string(BROKER_SH) + " stop " + dir.string());
  }
};

std::string Url(int port, const std::string& queue) {
  return "amqp://127.0.0.1:" + std::to_string(port) + "/amq/queue/" + queue;
}

proton::message RequestMessage(const std::string& id, const std::string& text) {
  std::string body = "{\"id\":";
  refinery::AppendJsonString(id, &body);
  body += ",\"text\":";
  refinery::AppendJsonString(text, &body);
  body += "}";
  proton::message m;
  m.id(id);
  m.body(body);
  m.content_type("application/json");
  m.durable(true);
  return m;
}

// 4 KiB slices (whole UTF-8 characters) of the benchmark text, or generated text without it.
std::vector<std::string> Texts(size_t count) {
  std::string text = Slurp("../shared/data/text/linux-doc.txt");
  if (text.empty()) {
    std::fprintf(stderr, "worker_bench: ../shared absent: generated text instead of linux-doc\n");
    for (int i = 0; text.size() < (1 << 20); ++i)
      text += "Sentence number " + std::to_string(i) + " says something about queues. ";
  }
  std::vector<std::string> out;
  size_t pos = 0;
  while (out.size() < count) {
    if (pos >= text.size()) pos = 0;
    size_t end = std::min(pos + 4096, text.size());
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    out.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

// A consumer without the engine: each request gets a small result at the sink and is accepted
// once the broker confirmed the result, as the worker does.
class PassThrough : public proton::messaging_handler {
 public:
  PassThrough(int port, const std::string& lane) : port_(port), lane_(lane) {}
  void Stop() { stop_ = true; }
  size_t answered() const { return answered_; }

  void on_container_start(proton::container& c) override {
    container_ = &c;
    c.connect("amqp://127.0.0.1:" + std::to_string(port_));
    Tick();
  }
  void on_connection_open(proton::connection& c) override {
    connection_ = c;
    sender_ = c.open_sender("/amq/queue/" + lane_ + ".results");
    receiver_ = c.open_receiver("/amq/queue/" + lane_ + ".requests",
                                proton::receiver_options().credit_window(0).auto_accept(false));
  }
  void on_receiver_open(proton::receiver& r) override { r.add_credit(kCredit); }
  void on_message(proton::delivery& d, proton::message& m) override {
    proton::message result;
    result.id(m.id());
    result.correlation_id(m.id());
    result.body("{\"id\":\"" + proton::to_string(m.id()) + "\",\"ok\":true}");
    result.durable(true);
    pending_[sender_.send(result)] = d;
  }
  void on_tracker_accept(proton::tracker& t) override {
    auto it = pending_.find(t);
    if (it == pending_.end()) return;
    it->second.accept();
    pending_.erase(it);
    ++answered_;
    // Credit as the worker grants it: in batches, once the last grant is used up (RabbitMQ 3.10
    // restarts its count at every flow frame: per-message top-ups over-deliver).
    if (receiver_.credit() == 0 && int(pending_.size()) <= kCredit / 2)
      receiver_.add_credit(kCredit - int(pending_.size()));
  }
  void on_transport_close(proton::transport&) override { closed_ = true; }

 private:
  void Tick() {
    if (closed_) {
      container_->stop();
      return;
    }
    if (stop_ && connection_ && connection_.active() && pending_.empty()) connection_.close();
    container_->schedule(proton::duration(50), [this] { Tick(); });
  }
  static constexpr int kCredit = 64;  // the workers' --max-in-flight
  int port_;
  std::string lane_;
  proton::container* container_ = nullptr;
  proton::connection connection_;
  proton::sender sender_;
  proton::receiver receiver_;
  std::map<proton::tracker, proton::delivery> pending_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> answered_{0};
  bool closed_ = false;
};

// The consumers under test: the pass-through (in a thread) or K graph-runner work processes.
class Consumers {
 public:
  Consumers(int port, const std::string& lane, const std::string& pipeline, int workers)
      : port_(port), lane_(lane) {
    if (workers == 0) {
      pass_ = std::make_unique<PassThrough>(port, lane);
      thread_ = std::thread([this] {
        proton::container c(*pass_);
        c.run();
      });
      return;
    }
    for (int i = 0; i < workers; ++i) {
      const std::string log = "/tmp/worker-bench-" + std::to_string(::getpid()) + "-" + lane + "-" +
                              std::to_string(i) + ".err";
      logs_.push_back(log);
      pid_t pid = ::fork();
      if (pid == 0) {
        if (!std::freopen(log.c_str(), "w", stderr)) ::_exit(98);
        ::execl(GRAPH_RUNNER, GRAPH_RUNNER, "work", pipeline.c_str(), "--source",
                Url(port, lane + ".requests").c_str(), "--sink",
                Url(port, lane + ".results").c_str(), "--threads", "1", "--max-in-flight", "64",
                "--log-level", "warn", static_cast<char*>(nullptr));
        ::_exit(99);
      }
      pids_.push_back(pid);
    }
  }
  pid_t pid(size_t i) const { return pids_[i]; }

  // Stops them; how many requests each answered.
  std::vector<size_t> Stop() {
    std::vector<size_t> answered;
    if (pass_) {
      pass_->Stop();
      thread_.join();
      answered.push_back(pass_->answered());
      return answered;
    }
    for (pid_t pid : pids_) ::kill(pid, SIGTERM);
    for (size_t i = 0; i < pids_.size(); ++i) {
      ::waitpid(pids_[i], nullptr, 0);
      // "worker: R received, A answered, ..." is the last line of its log.
      const std::string log = Slurp(logs_[i]);
      const size_t at = log.rfind("received, ");
      answered.push_back(at == std::string::npos ? 0 : std::stoul(log.substr(at + 10)));
      fs::remove(logs_[i]);
    }
    return answered;
  }

 private:
  int port_;
  std::string lane_;
  std::unique_ptr<PassThrough> pass_;
  std::thread thread_;
  std::vector<pid_t> pids_;
  std::vector<std::string> logs_;
};

// Publishes `total` requests at `rate`/s (0: as fast as the broker takes them) with at most
// `max_outstanding` unanswered, and receives their results: latency per request, publish ->
// result received.
class Load : public proton::messaging_handler {
 public:
  Load(int port, const std::string& lane, std::function<proton::message(size_t)> make, size_t total,
       double rate, size_t max_outstanding)
      : port_(port),
        lane_(lane),
        make_(std::move(make)),
        total_(total),
        rate_(rate),
        max_outstanding_(max_outstanding),
        sent_at_(total),
        latency_(total, -1) {}

  std::function<void(size_t received)> on_progress;
  const std::vector<double>& latency() const { return latency_; }
  double seconds() const { return Seconds(last_ - first_); }

  void on_container_start(proton::container& c) override {
    container_ = &c;
    c.connect("amqp://127.0.0.1:" + std::to_string(port_));
  }
  void on_connection_open(proton::connection& c) override {
    connection_ = c;
    c.open_receiver("/amq/queue/" + lane_ + ".results",
                    proton::receiver_options().credit_window(1000));
    sender_ = c.open_sender("/amq/queue/" + lane_ + ".requests");
    start_ = Clock::now();
    Tick();
  }
  void on_sendable(proton::sender&) override { Send(); }
  void on_message(proton::delivery&, proton::message& m) override {
    const size_t i = std::stoul(proton::to_string(m.id()).substr(1));
    if (i >= total_ || latency_[i] >= 0) return;  // a duplicate
    const auto now = Clock::now();
    if (received_ == 0) first_ = now;
    last_ = now;
    latency_[i] = Seconds(now - sent_at_[i]) * 1e3;
    ++received_;
    if (on_progress) on_progress(received_);
    if (received_ == total_) connection_.close();
    Send();
  }
  void on_transport_close(proton::transport&) override { done_ = true; }

 private:
  void Send() {
    const size_t due =
        rate_ > 0 ? std::min(total_, size_t(Seconds(Clock::now() - start_) * rate_) + 1) : total_;
    while (sent_ < due && sender_.credit() > 0 && sent_ - received_ < max_outstanding_) {
      sent_at_[sent_] = Clock::now();
      sender_.send(make_(sent_));
      ++sent_;
    }
  }
  void Tick() {
    if (done_) {
      container_->stop();
      return;
    }
    Send();
    container_->schedule(proton::duration(1), [this] { Tick(); });
  }
  int port_;
  std::string lane_;
  std::function<proton::message(size_t)> make_;
  size_t total_;
  double rate_;
  size_t max_outstanding_;
  std::vector<Clock::time_point> sent_at_;
  std::vector<double> latency_;
  size_t sent_ = 0, received_ = 0;
  bool done_ = false;
  proton::container* container_ = nullptr;
  proton::connection connection_;
  proton::sender sender_;
  Clock::time_point start_, first_, last_;
};

double Percentile(std::vector<double> v, double p) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return x < 0; }), v.end());
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

const char* Name(int workers) {
  return workers == 0 ? "pass-through (broker only)" : workers == 1 ? "1 worker" : "2 workers";
}

int Throughput(const Broker& broker, size_t requests) {
  const std::vector<std::string> texts = Texts(requests);
  const std::string pipeline = "/tmp/worker-bench-" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(pipeline) << "pipeline: tokenize\nmax_in_flight: 256\nnodes:\n"
                             "  - {id: t, type: tokenize, encoding: cl100k_base, fields: [text], "
                             "ids: false, cache: false}\n";
  ClientConnection client;
  client.broker.host = "127.0.0.1";
  client.broker.port = broker.port;
  auto make = [&](const std::string& prefix) {
    return [&texts, prefix](size_t i) {
      return RequestMessage(prefix + std::to_string(i), texts[i % texts.size()]);
    };
  };

  std::printf(
      "1. drain %zu queued requests (4 KiB, tokenize cl100k_base, caches off, 1 thread "
      "per worker)\n",
      requests);
  std::printf("| consumer | requests/s | split |\n|---|---:|---|\n");
  std::map<int, double> rate;
  int lane = 0;
  for (int workers : {0, 1, 2}) {
    const std::string name = "lane" + std::to_string(lane++);
    std::vector<proton::message> messages;
    for (size_t i = 0; i < requests; ++i) messages.push_back(make("r")(i));
    if (refinery::Status s =
            refinery::worker::Publish(client, "/amq/queue/" + name + ".requests", messages, 600);
        !s.ok()) {
      std::fprintf(stderr, "worker_bench: publish: %s\n", s.message().c_str());
      return 1;
    }
    messages.clear();
    // Results are counted by a Load that sends nothing (all were published above).
    Load count(broker.port, name, make("r"), requests, 0, 0);
    Consumers consumers(broker.port, name, pipeline, workers);
    proton::container c(count);
    c.run();
    std::vector<size_t> split = consumers.Stop();
    rate[workers] = double(requests) / count.seconds();
    std::string split_text;
    for (size_t n : split) split_text += (split_text.empty() ? "" : " / ") + std::to_string(n);
    std::printf("| %s | %.0f | %s |\n", Name(workers), rate[workers], split_text.c_str());
  }
  std::printf(
      "worker overhead: 1 worker = %.1f%% of the pass-through's rate; 2 workers = %.2fx "
      "one\n\n",
      100 * rate[1] / rate[0], rate[2] / rate[1]);

  // Half the slowest consumer's drain rate: the publisher, the broker and the consumers share
  // the machine, so a load near one consumer's capacity measures the CPU contention instead.
  const double load = 0.5 * std::min({rate[0], rate[1], rate[2]});
  const size_t n = size_t(load * 10);
  std::printf(
      "2. open loop at %.0f requests/s (half the slowest drain rate) for 10 s: publish "
      "-> result received\n",
      load);
  std::printf("| consumer | p50 ms | p99 ms |\n|---|---:|---:|\n");
  for (int workers : {0, 1, 2}) {
    const std::string name = "lane" + std::to_string(lane++);
    Consumers consumers(broker.port, name, pipeline, workers);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // attached before the load
    Load timed(broker.port, name, make("r"), n, load, n);
    proton::container c(timed);
    c.run();
    consumers.Stop();
    std::printf("| %s | %.2f | %.2f |\n", Name(workers), Percentile(timed.latency(), 0.5),
                Percentile(timed.latency(), 0.99));
  }
  fs::remove(pipeline);
  return 0;
}

long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

int Rss(const Broker& broker, size_t total) {
  const std::string pipeline = std::string(PROJECT_DIR) + "/pipelines/clean-text.yaml";
  Consumers consumers(broker.port, "lane15", pipeline, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto make = [](size_t i) {
    return RequestMessage("r" + std::to_string(i),
                          "request  number   " + std::to_string(i) + " with  some   spacing\n\n");
  };
  Load load(broker.port, "lane15", make, total, 0, 5000);
  std::printf(
      "one worker (clean-text, 1 thread), %zu requests streamed, at most 5,000 "
      "outstanding\n| requests answered | worker RSS MB |\n|---:|---:|\n",
      total);
  std::printf("| 0 | %.1f |\n", RssKb(consumers.pid(0)) / 1024.0);
  load.on_progress = [&](size_t received) {
    if (received % (total / 10) == 0)
      std::printf("| %zu | %.1f |\n", received, RssKb(consumers.pid(0)) / 1024.0);
  };
  proton::container c(load);
  c.run();
  consumers.Stop();
  std::printf("%.0f requests/s\n", double(total) / load.seconds());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  Broker broker;
  broker.dir = fs::temp_directory_path() / ("worker-bench-broker-" + std::to_string(::getpid()));
  if (!Shell(std::string(BROKER_SH) + " start " + broker.dir.string())) return 1;
  broker.port = std::stoi(Slurp(broker.dir / "amqp_port"));
  if (mode == "rss") return Rss(broker, argc > 2 ? std::stoul(argv[2]) : 1000000);
  return Throughput(broker, argc > 1 ? std::stoul(argv[1]) : 20000);
}
