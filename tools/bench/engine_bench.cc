// engine_bench: measures the engine against the peers the issue names, in one run.
//
//   engine_bench chain   YAML-compiled 5-node chain vs the same graph hand-written with
//                        tbb::flow (input_node -> limiter -> 5 function_nodes -> decrement),
//                        same node bodies (the `delay` node, spinning), 1 us and 20 us bodies,
//                        1 and 2 threads.
//   engine_bench overhead [hand|compiled]
//                        per-item cost of the framework alone (empty bodies).
//   engine_bench cache   a workload where 90% of requests repeat, cache on vs off.
//   engine_bench monitor throughput with the monitor off, on (default) and fully configured.
//   engine_bench scrape  the refine pipeline (caches off, 2 threads) over 3,000 copies of
//                        pipelines/samples/documents.jsonl: throughput without scrapes and with
//                        a Prometheus scrape every 100 ms, full Stats (bootstrap intervals, as
//                        scrapes did) vs Stats(kLive), best of 5 interleaved; CPU per scrape
//                        early and late in the run.
//                        Run from the project root.
//   engine_bench rss GRAPH_RUNNER
//                        peak RSS of graph-runner streaming 10,000 and 1,000,000 requests into
//                        a pipeline whose last node is slow.
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "graph/engine.h"
#include "graph/io/json_io.h"
#include "graph/monitor/views/prometheus.h"
#include "graph/registry.h"
#include "graph/runtime/tracked_item.h"

namespace {

using namespace refinery;
using Seconds = std::chrono::duration<double>;

std::string ChainYaml(int micros, bool cache) {
  std::string y = "pipeline: bench-chain\nmax_in_flight: 64\nnodes:\n";
  for (int i = 0; i < 5; ++i) {
    y += "  - {id: n" + std::to_string(i) +
         ", type: delay, mode: spin, micros: " + std::to_string(micros) + "}\n";
  }
  (void)cache;
  return y;
}

const char* const kTypes[] = {"news", "mail", "chat", "docs"};

// pull = Engine::Run (how graph-runner streams); push = Engine::Submit from this thread (how a
// service submits).
double RunCompiled(int micros, int threads, int n, bool pull = true,
                   const MonitorConfig& monitoring = {}) {
  auto engine = Engine::FromString(ChainYaml(micros, false), "bench", {}, {},
                                   {.threads = threads, .monitoring = monitoring})
                    .value();
  std::atomic<int> done{0};
  auto count = [&](Result&&) { done.fetch_add(1, std::memory_order_relaxed); };
  auto t0 = std::chrono::steady_clock::now();
  int next = 0;
  auto fill = [&](Request* r) {
    if (next >= n) return false;
    r->type = kTypes[next % 4];
    r->id = std::to_string(next++);
    r->fields["text"] = std::string("x");
    return true;
  };
  if (pull) {
    engine->Run(fill, count);
  } else {
    Request r;
    while (fill(&r)) {
      engine->Submit(std::move(r), count);
      r = Request{};
    }
    engine->Drain();
  }
  double secs = Seconds(std::chrono::steady_clock::now() - t0).count();
  if (done.load() != n) std::fprintf(stderr, "compiled: lost results!\n");
  return n / secs;
}

// The same graph written by hand, the way docs/architecture.md (oneTBB facts) describes for a
// bounded stream.
double RunHandWritten(int micros, int threads, int n) {
  namespace flow = tbb::flow;
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, threads);
  // Same node bodies: the registered `delay` node, instantiated through its factory.
  const NodeContract* delay = NodeRegistry::Global().Find("delay");
  OptionValues options;
  options.Set("micros", int64_t(micros));
  options.Set("mode", std::string("spin"));
  std::vector<std::unique_ptr<Node>> bodies;
  for (int i = 0; i < 5; ++i) {
    bodies.push_back(std::move(delay->factory(NodeConfig{"n", "delay", options, "."})).value());
  }
  flow::graph g;
  int next = 0;
  flow::input_node<ItemPtr> source(g, [&](tbb::flow_control& fc) -> ItemPtr {
    if (next >= n) {
      fc.stop();
      return nullptr;
    }
    auto item = std::make_shared<TrackedItem>(std::to_string(next), "", 0, next);
    item->set_text("text", "x");
    ++next;
    return item;
  });
  flow::limiter_node<ItemPtr, int> limiter(g, 64);
  std::vector<std::unique_ptr<flow::function_node<ItemPtr, ItemPtr>>> stages;
  for (int i = 0; i < 5; ++i) {
    Node* body = bodies[i].get();
    stages.push_back(std::make_unique<flow::function_node<ItemPtr, ItemPtr>>(
        g, flow::unlimited, [body](const ItemPtr& item) {
          body->Process(*item);
          return item;
        }));
  }
  std::atomic<int> done{0};
  flow::function_node<ItemPtr, int> sink(g, flow::unlimited, [&](const ItemPtr&) {
    done.fetch_add(1, std::memory_order_relaxed);
    return 1;
  });
  flow::make_edge(source, limiter);
  flow::make_edge(limiter, *stages[0]);
  for (int i = 0; i + 1 < 5; ++i) flow::make_edge(*stages[i], *stages[i + 1]);
  flow::make_edge(*stages[4], sink);
  flow::make_edge(sink, limiter.decrementer());
  auto t0 = std::chrono::steady_clock::now();
  source.activate();
  g.wait_for_all();
  double secs = Seconds(std::chrono::steady_clock::now() - t0).count();
  if (done.load() != n) std::fprintf(stderr, "hand-written: lost results!\n");
  return n / secs;
}

double BestOf(int reps, auto&& f) {
  double best = 0;
  for (int i = 0; i < reps; ++i) best = std::max(best, f());
  return best;
}

int Chain() {
  std::printf(
      "5-node chain, items/s (best of 5, interleaved); compiled = Engine::Run (pull), "
      "submit = Engine::Submit (push)\n");
  std::printf("%-6s %-8s %13s %13s %7s %13s %7s\n", "body", "threads", "hand-written", "compiled",
              "ratio", "submit", "ratio");
  for (int micros : {1, 20}) {
    double compiled_1 = 0;
    for (int threads : {1, 2}) {
      const int n = micros == 1 ? 200'000 : 20'000;
      // Interleaved, best of 5 each: this kind of VM drifts by several percent between runs.
      double hand = 0, compiled = 0, pushed = 0;
      for (int rep = 0; rep < 5; ++rep) {
        hand = std::max(hand, RunHandWritten(micros, threads, n));
        compiled = std::max(compiled, RunCompiled(micros, threads, n, true));
        pushed = std::max(pushed, RunCompiled(micros, threads, n, false));
      }
      if (threads == 1) compiled_1 = compiled;
      std::printf("%-6s %-8d %13.0f %13.0f %7.3f %13.0f %7.3f",
                  (std::to_string(micros) + "us").c_str(), threads, hand, compiled, compiled / hand,
                  pushed, pushed / hand);
      if (threads == 2) std::printf("   compiled 2-thread speedup %.2fx", compiled / compiled_1);
      std::printf("\n");
    }
  }
  return 0;
}

// Per-item engine overhead: empty bodies, so only the framework's cost remains.
int Overhead(const std::string& which) {
  const int n = 500'000;
  std::printf("5-node chain with empty bodies, 1 thread, ns per item\n");
  if (which != "compiled") {
    std::printf("hand-written %8.0f\n", 1e9 / BestOf(3, [&] { return RunHandWritten(0, 1, n); }));
  }
  if (which != "hand") {
    std::printf("compiled     %8.0f\n",
                1e9 / BestOf(3, [&] { return RunCompiled(0, 1, n, true); }));
    std::printf("submit       %8.0f\n",
                1e9 / BestOf(3, [&] { return RunCompiled(0, 1, n, false); }));
  }
  return 0;
}

// Cost of the monitor (per-type histograms, tokens, trends; then thresholds, anomalies and drift
// too) on the framework-only chain, where a per-result cost shows most, and on 20 us bodies.
// Runs alternate off/on so machine drift hits both alike.
int MonitorCost() {
  spdlog::set_level(
      spdlog::level::off);  // alerts on latency noise are expected; printing them is not the point
  MonitorConfig off;
  off.enabled = false;
  MonitorConfig on;  // the default: accounting only
  MonitorConfig full;
  full.default_thresholds.latency_p95_ms = 1000;
  full.default_thresholds.error_rate = 0.5;
  full.anomaly.enabled = true;
  full.drift.enabled = true;
  full.drift.metrics = {"latency_ms"};
  std::printf("5-node chain, 1 thread, 4 request types; items/s, best of 5\n");
  for (int micros : {0, 1, 20}) {
    const int n = micros >= 20 ? 20'000 : micros ? 100'000 : 300'000;
    double best_off = 0, best_on = 0, best_full = 0;
    for (int round = 0; round < 5; ++round) {
      best_off = std::max(best_off, RunCompiled(micros, 1, n, true, off));
      best_on = std::max(best_on, RunCompiled(micros, 1, n, true, on));
      best_full = std::max(best_full, RunCompiled(micros, 1, n, true, full));
    }
    std::printf(
        "bodies %2d us: monitor off %9.0f  on %9.0f (%+.1f%%)  with thresholds+anomaly+drift %9.0f "
        "(%+.1f%%)\n",
        micros, best_off, best_on, 100 * (best_on / best_off - 1), best_full,
        100 * (best_full / best_off - 1));
  }
  return 0;
}

double ThreadCpuMs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int ScrapeCost() {
  spdlog::set_level(spdlog::level::off);
  std::vector<Request> docs;
  std::ifstream in("pipelines/samples/documents.jsonl");
  for (std::string line; std::getline(in, line);)
    if (auto r = RequestFromJson(line, 1); r.ok()) docs.push_back(*r);
  if (docs.empty()) {
    std::fprintf(stderr, "engine_bench scrape: run from the project root\n");
    return 2;
  }
  RuntimeConfig no_cache;
  no_cache.cache_defaults.enabled = false;
  constexpr int kRequests = 3000;
  // Requests/s, and the CPU ms of each scrape (none when `scrape` is false).
  auto run = [&](bool scrape, StatsDetail detail, std::vector<double>* scrape_ms) {
    EngineOptions options;
    options.threads = 2;
    auto engine = Engine::FromFile("pipelines/refine.yaml", {}, no_cache, options);
    if (!engine.ok()) {
      std::fprintf(stderr, "%s\n", engine.status().message().c_str());
      std::exit(2);
    }
    Engine* e = engine->get();
    std::atomic<bool> done{false};
    std::thread scraper([&] {
      while (scrape && !done) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const double t0 = ThreadCpuMs();
        const std::string text = monitor::FormatPrometheus(e->Stats(detail), e->pipeline_name());
        if (!text.empty()) scrape_ms->push_back(ThreadCpuMs() - t0);
      }
    });
    int next_id = 0;
    const auto t0 = std::chrono::steady_clock::now();
    Status s = e->Run(
        [&](Request* r) {
          if (next_id == kRequests) return false;
          *r = docs[size_t(next_id) % docs.size()];
          r->id = std::to_string(next_id++);
          return true;
        },
        [](Result&&) {});
    const double wall = Seconds(std::chrono::steady_clock::now() - t0).count();
    done = true;
    scraper.join();
    if (!s.ok()) std::exit(2);
    return kRequests / wall;
  };
  auto ends = [](const std::vector<double>& v) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%zu scrapes, first %.2f ms, last %.2f ms CPU", v.size(),
                  v.empty() ? 0 : v.front(), v.empty() ? 0 : v.back());
    return std::string(buf);
  };
  std::printf("refine pipeline, caches off, 2 threads, %d requests; best of 5\n", kRequests);
  double none = 0, full = 0, live = 0;
  std::vector<double> full_ms, live_ms, unused;
  // Interleaved, best of 5 each: the machine's own drift hits all three alike.
  for (int round = 0; round < 5; ++round) {
    std::vector<double> f, l;
    const double rl = run(true, StatsDetail::kLive, &l);
    if (rl > live) live = rl, live_ms = l;
    none = std::max(none, run(false, StatsDetail::kLive, &unused));
    const double rf = run(true, StatsDetail::kFull, &f);
    if (rf > full) full = rf, full_ms = f;
  }
  std::printf("no scrapes                          %8.0f req/s\n", none);
  std::printf("scrape/100 ms, Stats() full         %8.0f req/s (%+.1f%%)  %s\n", full,
              100 * (full / none - 1), ends(full_ms).c_str());
  std::printf("scrape/100 ms, Stats(kLive)         %8.0f req/s (%+.1f%%)  %s\n", live,
              100 * (live / none - 1), ends(live_ms).c_str());
  return 0;
}

// Cost of the JSON Lines conversions graph-runner does per request.
int Json() {
  const std::string line =
      "{\"id\":\"123\",\"type\":\"bench\",\"text\":\"request 123 " + std::string(200, 'w') + "\"}";
  const int n = 100'000;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) (void)RequestFromJson(line, i);
  auto t1 = std::chrono::steady_clock::now();
  Result r;
  r.id = "123";
  r.fields["text"] = std::string(200, 'w');
  r.fields["original"] = std::string(200, 'w');
  for (const char* k : {"a.bytes", "a.chars", "a.words", "a.lines", "a.ratio"}) r.fields[k] = 12.5;
  for (const char* k : {"clean", "size", "slow"}) r.trace.push_back({k, 3.5, false});
  size_t bytes = 0;
  for (int i = 0; i < n; ++i) bytes += ResultToJson(r).size();
  auto t2 = std::chrono::steady_clock::now();
  std::printf("request from JSON: %.2f us   result to JSON: %.2f us (%zu bytes)\n",
              Seconds(t1 - t0).count() * 1e6 / n, Seconds(t2 - t1).count() * 1e6 / n, bytes / n);
  return 0;
}

int Cache() {
  // 100,000 requests over 10,000 distinct texts, 90% of requests repeat one seen before.
  // The cached node does ~20 us of work (normalize over a 4 KiB text), as a real text node would.
  std::vector<std::string> texts;
  for (int i = 0; i < 10'000; ++i) {
    std::string t;
    while (t.size() < 4096) t += "Line   " + std::to_string(i) + " of\tsome   text\n\n\n";
    texts.push_back(std::move(t));
  }
  std::printf("90%%-repeat workload, 100,000 requests, normalize on 4 KiB texts, 2 threads\n");
  std::printf("%-10s %12s %10s\n", "cache", "requests/s", "hit rate");
  for (bool on : {false, true}) {
    std::string yaml = "pipeline: bench-cache\nnodes:\n  - {id: clean, type: normalize, cache: " +
                       std::string(on ? "{capacity: 20000}" : "false") + "}\n";
    auto engine = Engine::FromString(yaml, "bench", {}, {}, {.threads = 2}).value();
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 100'000; ++i) {
      // First 10% of requests introduce each text once; the rest repeat them.
      int which = i < 10'000 ? i : int((i * 2654435761u) % 10'000);
      Request r;
      r.id = std::to_string(i);
      r.fields["text"] = texts[which];
      engine->Submit(std::move(r), [](Result&&) {});
    }
    engine->Drain();
    double secs = Seconds(std::chrono::steady_clock::now() - t0).count();
    EngineStats s = engine->Stats();
    double rate =
        s.nodes[0].cache.hits + s.nodes[0].cache.misses
            ? double(s.nodes[0].cache.hits) / (s.nodes[0].cache.hits + s.nodes[0].cache.misses)
            : 0;
    std::printf("%-10s %12.0f %9.1f%%\n", on ? "on" : "off", 100'000 / secs, rate * 100);
  }
  return 0;
}

// Runs graph-runner on `lines` generated requests; returns its peak RSS in KiB.
long PeakRss(const std::string& graph_runner, const std::string& pipeline, long lines,
             double* seconds) {
  const std::string input = "/tmp/refinery-bench-" + std::to_string(lines) + ".jsonl";
  if (!std::filesystem::exists(input)) {
    std::ofstream out(input);
    std::string body(200, 'w');
    for (long i = 0; i < lines; ++i) {
      out << "{\"id\":\"" << i << "\",\"type\":\"bench\",\"text\":\"request " << i << " " << body
          << "\"}\n";
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  std::fflush(stdout);  // or the child's freopen flushes our buffered lines a second time
  pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl(graph_runner.c_str(), graph_runner.c_str(), "run", pipeline.c_str(), "--input",
          input.c_str(), "--threads", "2", nullptr);
    _exit(99);
  }
  int status;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  *seconds = Seconds(std::chrono::steady_clock::now() - t0).count();
  return usage.ru_maxrss;
}

int Rss(const std::string& graph_runner) {
  const std::string pipeline = "/tmp/refinery-bench-rss.yaml";
  std::ofstream(pipeline)
      << "pipeline: bench-rss\nmax_in_flight: 64\nnodes:\n"
         "  - {id: clean, type: normalize, cache: false}\n"
         "  - {id: size, type: measure, cache: false}\n"
         "  - {id: slow, type: delay, mode: spin, micros: 3, concurrency: serial}\n";
  std::printf("graph-runner peak RSS, last node serial and slow (3 us spin), 2 threads\n");
  long base = 0;
  for (long lines : {10'000L, 1'000'000L}) {
    double secs;
    long kib = PeakRss(graph_runner, pipeline, lines, &secs);
    if (lines == 10'000) base = kib;
    std::printf("%9ld requests: peak RSS %7.1f MiB in %6.2fs", lines, kib / 1024.0, secs);
    if (lines != 10'000) std::printf("  (%.1f%% vs 10,000)", 100.0 * (kib - base) / base);
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "chain" &&
      argc == 5) {  // one configuration, for profiling: chain MICROS THREADS hand|compiled
    int micros = std::atoi(argv[2]), threads = std::atoi(argv[3]);
    int n = micros <= 1 ? 200'000 : 20'000;
    std::string which = argv[4];
    double rate = which == "hand"     ? RunHandWritten(micros, threads, n)
                  : which == "submit" ? RunCompiled(micros, threads, n, false)
                                      : RunCompiled(micros, threads, n, true);
    std::printf("%.0f items/s\n", rate);
    return 0;
  }
  if (mode == "chain") return Chain();
  if (mode == "cache") return Cache();
  if (mode == "json") return Json();
  if (mode == "overhead") return Overhead(argc > 2 ? argv[2] : "both");
  if (mode == "monitor") return MonitorCost();
  if (mode == "scrape") return ScrapeCost();
  if (mode == "rss" && argc > 2) return Rss(argv[2]);
  std::fprintf(stderr, "usage: engine_bench chain | cache | rss PATH_TO_GRAPH_RUNNER\n");
  return 2;
}
