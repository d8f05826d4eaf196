// Generator: continuous batching for one model in one weight format. Requests from any thread
// join the running batch at the next step and leave it when they finish; each step decodes every
// active sequence's next token, and the prompts of newly admitted ones, in one DnnlDecoder::Step
// (one matmul per weight matrix for all of them).
//
//   auto gen = Generator::Get("model.gguf", WeightFormat::kF32, {.max_batch = 16});
//   (*gen)->Submit(std::move(request), [](GenerationResult r) { ... });   // from a worker thread
//
// When the batch is full, waiting requests are admitted highest `priority` first (first come
// first served within a priority), so urgent requests wait for one slot, not for the queue.
// One generator per (model file, weight format, KV cache format) per process, shared by every
// node that names them; its worker thread owns the decoder. A prompt longer than the model's
// context fails that request alone. Stops at EOS, max_new_tokens, a stop string (the text is cut
// before it) or the end of the context.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "graph/status.h"
#include "nodes/llm/dnnl_decoder.h"
#include "nodes/llm/sampler.h"

namespace refinery::llm {

struct GenerationRequest {
  std::vector<int32_t> prompt;  // token ids (BOS included when wanted)
  int max_new_tokens = 64;
  SamplingOptions sampling;
  std::vector<std::string> stop;
  std::vector<int32_t> stop_tokens;  // besides EOS (a chat format's end-of-turn tokens)
  int priority = 0;                  // higher is admitted first when the batch is full
  // Optional, for streaming: called on the worker thread with each new piece of the text once it
  // is final (whole UTF-8 characters, never the start of a stop string); the pieces concatenate
  // to the result's text made valid UTF-8. Keep it short.
  std::function<void(std::string_view)> on_text;
};

struct GenerationResult {
  Status status;                // not ok: the request failed (e.g. prompt over the context)
  std::vector<int32_t> tokens;  // generated ids
  std::string text;             // their text, cut before a stop string
  std::string stop_reason;      // eos | length | stop | context
  int prompt_tokens = 0;
  int steps = 0;          // decoding steps this request took part in
  double mean_batch = 0;  // sequences in those steps, on average (1 = decoded alone)
};

struct GeneratorOptions {
  int max_batch = 16;       // sequences decoded together
  int max_step_rows = 512;  // prompt rows are chunked to keep a step bounded
  int threads = 1;          // threads of the worker's products (oneDNN's OpenMP, quantized TBB)
  bool by_priority = true;  // admit waiting requests highest priority first (else FIFO)
  KvFormat kv_cache = KvFormat::kF32;  // how each request's keys and values are cached
};

struct GeneratorStats {
  int64_t steps = 0;
  int64_t rows = 0;  // tokens processed (prompt + generated)
  int64_t generated = 0;
  int64_t requests = 0;
  int max_active = 0;
};

class Generator {
 public:
  using Callback = std::function<void(GenerationResult)>;
  static StatusOr<std::shared_ptr<Generator>> Get(const std::string& model_path,
                                                  WeightFormat format,
                                                  GeneratorOptions options = {});
  static StatusOr<std::shared_ptr<Generator>> Create(std::shared_ptr<const LlamaModel> model,
                                                     WeightFormat format,
                                                     GeneratorOptions options = {});
  ~Generator();

  // The callback runs on the worker thread; keep it short.
  void Submit(GenerationRequest request, Callback done);
  // Several requests at once: the worker sees them together, so they join the same step.
  void SubmitAll(std::vector<GenerationRequest> requests, std::vector<Callback> done);
  GenerationResult Generate(GenerationRequest request);  // blocking convenience
  GeneratorStats stats() const;
  const LlamaModel& model() const { return decoder_->model(); }
  const DnnlDecoder& decoder() const { return *decoder_; }

 private:
  struct Sequence;
  Generator() = default;
  void Run();
  void Finish(Sequence& s, std::string reason);

  std::unique_ptr<DnnlDecoder> decoder_;
  GeneratorOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Sequence>> pending_;
  bool stopping_ = false;
  GeneratorStats stats_;
  std::thread worker_;
};

}  // namespace refinery::llm
