// serve_bench: the gRPC service (graph-runner serve) against the in-process engine on the same
// pipeline, in one run, server and client in this process over loopback (2 cores shared).
//
//   serve_bench overhead   p50/p99 per request, one at a time: Engine::Submit vs unary Run, on
//                          a normalize -> measure chain with tiny requests and on a tokenize
//                          pipeline with 4 KiB requests.
//   serve_bench stream [tiny|tokenize]
//                          throughput: Engine::Run (pull) vs one stream of the C++ client
//                          (RunBatches), 64 requests per message and one per message.
//   serve_bench load       open loop at 50%, 90% and 120% of the measured stream capacity on a
//                          pipeline with a priority queue, 5% of requests high priority:
//                          p50/p99 per priority; all on one stream, then the high-priority
//                          requests on a stream of their own.
//   serve_bench codec      the stream's message conversions alone, per request (see Stream).
//   serve_bench rss [N]    RSS while N (default 1,000,000) requests stream through the server.
// Prints tables; asserts nothing (tests assert behaviour).
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "graph/engine.h"
#include "graph/io/json_io.h"
#include "tools/service/client.h"
#include "tools/service/server.h"

namespace {

using namespace refinery;
using Clock = std::chrono::steady_clock;

constexpr const char* kChain =
    "pipeline: chain\nmax_in_flight: 256\nnodes:\n  - {id: n, type: normalize}\n"
    "  - {id: m, type: measure}\nedges: [n -> m]\n";
constexpr const char* kTokenize =
    "pipeline: tokenize\nmax_in_flight: 256\nnodes:\n"
    "  - {id: t, type: tokenize, encoding: cl100k_base, fields: [text], ids: false, cache: "
    "false}\n";
// A node that takes 200 us per request, one at a time, behind a priority queue.
constexpr const char* kQueued =
    "pipeline: queued\nmax_in_flight: 256\nnodes:\n"
    "  - {id: d, type: delay, micros: 200, mode: spin, concurrency: 1, queue: {order: priority}}\n";

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = "/tmp/serve-bench-" + std::to_string(::getpid()) + "-" + name + ".yaml";
  std::ofstream(path) << text;
  return path;
}

std::unique_ptr<service::Server> Serve(const std::vector<std::string>& files) {
  service::ServeOptions o;
  o.pipelines = files;
  o.listen = "127.0.0.1:0";
  o.stream_in_flight = 256;
  auto s = service::Server::Start(o);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.status().message().c_str());
    std::exit(2);
  }
  return std::move(s).value();
}

std::unique_ptr<client::Client> Connect(const service::Server& s) {
  return std::move(client::Client::Connect({.target = s.address()})).value();
}

Request Req(int64_t i, const std::string& text) {
  Request r;
  r.id = std::to_string(i);
  r.fields["text"] = text;
  return r;
}

std::string Text4K(int64_t i) {
  std::string t;
  while (t.size() < 4096) t += "Request " + std::to_string(i) + " asks the model to refine this. ";
  return t.substr(0, 4096);
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(q * double(v.size())))];
}

// The floor gRPC itself sets on this machine: a unary call to the server's built-in health
// service (no engine, an empty request), p50 and p99 in microseconds.
std::pair<double, double> BareGrpcCall(const service::Server& server) {
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  std::vector<double> us;
  for (int i = 0; i < 3000; ++i) {
    grpc::ClientContext context;
    grpc::ByteBuffer request, response;  // empty HealthCheckRequest: the overall status
    grpc::Slice empty("");
    request = grpc::ByteBuffer(&empty, 1);
    std::promise<grpc::Status> done;
    const auto t0 = Clock::now();
    stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                   &response, [&](grpc::Status s) { done.set_value(s); });
    done.get_future().get();
    if (i >= 300)
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  return {Quantile(us, 0.5), Quantile(us, 0.99)};
}

void Overhead() {
  std::printf(
      "one request at a time (us)          p50 engine  p50 gRPC  overhead   p99 engine  p99 "
      "gRPC\n");
  for (const auto& [yaml, tiny] : {std::pair{kChain, true}, std::pair{kTokenize, false}}) {
    const std::string file = WriteTemp(tiny ? "chain" : "tokenize", yaml);
    auto engine = Engine::FromFile(file);
    if (!engine.ok()) {
      std::fprintf(stderr, "%s\n", engine.status().message().c_str());
      std::exit(2);
    }
    auto server = Serve({file});
    auto c = Connect(*server);
    const std::string name = (*engine)->pipeline_name();
    std::vector<double> in_process, over_grpc;
    // Interleaved rounds, so drift (frequency, other load) hits both sides alike.
    for (int round = 0; round < 10; ++round) {
      for (int i = 0; i < 300; ++i) {
        Request r = Req(i, tiny ? "a  b" : Text4K(i));
        auto t0 = Clock::now();
        (*engine)->Submit(r).get();
        auto t1 = Clock::now();
        (void)c->Run(name, r);
        auto t2 = Clock::now();
        if (round == 0) continue;  // warm-up
        in_process.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        over_grpc.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
      }
    }
    const double e50 = Quantile(in_process, 0.5), g50 = Quantile(over_grpc, 0.5);
    std::printf("%-36s %10.1f %9.1f %9.1f %12.1f %9.1f\n",
                tiny ? "normalize -> measure, tiny" : "tokenize cl100k, 4 KiB", e50, g50, g50 - e50,
                Quantile(in_process, 0.99), Quantile(over_grpc, 0.99));
    if (!tiny) {
      const auto [p50, p99] = BareGrpcCall(*server);
      std::printf("%-36s %10s %9.1f %9s %12s %9.1f\n", "bare gRPC unary (health Check)", "-", p50,
                  "-", "-", p99);
    }
  }
}

// The stream's message work alone, on one thread, in microseconds per request: the client's
// request conversion and serialisation, the server's parse and conversion, and the same for the
// result back. With E = 2 cores / in-process rate, a stream cannot pass E / (E + codec) of the
// in-process rate on the same 2 cores, before any transport cost.
double CodecMicros(Engine& engine, const std::vector<std::string>& texts) {
  Result sample = engine.Submit(Req(0, texts[0])).get();
  const auto c0 = Clock::now();
  constexpr int kCodec = 20000;
  for (int i = 0; i < kCodec; ++i) {
    v1::RunBatch batch;
    *batch.add_requests()->mutable_request() = RequestToProto(Req(i, texts[size_t(i % 64)]));
    v1::RunBatch parsed;
    parsed.ParseFromString(batch.SerializeAsString());
    (void)RequestFromProto(std::move(*parsed.mutable_requests(0)->mutable_request()), i);
    v1::ResultBatch results;
    *results.add_results() = ResultToProto(sample);
    v1::ResultBatch back;
    back.ParseFromString(results.SerializeAsString());
    (void)ResultFromProto(back.results(0));
  }
  return std::chrono::duration<double, std::micro>(Clock::now() - c0).count() / kCodec;
}

void Stream(const std::string& only) {
  std::printf(
      "throughput (requests/s)             in-process  64/message  ratio  1/message  ratio\n");
  for (const auto& [yaml, tiny] : {std::pair{kChain, true}, std::pair{kTokenize, false}}) {
    if (!only.empty() && only != (tiny ? "tiny" : "tokenize")) continue;
    const std::string file = WriteTemp(tiny ? "chain" : "tokenize", yaml);
    auto engine = std::move(Engine::FromFile(file)).value();
    auto server = Serve({file});
    auto c = Connect(*server);
    const int64_t n = tiny ? 200000 : 20000;
    std::vector<std::string> texts;
    for (int64_t i = 0; i < 64; ++i) texts.push_back(tiny ? "a  b c" : Text4K(i));
    auto source = [&](int64_t* k) {
      return [&, k](Request* r) {
        if (*k == n) return false;
        *r = Req(*k, texts[size_t(*k % 64)]);
        ++*k;
        return true;
      };
    };
    auto rate = [n](Clock::time_point from, Clock::time_point to) {
      return double(n) / std::chrono::duration<double>(to - from).count();
    };
    double best_engine = 0, best_batched = 0, best_single = 0, best_push = 0;
    for (int round = 0; round < 3; ++round) {
      int64_t k = 0;
      auto t0 = Clock::now();
      (void)engine->Run(source(&k), [](Result&&) {});
      auto t1 = Clock::now();
      best_engine = std::max(best_engine, rate(t0, t1));
      // Push mode in process, as the server feeds the engine: Submit per request, one thread.
      std::atomic<int64_t> done{0};
      Request r;
      k = 0;
      for (auto next = source(&k); next(&r);)
        (void)engine->Submit(std::move(r), [&](Result&&) { done.fetch_add(1); });
      engine->Drain();
      best_push = std::max(best_push, rate(t1, Clock::now()));
      t1 = Clock::now();
      k = 0;
      (void)c->Stream(engine->pipeline_name(), source(&k), [](Result&&) {});
      auto t2 = Clock::now();
      k = 0;
      client::StreamOptions single;
      single.batch = 1;
      (void)c->Stream(
          engine->pipeline_name(), source(&k), [](Result&&) {}, single);
      auto t3 = Clock::now();
      best_batched = std::max(best_batched, rate(t1, t2));
      best_single = std::max(best_single, rate(t2, t3));
    }
    const double codec_us = CodecMicros(*engine, texts);
    const double engine_us = 2e6 / best_engine;
    std::printf("%-36s %10.0f %11.0f %5.0f%% %10.0f %5.0f%%  codec %.2f us: at most %.0f%%\n",
                tiny ? "normalize -> measure, tiny" : "tokenize cl100k, 4 KiB", best_engine,
                best_batched, 100 * best_batched / best_engine, best_single,
                100 * best_single / best_engine, codec_us,
                100 * engine_us / (engine_us + codec_us));
    std::printf("%-36s %10.0f (Engine::Submit per request, as the server feeds it)\n", "",
                best_push);
  }
}

// Open-loop load on `c`: request k is due at k / rate seconds; every 20th is high priority.
// With `split`, high-priority requests go on a stream of their own (what docs/serving.md tells a
// client that needs priority under overload to do); otherwise all share one stream.
struct LoadResult {
  std::vector<double> low, high;  // ms from send to result
  int64_t late = 0;               // requests sent more than 1 ms after their due time
};
LoadResult OpenLoop(client::Client& c, double rate, int64_t n, bool split) {
  LoadResult out;
  std::vector<Clock::time_point> sent(static_cast<size_t>(n));
  std::mutex mu;
  std::atomic<int64_t> late{0};
  const auto start = Clock::now();
  auto high = [](int64_t k) { return k % 20 == 0; };
  // Sends the requests `mine` accepts, in order, each at its due time.
  auto run = [&](const std::function<bool(int64_t)>& mine) {
    int64_t k = 0;
    client::StreamOptions paced;
    paced.batch = 1;  // the source waits for each request's due time: send each at once
    (void)c.Stream(
        "queued",
        [&](Request* r) {
          while (k < n && !mine(k)) ++k;
          if (k == n) return false;
          const auto due = start + std::chrono::nanoseconds(int64_t(double(k) * 1e9 / rate));
          if (Clock::now() > due + std::chrono::milliseconds(1)) late.fetch_add(1);
          std::this_thread::sleep_until(due);
          *r = Req(k, "x");
          r->priority = high(k) ? 10 : 0;
          sent[size_t(k)] = Clock::now();
          ++k;
          return true;
        },
        [&](Result&& r) {
          const int64_t i = std::stoll(r.id);
          const double ms =
              std::chrono::duration<double, std::milli>(Clock::now() - sent[size_t(i)]).count();
          std::lock_guard lock(mu);
          (high(i) ? out.high : out.low).push_back(ms);
        },
        paced);
  };
  if (split) {
    std::thread urgent([&] { run(high); });
    run([&](int64_t k) { return !high(k); });
    urgent.join();
  } else {
    run([](int64_t) { return true; });
  }
  out.late = late.load();
  return out;
}

void Load() {
  auto server = Serve({WriteTemp("queued", kQueued)});
  auto c = Connect(*server);
  const double capacity = 1e6 / 200;  // one request per 200 us of spinning
  std::printf(
      "open loop, 5%% high priority          rate/s   p50 low ms  p99 low ms  p50 high ms  p99 "
      "high ms  late sends\n");
  for (bool split : {false, true}) {
    for (double load : {0.5, 0.9, 1.2}) {
      const double rate = capacity * load;
      LoadResult r = OpenLoop(*c, rate, int64_t(rate * 3), split);  // three seconds
      std::printf("%3.0f%% of capacity, %-14s %8.0f %11.2f %11.2f %12.2f %12.2f %11lld\n",
                  load * 100, split ? "high apart" : "one stream", rate, Quantile(r.low, 0.5),
                  Quantile(r.low, 0.99), Quantile(r.high, 0.5), Quantile(r.high, 0.99),
                  (long long)r.late);
    }
  }
}

long RssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

void Rss(int64_t n) {
  auto server = Serve({WriteTemp("chain", kChain)});
  auto c = Connect(*server);
  std::printf("RSS while %lld requests stream through the server (KiB)\n", (long long)n);
  int64_t k = 0;
  long warm = 0, peak = 0;
  const auto start = Clock::now();
  (void)c->Stream(
      "chain",
      [&](Request* r) {
        if (k == n) return false;
        *r = Req(k, "some text  to normalize " + std::to_string(k));
        if (++k % (n / 10) == 0) {
          const long rss = RssKib();
          if (k == n / 10) warm = rss;
          peak = std::max(peak, rss);
          std::printf("  after %8lld: %ld\n", (long long)k, rss);
        }
        return true;
      },
      [](Result&&) {});
  std::printf("after warm-up (10%%): %ld KiB, peak: %ld KiB, growth %.1f%%, %.0f requests/s\n",
              warm, peak, 100.0 * double(peak - warm) / double(warm),
              double(n) / std::chrono::duration<double>(Clock::now() - start).count());
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  const std::string what = argc > 1 ? argv[1] : "";
  if (what == "overhead")
    Overhead();
  else if (what == "stream")
    Stream(argc > 2 ? argv[2] : "");
  else if (what == "codec") {
    for (const auto& [yaml, tiny] : {std::pair{kChain, true}, std::pair{kTokenize, false}}) {
      auto engine = std::move(Engine::FromFile(WriteTemp("codec", yaml))).value();
      std::vector<std::string> texts;
      for (int64_t i = 0; i < 64; ++i) texts.push_back(tiny ? "a  b c" : Text4K(i));
      std::printf("%s: codec %.2f us per request\n", tiny ? "tiny" : "4 KiB",
                  CodecMicros(*engine, texts));
    }
  } else if (what == "load")
    Load();
  else if (what == "rss")
    Rss(argc > 2 ? std::atoll(argv[2]) : 1000000);
  else {
    std::fprintf(stderr, "usage: serve_bench overhead|stream|codec|load|rss [N]\n");
    return 2;
  }
  return 0;
}
