// endpoint_bench: infer with `backend: openai` against refinery's own OpenAI-compatible server
// (graph-runner serve-models, started in this process on a loopback port), with the same
// generation in-process (`backend: local`, the same model file and generator) as the peer, in
// the same run.
//
//   endpoint_bench MODEL.gguf [REQUESTS]
//     1. closed loop, 1, 4 and 16 concurrent pipeline requests (REQUESTS each, default 64):
//        requests/s and p50/p99 latency, remote and local; the client's overhead per call is the
//        difference at concurrency 1 (p50).
//     2. the bundled documents (pipelines/samples/documents.jsonl), one at a time: the raw
//        document sent to the model, against summarize (80 cl100k tokens) before infer: tokens in
//        per request (the server's usage) and end-to-end time, both through the endpoint.
// Greedy, 32 new tokens, caches off. Prints tables; asserts nothing (tests assert behaviour).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "graph/engine.h"
#include "graph/json_io.h"
#include "tools/graph-runner/models_server.h"

namespace {

using Clock = std::chrono::steady_clock;

std::unique_ptr<refinery::Engine> Pipeline(const std::string& yaml) {
  auto engine = refinery::Engine::FromString(yaml, "bench.yaml");
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", engine.status().message().c_str());
    std::exit(2);
  }
  return std::move(engine).value();
}

std::string InferNode(const std::string& backend, const std::string& model, const std::string& url,
                      const std::string& prompt) {
  std::string node =
      "  - {id: llm, type: infer, max_new_tokens: 32, cache: {enabled: false}, "
      "prompt: \"" +
      prompt + "\", max_batch: 16";
  if (backend == "local") return node + ", model: \"" + model + "\"}\n";
  return node + ", backend: openai, api: completions, endpoint: \"" + url +
         "\", model: bench, max_concurrency: 16}\n";
}

struct Run {
  double rps = 0, p50 = 0, p99 = 0;
  int failed = 0;
};

Run ClosedLoop(refinery::Engine& engine, const std::vector<std::string>& texts, int concurrency,
               int requests) {
  std::vector<double> ms(static_cast<size_t>(requests), 0.0);
  std::atomic<int> next{0}, failed{0};
  const auto start = Clock::now();
  std::vector<std::thread> slots;
  for (int c = 0; c < concurrency; ++c) {
    slots.emplace_back([&] {
      for (int i; (i = next++) < requests;) {
        refinery::Request r;
        r.id = std::to_string(i);
        r.fields["text"] = texts[size_t(i) % texts.size()];
        const auto t0 = Clock::now();
        refinery::Result result = engine.Submit(std::move(r)).get();
        ms[size_t(i)] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (!result.ok) {
          if (failed++ == 0) std::fprintf(stderr, "failed: %s\n", result.error_message.c_str());
        }
      }
    });
  }
  for (auto& t : slots) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(ms.begin(), ms.end());
  return {requests / seconds, ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)],
          failed};
}

double Number(const refinery::Result& r, const std::string& name) {
  auto it = r.fields.find(name);
  if (it == r.fields.end()) return 0;
  const double* d = std::get_if<double>(&it->second);
  return d ? *d : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: endpoint_bench MODEL.gguf [REQUESTS]\n");
    return 2;
  }
  const std::string model = argv[1];
  const int requests = argc > 2 ? std::atoi(argv[2]) : 64;
  refinery::cli::ModelsServerOptions options;
  options.models = {{"bench", model}};
  options.generator.max_batch = 16;
  auto server = refinery::cli::ModelsServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().message().c_str());
    return 2;
  }
  const std::string url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/v1";

  std::vector<std::string> docs;
  std::ifstream in(std::string(PROJECT_DIR) + "/pipelines/samples/documents.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto r = refinery::RequestFromJson(line, 1);
    if (r.ok()) docs.push_back(std::get<std::string>(r->fields.at("text")));
  }
  std::vector<std::string> prompts;  // short prompts: decoding dominates, as in chat use
  for (const auto& d : docs)
    for (size_t at = 0; at + 200 < d.size() && prompts.size() < 64; at += 600)
      prompts.push_back(d.substr(at, 200));

  std::printf("model %s, %d requests per row, greedy, 32 new tokens, caches off\n\n", model.c_str(),
              requests);
  std::printf("%-8s %5s %10s %10s %10s %7s\n", "backend", "conc", "req/s", "p50 ms", "p99 ms",
              "failed");
  double local_p50_1 = 0, remote_p50_1 = 0;
  for (int concurrency : {1, 4, 16}) {
    for (const char* backend : {"local", "openai"}) {
      auto engine = Pipeline("pipeline: bench\nmax_in_flight: 64\nnodes:\n" +
                             InferNode(backend, model, url, "{text}"));
      ClosedLoop(*engine, prompts, concurrency, std::min(requests, 8));  // warm-up
      Run r = ClosedLoop(*engine, prompts, concurrency, requests);
      std::printf("%-8s %5d %10.1f %10.2f %10.2f %7d\n", backend, concurrency, r.rps, r.p50, r.p99,
                  r.failed);
      if (concurrency == 1) (std::string(backend) == "local" ? local_p50_1 : remote_p50_1) = r.p50;
    }
  }
  std::printf("\nclient overhead per call (p50 remote - p50 local, concurrency 1): %.3f ms\n\n",
              remote_p50_1 - local_p50_1);

  // Raw document against summarize-then-infer, through the endpoint.
  const std::string prompt = "Summarize the text.\\n\\nText:\\n{text}\\n\\nSummary:";
  auto raw = Pipeline("pipeline: raw\nnodes:\n" + InferNode("openai", model, url, prompt));
  auto refined = Pipeline(
      "pipeline: refined\nnodes:\n"
      "  - {id: sum, type: summarize, encoding: cl100k_base, max_tokens: 80, output: text, "
      "cache: {enabled: false}}\n" +
      InferNode("openai", model, url, prompt) + "edges: [sum -> llm]\n");
  std::printf("%-10s %12s %14s %12s %7s\n", "pipeline", "docs", "tokens in/req", "ms/req",
              "failed");
  for (auto [name, engine] :
       {std::pair<const char*, refinery::Engine*>{"raw", raw.get()},
        std::pair<const char*, refinery::Engine*>{"refined", refined.get()}}) {
    double tokens = 0, ms = 0;
    int failed = 0;
    for (size_t i = 0; i < docs.size(); ++i) {
      refinery::Request r;
      r.id = std::to_string(i);
      r.fields["text"] = docs[i];
      const auto t0 = Clock::now();
      refinery::Result result = engine->Submit(std::move(r)).get();
      ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (!result.ok) {
        ++failed;
        std::fprintf(stderr, "%s %zu: %s\n", name, i, result.error_message.c_str());
      }
      tokens += Number(result, "llm.prompt_tokens");
    }
    std::printf("%-10s %12zu %14.1f %12.2f %7d\n", name, docs.size(), tokens / double(docs.size()),
                ms / double(docs.size()), failed);
  }
  return 0;
}
