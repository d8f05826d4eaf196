// infer: text generation with a llama-architecture model loaded from GGUF (nodes/llm), batched
// across concurrent requests.
//
//   - {id: infer, type: infer, model: ../models/tiny.gguf, prompt: "Summarize:\n{text}\n",
//      max_new_tokens: 64, temperature: 0.7, top_k: 40, top_p: 0.95, seed: 7, stop: ["\n\n"]}
//
// The prompt is a template over item fields: {name} is the field's text, {{ and }} are literal
// braces; it is checked at load. The model (path relative to the pipeline file) is loaded once
// per process and shared; each (model, weights) pair has one Generator that decodes every
// request in flight together (continuous batching, up to max_batch). While a request waits for
// its tokens the node suspends its task (oneTBB resumable tasks), so it holds no engine thread
// and many requests can be in the batch at once.
//
// Writes `output` (the generated text, cut before a stop string) and <id>.prompt_tokens,
// <id>.generated_tokens, <id>.stop_reason (eos | length | stop | context).
//
// `backend: openai` sends the same rendered prompt to an OpenAI-compatible server instead
// (nodes/openai/remote_infer.h): `model` is then the server's model name and `endpoint` its base
// URL.
//
//   - {id: infer, type: infer, backend: openai, endpoint: "http://127.0.0.1:8080/v1",
//      model: qwen2.5-7b, api: chat, system: "Be brief.", prompt: "{text}", stream: true}
#include <oneapi/tbb/task.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "graph/io/utf8.h"
#include "graph/registry.h"
#include "nodes/batch_first_node.h"
#include "nodes/llm/chat_template.h"
#include "nodes/llm/generator.h"
#include "nodes/openai/remote_infer.h"
#include "nodes/prompt_template.h"

namespace refinery::nodes {
namespace {

std::string ResolvePath(const std::string& path, const std::string& base_dir) {
  if (path.empty() || std::filesystem::path(path).is_absolute() || base_dir.empty()) return path;
  return (std::filesystem::path(base_dir) / path).string();
}

struct InferOptions {
  std::string backend;  // local | openai
  std::string model;
  std::string weights;
  std::string kv_cache;
  std::string prompt;
  std::string output;
  int max_new_tokens;
  llm::SamplingOptions sampling;
  std::vector<std::string> stop;
  llm::GeneratorOptions generator;  // shared by every node using the model
  // backend: openai
  std::string api;     // chat | completions
  std::string system;  // template of the system message (chat)
  std::string chat;    // local: "" (plain prompt), auto (the model's template) or a format name
  bool stream = false;
  bool cache_sampled = false;
  double price_prompt_per_1k = 0;
  double price_completion_per_1k = 0;
  openai::EndpointOptions endpoint;
};

bool Remote(const InferOptions& o) { return o.backend == "openai"; }

class Infer : public BatchFirstNode {
 public:
  // `chat`: the format the prompt (the user message) and `system` are laid out in, if any.
  Infer(const NodeConfig& c, const InferOptions& o, std::shared_ptr<llm::Generator> generator,
        PromptTemplate prompt, std::optional<llm::ChatLayout> chat = std::nullopt,
        std::optional<PromptTemplate> system = std::nullopt)
      : id_(c.id),
        output_(o.output),
        generator_(std::move(generator)),
        prompt_(std::move(prompt)),
        chat_(std::move(chat)),
        system_(std::move(system)),
        max_new_tokens_(o.max_new_tokens),
        sampling_(o.sampling),
        stop_(o.stop) {}

  // A batch from the node's queue joins the generator at one step, all prompts in one matmul per
  // weight (a request alone joins whenever it arrives). The engine thread is released while the
  // generator works: the last request to finish resumes it.
  void ProcessBatch(const std::vector<Item*>& items,
                    std::vector<std::string>& errors) const override {
    std::vector<llm::GenerationRequest> requests(items.size());
    const llm::LlamaTokenizer& tokenizer = generator_->model().tokenizer;
    for (size_t i = 0; i < items.size(); ++i) {
      if (chat_) {
        requests[i].prompt = chat_->Encode(tokenizer, system_ ? system_->Render(*items[i]) : "",
                                           prompt_.Render(*items[i]));
        requests[i].stop_tokens = chat_->stop_tokens;
      } else {
        requests[i].prompt = tokenizer.Encode(prompt_.Render(*items[i]), {.add_bos = true});
      }
      requests[i].max_new_tokens = max_new_tokens_;
      requests[i].sampling = sampling_;
      requests[i].stop = stop_;
      requests[i].priority = items[i]->priority();
    }
    std::vector<llm::GenerationResult> results(items.size());
    std::atomic<size_t> remaining{items.size()};
    tbb::task::suspend([&](tbb::task::suspend_point tag) {
      std::vector<llm::Generator::Callback> callbacks;
      for (size_t i = 0; i < items.size(); ++i) {
        callbacks.push_back([&results, &remaining, tag, i](llm::GenerationResult r) {
          results[i] = std::move(r);
          if (remaining.fetch_sub(1) == 1) tbb::task::resume(tag);
        });
      }
      generator_->SubmitAll(std::move(requests), std::move(callbacks));
    });
    for (size_t i = 0; i < items.size(); ++i) {
      const llm::GenerationResult& result = results[i];
      if (!result.status.ok()) {
        errors[i] = result.status.message();
        continue;
      }
      Item& item = *items[i];
      item.set_number(id_ + ".prompt_tokens", double(result.prompt_tokens));
      item.set_number(id_ + ".generated_tokens", double(result.tokens.size()));
      item.set_number(id_ + ".batch_size", result.mean_batch);
      item.set_text(id_ + ".stop_reason", result.stop_reason);
      // A token sequence can stop inside a UTF-8 character (byte tokens): the text field is valid
      // UTF-8, with U+FFFD for what is cut.
      item.set_text(output_, utf8::ToValidUtf8(result.text));
    }
  }

 private:
  std::string id_, output_;
  std::shared_ptr<llm::Generator> generator_;
  PromptTemplate prompt_;
  std::optional<llm::ChatLayout> chat_;
  std::optional<PromptTemplate> system_;
  int max_new_tokens_;
  llm::SamplingOptions sampling_;
  std::vector<std::string> stop_;
};

// The prompt's fields are read; a template that does not parse reads nothing (validation has
// already reported it through the contract's check).
FieldIo InferIo(const NodeConfig& c, const InferOptions& o) {
  const std::string& id = c.id;
  auto prompt = PromptTemplate::Parse(o.prompt);
  FieldIo io{prompt.ok() ? prompt->fields : std::vector<std::string>{}, {}, {}};
  if (auto system = PromptTemplate::Parse(o.system); system.ok())
    io.reads.insert(io.reads.end(), system->fields.begin(), system->fields.end());
  io.writes = {o.output, id + ".prompt_tokens", id + ".generated_tokens", id + ".stop_reason"};
  io.metrics = {id + ".prompt_tokens", id + ".generated_tokens"};
  if (Remote(o)) {
    for (const char* f : {".attempts", ".first_token_ms"}) {
      io.writes.push_back(id + f);
      io.metrics.push_back(id + f);
    }
    if (o.stream) {
      io.writes.push_back(id + ".inter_token_ms");
      io.metrics.push_back(id + ".inter_token_ms");
    }
    if (o.price_prompt_per_1k > 0 || o.price_completion_per_1k > 0) {
      io.writes.push_back(id + ".cost");
      io.metrics.push_back(id + ".cost");
      io.cost = id + ".cost";
    }
    // A sampled remote call may answer differently each time (hosted APIs treat seeds as best
    // effort): no cache unless the pipeline asks for one.
    io.deterministic = o.sampling.temperature == 0 || o.cache_sampled;
  } else {
    io.writes.push_back(id + ".batch_size");
    io.metrics.push_back(id + ".batch_size");
  }
  io.tokens_in = id + ".prompt_tokens";
  io.tokens_out = id + ".generated_tokens";
  return io;
}

StatusOr<std::unique_ptr<Node>> MakeRemote(const NodeConfig& config, const InferOptions& o,
                                           PromptTemplate prompt) {
  auto client = openai::EndpointClient::Get(o.endpoint);
  if (!client.ok()) return client.status();
  std::optional<PromptTemplate> system;
  if (!o.system.empty()) {
    auto parsed = PromptTemplate::Parse(o.system);
    if (!parsed.ok()) return parsed.status();
    system = std::move(*parsed);
  }
  openai::RemoteInferSettings s;
  s.id = config.id;
  s.output = o.output;
  s.request.model = o.model;
  s.request.api = o.api == "chat" ? openai::Api::kChat : openai::Api::kCompletions;
  s.request.max_tokens = o.max_new_tokens;
  s.request.temperature = o.sampling.temperature;
  s.request.top_p = o.sampling.top_p;
  s.request.seed = o.sampling.seed;
  s.request.stop = o.stop;
  s.request.stream = o.stream;
  s.price_prompt_per_1k = o.price_prompt_per_1k;
  s.price_completion_per_1k = o.price_completion_per_1k;
  return openai::MakeRemoteInfer(std::move(s), *client, std::move(prompt), std::move(system));
}

// A local model prompted through its chat format (auto: the one its file's template follows).
StatusOr<std::unique_ptr<Node>> MakeChat(const NodeConfig& config, const InferOptions& o,
                                         std::shared_ptr<llm::Generator> generator,
                                         PromptTemplate prompt) {
  auto layout = llm::ChatLayoutFor(generator->model(), o.chat == "true" ? "auto" : o.chat);
  if (!layout.ok()) return layout.status();
  std::optional<PromptTemplate> system;
  if (!o.system.empty()) {
    auto parsed = PromptTemplate::Parse(o.system);
    if (!parsed.ok()) return parsed.status();
    system = std::move(*parsed);
  }
  return std::unique_ptr<Node>(std::make_unique<Infer>(
      config, o, std::move(generator), std::move(prompt), std::move(*layout), std::move(system)));
}

}  // namespace

REFINERY_REGISTER_NODE(infer) {
  BoundContract<InferOptions> c;
  c.type = "infer";
  c.summary =
      "text generation: a llama-architecture GGUF model on oneDNN, batched across requests, or "
      "an OpenAI-compatible server (backend: openai)";
  c.version = "1";
  using O = InferOptions;
  c.bind
      .Enum("backend", &O::backend, "local", {"local", "openai"},
            "local: a GGUF model in this process; openai: an OpenAI-compatible server")
      .String("model", &O::model, "",
              "GGUF file, relative to the pipeline file (local); the server's model name (openai)")
      .Required()
      .Enum("weights", &O::weights, "f32", {"f32", "bf16", "int8"},
            "weights as loaded (f32) or lighter (bf16, int8)")
      .Enum("kv_cache", &O::kv_cache, "f32", {"f32", "f16", "q8_0"},
            "keys and values cached per request as float32, float16 (half the memory) or q8_0 "
            "(8.5 bits per value; head size a multiple of 32)")
      .String("prompt", &O::prompt, "{text}",
              "template over item fields: {field}; {{ and }} for braces")
      .String("system", &O::system, "",
              "template of the system message (backend: openai with api: chat, or chat:)")
      .String("chat", &O::chat, "",
              "local models: lay the prompt out as a chat turn: auto (the model's "
              "tokenizer.chat_template) or chatml, llama3, llama2, mistral, zephyr, phi3, gemma")
      .String("output", &O::output, "generated", "field to write the generated text to")
      .NonEmpty()
      .Int("max_new_tokens", &O::max_new_tokens, 64, 0, 1'000'000, "most tokens to generate")
      .Group(
          &O::sampling,
          +[](OptionBinding<llm::SamplingOptions>& bind) {
            using S = llm::SamplingOptions;
            bind.Double("temperature", &S::temperature, 0.0, 0, 10, "0 = greedy")
                .Int("top_k", &S::top_k, 40, 0, 1'000'000,
                     "sample among the k most likely (0 = all)")
                .Double("top_p", &S::top_p, 1.0, 0.0001, 1,
                        "sample within the smallest set of tokens with this much probability")
                .Int("seed", &S::seed, 0, 0, std::numeric_limits<int64_t>::max(),
                     "sampling seed: same seed and prompt, same output");
          })
      .StringList("stop", &O::stop, {}, {},
                  "stop at any of these strings (not included in the output)")
      .Group(
          &O::generator,
          +[](OptionBinding<llm::GeneratorOptions>& bind) {
            using G = llm::GeneratorOptions;
            bind.Int("max_batch", &G::max_batch, 16, 1, 1024,
                     "requests decoded together (shared by all nodes using this model)")
                .Int("threads", &G::threads, 1, 1, 256, "threads of the model's matrix products");
          })
      .Enum("api", &O::api, "chat", {"chat", "completions"},
            "backend openai: /chat/completions (system + user messages) or /completions")
      .Bool("stream", &O::stream, false,
            "backend openai: stream tokens (server-sent events); records first-token and "
            "inter-token latency")
      .Bool("cache_sampled", &O::cache_sampled, false,
            "backend openai: cache calls with temperature > 0 too (greedy calls always are)")
      .Double("price_prompt_per_1k", &O::price_prompt_per_1k, 0, 0, 1e6,
              "backend openai: price of 1,000 prompt tokens, for <id>.cost")
      .Double("price_completion_per_1k", &O::price_completion_per_1k, 0, 0, 1e6,
              "backend openai: price of 1,000 generated tokens, for <id>.cost")
      .Group(
          &O::endpoint, +[](OptionBinding<openai::EndpointOptions>& bind) {
            using E = openai::EndpointOptions;
            bind.String("endpoint", &E::base_url, "",
                        "backend openai: base URL, e.g. http://127.0.0.1:8080/v1")
                .String("api_key_env", &E::api_key_env, "",
                        "backend openai: environment variable holding the API key (never the "
                        "key itself)")
                .String("tls_ca_file", &E::tls_ca_file, "",
                        "backend openai: PEM CA file to trust instead of the system CAs "
                        "(a self-signed server)")
                .StringList("headers", &E::headers, {}, {},
                            "backend openai: extra HTTP headers, each 'Name: value'")
                .Int("max_concurrency", &E::max_concurrency, 4, 1, 1024,
                     "backend openai: calls in flight to the endpoint (one connection each)")
                .Double("requests_per_minute", &E::requests_per_minute, 0, 0, 1e9,
                        "backend openai: request rate limit (0 = none); calls wait, never fail")
                .Double("tokens_per_minute", &E::tokens_per_minute, 0, 0, 1e12,
                        "backend openai: token rate limit (0 = none); calls wait, never fail")
                .Int("connect_timeout_ms", &E::connect_timeout_ms, 5'000, 1, 600'000,
                     "backend openai: connect timeout")
                .Int("first_token_timeout_ms", &E::first_token_timeout_ms, 60'000, 1, 3'600'000,
                     "backend openai: longest wait for the first byte, and between streamed bytes")
                .Int("timeout_ms", &E::timeout_ms, 300'000, 1, 86'400'000,
                     "backend openai: whole call, retries included (the request's deadline "
                     "also bounds it)")
                .Int("max_retries", &E::max_retries, 3, 0, 100,
                     "backend openai: retries for connection errors, 429 and 5xx (never 4xx)")
                .Int("backoff_ms", &E::backoff_ms, 250, 1, 60'000,
                     "backend openai: first retry's backoff ceiling (doubles, full jitter)");
          });
  c.accepts_batches = true;
  c.reads = "the fields the prompt names";
  c.writes =
      "`output`, `<id>.prompt_tokens`, `<id>.generated_tokens`, `<id>.stop_reason`, "
      "`<id>.batch_size` "
      "(sequences decoded together in this request's steps, on average)";
  c.check_options = [](const O& o) {
    std::vector<std::string> problems;
    if (auto t = PromptTemplate::Parse(o.prompt); !t.ok()) problems.push_back(t.status().message());
    if (auto t = PromptTemplate::Parse(o.system); !t.ok())
      problems.push_back("system: " + t.status().message());
    if (Remote(o) && o.endpoint.base_url.empty())
      problems.push_back("backend: openai needs `endpoint` (the server's base URL)");
    if (!Remote(o) && !o.endpoint.base_url.empty())
      problems.push_back("`endpoint` is for backend: openai (this node runs a local model)");
    if (!Remote(o) && !o.system.empty() && o.chat.empty()) {
      problems.push_back(
          "`system` needs a chat layout: chat: auto (or a format name), or backend: openai");
    }
    if (Remote(o) && !o.chat.empty())
      problems.push_back("`chat` is for local models (backend: openai servers apply their own)");
    if (!o.chat.empty() && o.chat != "auto" && o.chat != "true") {
      const auto names = llm::ChatFormatNames();
      if (std::find(names.begin(), names.end(), o.chat) == names.end()) {
        std::string list;
        for (const auto& n : names) list += ", " + n;
        problems.push_back("chat: unknown format '" + o.chat + "' (auto" + list + ")");
      }
    }
    return problems;
  };
  c.fields = InferIo;
  c.make = [](const NodeConfig& config, const O& o) -> StatusOr<std::unique_ptr<Node>> {
    auto prompt = PromptTemplate::Parse(o.prompt);
    if (!prompt.ok()) return prompt.status();
    if (Remote(o)) return MakeRemote(config, o, std::move(prompt).value());
    auto format = llm::ParseWeightFormat(o.weights);
    if (!format.ok()) return format.status();
    auto kv = llm::ParseKvFormat(o.kv_cache);
    if (!kv.ok()) return kv.status();
    llm::GeneratorOptions options = o.generator;
    options.kv_cache = *kv;
    auto generator = llm::Generator::Get(ResolvePath(o.model, config.base_dir), *format, options);
    if (!generator.ok()) return generator.status();  // the engine adds where and which node
    if (o.chat.empty()) {
      return std::unique_ptr<Node>(
          std::make_unique<Infer>(config, o, *generator, std::move(prompt).value()));
    }
    return MakeChat(config, o, *generator, std::move(prompt).value());
  };
  return c.Finish();
}

}  // namespace refinery::nodes
