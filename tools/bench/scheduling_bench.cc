// scheduling_bench: the queue's measured claims (priority under saturation, batching).
//
//   scheduling_bench priority
//        A bottleneck node (`delay`, S per item) behind a queue, fed open-loop at 1.25x its
//        capacity with 5% critical requests (priority 1) spread through the stream; latency of
//        critical and normal requests, queue order priority vs fifo, against a critical request
//        alone on the idle pipeline. Two bottlenecks: 8 slots of 20 ms sleep (a model endpoint
//        taking 8 calls at once; 9 engine threads, since a sleeping node holds its thread) and
//        1 slot of 5 ms spin (a CPU-bound serial node, 2 threads).
//   scheduling_bench batching MODEL.gguf
//        infer on a real model, closed-loop clients (1, 4, 16) each sending a request and waiting
//        for its result; throughput and latency with no batching (serial), the generator's
//        continuous batching alone (unlimited), and the queue's batches (fixed and adaptive).
// Prints tables; asserts nothing (tests assert behaviour).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "graph/engine.h"

namespace {

using namespace refinery;
using Clock = std::chrono::steady_clock;

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5))];
}

struct Bottleneck {
  const char* name;
  int slots;
  int micros;
  const char* mode;
  int threads;  // a sleeping node holds its thread: one per slot
};

std::string PriorityYaml(const Bottleneck& b, const std::string& order) {
  return "pipeline: bench-priority\nmax_in_flight: 100000\nnodes:\n"
         "  - id: model\n    type: delay\n    mode: " +
         std::string(b.mode) + "\n    micros: " + std::to_string(b.micros) +
         "\n    concurrency: " + std::to_string(b.slots) + "\n" +
         (order.empty() ? "" : "    queue: {order: " + order + "}\n");
}

void Priority() {
  std::printf(
      "priority under saturation: open-loop arrivals at 1.25x capacity, every 20th request "
      "critical\n");
  std::printf("%-26s %-8s %9s %9s %9s %9s %9s %9s\n", "bottleneck", "queue", "crit p50", "crit p99",
              "crit/idle", "norm p50", "norm p99", "req/s");
  const Bottleneck kCases[] = {{"8 slots x 20 ms (sleep)", 8, 20000, "sleep", 9},
                               {"1 slot x 5 ms (spin)", 1, 5000, "spin", 2}};
  for (const Bottleneck& b : kCases) {
    // Idle: a critical request alone, 40 times.
    std::vector<double> idle;
    {
      auto engine =
          Engine::FromString(PriorityYaml(b, "priority"), "bench", {}, {}, {.threads = b.threads})
              .value();
      for (int i = 0; i < 40; ++i) {
        Request r;
        r.id = std::to_string(i);
        r.priority = 1;
        r.fields["text"] = std::string("x");
        idle.push_back(engine->Submit(std::move(r)).get().latency_ms);
      }
    }
    const double idle_p99 = Quantile(idle, 0.99);
    std::printf("%-26s %-8s %9.2f %9.2f %9s %9s %9s %9s\n", b.name, "idle", Quantile(idle, 0.5),
                idle_p99, "1.00", "-", "-", "-");
    const double capacity = b.slots * 1e6 / b.micros;  // requests per second
    const int n = int(capacity * 4);                   // ~4 s of arrivals
    const auto gap = std::chrono::nanoseconds(int64_t(1e9 / (capacity * 1.25)));
    for (const char* order : {"priority", "fifo"}) {
      auto engine =
          Engine::FromString(PriorityYaml(b, order), "bench", {}, {}, {.threads = b.threads})
              .value();
      std::mutex mu;
      std::vector<double> critical, normal;
      const auto t0 = Clock::now();
      for (int i = 0; i < n; ++i) {
        std::this_thread::sleep_until(t0 + gap * i);
        Request r;
        r.id = std::to_string(i);
        r.priority = i % 20 == 7 ? 1 : 0;
        r.fields["text"] = std::string("x");
        engine->Submit(std::move(r), [&](Result&& res) {
          std::lock_guard lock(mu);
          (res.priority > 0 ? critical : normal).push_back(res.latency_ms);
        });
      }
      engine->Drain();
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      std::printf("%-26s %-8s %9.2f %9.2f %9.2f %9.1f %9.1f %9.0f\n", b.name, order,
                  Quantile(critical, 0.5), Quantile(critical, 0.99),
                  Quantile(critical, 0.99) / idle_p99, Quantile(normal, 0.5),
                  Quantile(normal, 0.99), double(n) / secs);
    }
  }
  std::printf(
      "(latency in ms from submission to result; crit/idle = critical p99 under load / critical "
      "p99 idle)\n");
}

std::string InferYaml(const std::string& model, const std::string& variant) {
  std::string y =
      "pipeline: bench-batching\nmax_in_flight: 64\nnodes:\n  - id: llm\n    type: infer\n    "
      "model: " +
      model +
      "\n    max_new_tokens: 32\n    max_batch: 16\n    prompt: \"{text}\"\n    cache: false\n";
  if (variant == "serial") y += "    concurrency: serial\n";
  if (variant == "batch 8") y += "    queue: {batch: {max_items: 8, max_delay_ms: 2}}\n";
  if (variant == "adaptive") {
    y += "    queue: {batch: {max_items: 4, max_delay_ms: 2, adapt: {target_p95_ms: 150, "
         "min_items: 1, max_items: 16, "
         "max_delay_ms: 10}}}\n";
  }
  return y;
}

void Batching(const std::string& model) {
  const char* kPrompts[] = {"Once upon a time",           "The little dog",
                            "One day, a girl named Lily", "Tom and his mom went",
                            "There was a big tree",       "The sun was hot and"};
  std::printf("infer throughput, closed-loop clients, 32 new tokens per request (%s)\n",
              model.c_str());
  std::printf("%-10s %8s %10s %10s %10s %12s\n", "variant", "clients", "req/s", "p50 ms", "p95 ms",
              "mean batch");
  for (int clients : {1, 4, 16}) {
    for (const char* variant : {"serial", "unlimited", "batch 8", "adaptive"}) {
      auto engine =
          Engine::FromString(InferYaml(model, variant), "bench", {}, {}, {.threads = 2}).value();
      const int per_client = clients == 1 ? 60 : 240 / clients + 10;
      std::mutex mu;
      std::vector<double> latency;
      double batch_sum = 0;
      const auto t0 = Clock::now();
      std::vector<std::thread> threads;
      for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
          for (int i = 0; i < per_client; ++i) {
            Request r;
            r.id = std::to_string(c) + "-" + std::to_string(i);
            r.fields["text"] = std::string(kPrompts[(c + i) % 6]);
            Result res = engine->Submit(std::move(r)).get();
            std::lock_guard lock(mu);
            latency.push_back(res.latency_ms);
            if (auto it = res.fields.find("llm.batch_size"); it != res.fields.end())
              batch_sum += std::get<double>(it->second);
          }
        });
      }
      for (auto& t : threads) t.join();
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      std::printf("%-10s %8d %10.1f %10.2f %10.2f %12.2f\n", variant, clients,
                  double(latency.size()) / secs, Quantile(latency, 0.5), Quantile(latency, 0.95),
                  batch_sum / double(latency.size()));
      if (std::string(variant) == "adaptive") {
        const EngineStats s = engine->Stats();
        const WaitingRoomStats& q = *s.nodes[0].queue;
        std::printf(
            "%-10s %8s adapted to max_items %d, delay %.2f ms (%lld up, %lld down, %lld fitted to "
            "arrivals), "
            "mean queue batch %.2f\n",
            "", "", q.max_items, q.max_delay_ms, (long long)q.adapt_grow, (long long)q.adapt_shrink,
            (long long)q.adapt_fits, q.batches ? double(q.batched_items) / double(q.batches) : 0.0);
      }
    }
  }
  std::printf(
      "(mean batch = sequences decoded together in a request's steps, the generator's own "
      "count)\n");
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "priority") {
    Priority();
    return 0;
  }
  if (mode == "batching" && argc > 2) {
    Batching(argv[2]);
    return 0;
  }
  std::fprintf(stderr, "usage: scheduling_bench priority | batching MODEL.gguf\n");
  return 2;
}
