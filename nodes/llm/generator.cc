#include "nodes/llm/generator.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <future>
#include <map>

#include "graph/io/utf8.h"

namespace refinery::llm {

struct Generator::Sequence {
  GenerationRequest request;
  Callback done;
  KvCache cache;
  Sampler sampler{SamplingOptions{}};
  size_t prefilled = 0;  // prompt tokens already in the cache
  int pos = 0;           // position of the next token to feed
  int32_t next = -1;     // the token to feed at `pos` (the last sampled)
  GenerationResult result;
  bool finished = false;
  size_t streamed = 0;  // bytes of result.text already given to request.on_text
};

namespace {

// Hands the request's on_text the text that is final: all of it at the end; otherwise what can
// no longer change, holding back what could still become a stop string and any UTF-8 sequence
// (whole or broken) that later bytes could still extend, so the streamed pieces join to exactly
// the whole text's ToValidUtf8.
void StreamText(GenerationRequest& request, const std::string& text, size_t& streamed, bool final) {
  if (!request.on_text) return;
  size_t end = text.size();
  if (!final) {
    size_t hold = 0;
    for (const std::string& stop : request.stop)
      if (!stop.empty()) hold = std::max(hold, stop.size() - 1);
    end = end > hold ? end - hold : 0;
    if (end <= streamed) return;
    end = streamed +
          utf8::StableReplacementPrefix(std::string_view(text).substr(streamed, end - streamed));
  }
  if (end <= streamed) return;
  request.on_text(utf8::ToValidUtf8(text.substr(streamed, end - streamed)));
  streamed = end;
}

}  // namespace

StatusOr<std::shared_ptr<Generator>> Generator::Create(std::shared_ptr<const LlamaModel> model,
                                                       WeightFormat format,
                                                       GeneratorOptions options) {
  options.max_batch = std::max(1, options.max_batch);
  options.max_step_rows = std::max(options.max_batch, options.max_step_rows);
  auto decoder = DnnlDecoder::Create(std::move(model), format, options.max_step_rows,
                                     options.threads, options.kv_cache);
  if (!decoder.ok()) return decoder.status();
  std::shared_ptr<Generator> g(new Generator());
  g->decoder_ = std::move(decoder).value();
  g->options_ = options;
  g->worker_ = std::thread([raw = g.get()] { raw->Run(); });
  return g;
}

StatusOr<std::shared_ptr<Generator>> Generator::Get(const std::string& model_path,
                                                    WeightFormat format, GeneratorOptions options) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<Generator>> generators;
  std::error_code ec;
  const std::string key = std::filesystem::weakly_canonical(model_path, ec).string() + "|" +
                          WeightFormatName(format) + "|" + KvFormatName(options.kv_cache);
  std::lock_guard lock(mu);
  if (auto it = generators.find(key); it != generators.end()) {
    if (auto g = it->second.lock()) return g;
  }
  auto model = LlamaModel::Load(model_path);
  if (!model.ok()) return model.status();
  auto g = Create(*model, format, options);
  if (g.ok()) generators[key] = *g;
  return g;
}

Generator::~Generator() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Generator::Submit(GenerationRequest request, Callback done) {
  auto s = std::make_unique<Sequence>();
  s->request = std::move(request);
  s->done = std::move(done);
  {
    std::lock_guard lock(mu_);
    pending_.push_back(std::move(s));
  }
  cv_.notify_one();
}

void Generator::SubmitAll(std::vector<GenerationRequest> requests, std::vector<Callback> done) {
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < requests.size(); ++i) {
      auto s = std::make_unique<Sequence>();
      s->request = std::move(requests[i]);
      s->done = std::move(done[i]);
      pending_.push_back(std::move(s));
    }
  }
  cv_.notify_one();
}

GenerationResult Generator::Generate(GenerationRequest request) {
  std::promise<GenerationResult> promise;
  auto future = promise.get_future();
  Submit(std::move(request), [&promise](GenerationResult r) { promise.set_value(std::move(r)); });
  return future.get();
}

GeneratorStats Generator::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Generator::Finish(Sequence& s, std::string reason) {
  s.finished = true;
  s.result.stop_reason = std::move(reason);
  s.result.prompt_tokens = int(s.request.prompt.size());
  if (s.result.steps > 0) s.result.mean_batch /= double(s.result.steps);
  if (s.result.status.ok()) StreamText(s.request, s.result.text, s.streamed, true);
  Callback done = std::move(s.done);
  done(std::move(s.result));
}

void Generator::Run() {
  omp_set_num_threads(std::max(1, options_.threads));  // this thread's oneDNN parallel regions
  const LlamaModel& model = decoder_->model();
  const int context = model.config.context, vocab = model.config.vocab;
  std::vector<std::unique_ptr<Sequence>> active;
  std::vector<DecodeRow> rows;
  std::vector<Sequence*> owners;  // the sequence of each logits row
  while (true) {
    std::vector<std::unique_ptr<Sequence>> admitted;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !pending_.empty() || !active.empty(); });
      if (pending_.empty() && active.empty()) return;  // stopping, nothing left
      while (!pending_.empty() && active.size() + admitted.size() < size_t(options_.max_batch)) {
        auto next = pending_.begin();
        if (options_.by_priority) {  // the first of the highest priority: FIFO within a priority
          for (auto it = pending_.begin(); it != pending_.end(); ++it) {
            if ((*it)->request.priority > (*next)->request.priority) next = it;
          }
        }
        admitted.push_back(std::move(*next));
        pending_.erase(next);
      }
    }
    for (auto& s : admitted) {
      const size_t n = s->request.prompt.size();
      if (n == 0 || n >= size_t(context)) {
        s->result.status = Status::InvalidArgument(
            "prompt of " + std::to_string(n) + " tokens does not fit the model's context of " +
            std::to_string(context) + (n == 0 ? " (an empty prompt has nothing to continue)" : ""));
        Finish(*s, "error");
        continue;
      }
      for (int32_t id : s->request.prompt) {
        if (id < 0 || id >= vocab) {
          s->result.status = Status::InvalidArgument("prompt token " + std::to_string(id) +
                                                     " is not in the vocabulary");
          Finish(*s, "error");
          break;
        }
      }
      if (s->finished) continue;
      if (s->request.max_new_tokens <= 0) {
        Finish(*s, "length");
        continue;
      }
      const int capacity =
          int(std::min<size_t>(size_t(context), n + size_t(s->request.max_new_tokens)));
      s->cache = decoder_->NewCache(capacity);
      s->sampler = Sampler(s->request.sampling);
      active.push_back(std::move(s));
    }
    if (active.empty()) continue;

    rows.clear();
    owners.clear();
    int budget =
        options_.max_step_rows - int(active.size());  // room for prompt rows beyond one each
    for (auto& s : active) {
      const auto& prompt = s->request.prompt;
      if (s->prefilled < prompt.size()) {
        const size_t chunk =
            std::min(prompt.size() - s->prefilled, size_t(std::max(1, budget + 1)));
        budget -= int(chunk) - 1;
        for (size_t i = 0; i < chunk; ++i) {
          const bool last = s->prefilled + i + 1 == prompt.size();
          rows.push_back({&s->cache, prompt[s->prefilled + i], int(s->prefilled + i), last});
          if (last) owners.push_back(s.get());
        }
        s->prefilled += chunk;
        s->pos = int(s->prefilled);
      } else {
        rows.push_back({&s->cache, s->next, s->pos, true});
        owners.push_back(s.get());
        ++s->pos;
      }
    }
    for (auto& s : active) {  // batch size as each request saw it (its mean is reported)
      s->result.mean_batch += double(active.size());
      s->result.steps += 1;
    }
    int n = 0;
    const float* logits = decoder_->Step(rows, &n);
    for (int r = 0; r < n; ++r) {
      Sequence& s = *owners[size_t(r)];
      const float* row = logits + size_t(r) * vocab;
      // NaN or Inf weights (or an overflowing rope base) give non-finite logits: sampling them
      // would be garbage text reported as ok, so the request fails instead.
      if (!std::all_of(row, row + vocab, [](float x) { return std::isfinite(x); })) {
        s.result.status = Status::InvalidArgument(
            "the model produced non-finite logits at position " + std::to_string(s.pos) +
            " (NaN or Inf in its weights or settings)");
        Finish(s, "error");
        continue;
      }
      const int32_t token = s.sampler.Sample(row, vocab);
      if (model.tokenizer.EndsGeneration(token) ||
          std::find(s.request.stop_tokens.begin(), s.request.stop_tokens.end(), token) !=
              s.request.stop_tokens.end()) {
        Finish(s, "eos");
        continue;
      }
      s.result.tokens.push_back(token);
      const size_t before = s.result.text.size();
      s.result.text += model.tokenizer.Piece(token);
      bool stopped = false;
      for (const std::string& stop : s.request.stop) {
        if (stop.empty()) continue;
        const size_t from = before >= stop.size() ? before - stop.size() + 1 : 0;
        const size_t at = s.result.text.find(stop, from);
        if (at != std::string::npos) {
          s.result.text.resize(at);
          stopped = true;
          break;
        }
      }
      if (stopped)
        Finish(s, "stop");
      else if (int(s.result.tokens.size()) >= s.request.max_new_tokens)
        Finish(s, "length");
      else if (s.pos >= s.cache.capacity)
        Finish(s, "context");
      else {
        s.next = token;
        StreamText(s.request, s.result.text, s.streamed, false);
      }
    }
    {
      std::lock_guard lock(mu_);
      stats_.steps += 1;
      stats_.rows += int64_t(rows.size());
      stats_.generated += n;
      stats_.max_active = std::max(stats_.max_active, int(active.size()));
      for (const auto& s : active) stats_.requests += s->finished;
    }
    std::erase_if(active, [](const std::unique_ptr<Sequence>& s) { return s->finished; });
  }
}

}  // namespace refinery::llm
