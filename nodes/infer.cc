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
#include <oneapi/tbb/task.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "graph/io/utf8.h"
#include "graph/registry.h"
#include "nodes/llm/generator.h"

namespace refinery::nodes {
namespace {

// A prompt template: literal text and field names, alternating.
struct PromptTemplate {
  std::vector<std::string> literals;  // size = fields + 1
  std::vector<std::string> fields;

  static StatusOr<PromptTemplate> Parse(const std::string& s) {
    PromptTemplate t;
    std::string lit;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '{' && i + 1 < s.size() && s[i + 1] == '{') {
        lit += '{';
        ++i;
      } else if (s[i] == '}' && i + 1 < s.size() && s[i + 1] == '}') {
        lit += '}';
        ++i;
      } else if (s[i] == '{') {
        const size_t close = s.find('}', i);
        if (close == std::string::npos) {
          return Status::InvalidArgument("prompt: '{' at offset " + std::to_string(i) +
                                         " is never closed (write {{ for a brace)");
        }
        const std::string name = s.substr(i + 1, close - i - 1);
        if (name.empty() || name.find_first_of("{ \t\n") != std::string::npos) {
          return Status::InvalidArgument("prompt: '{" + name + "}' at offset " + std::to_string(i) +
                                         " is not a field name");
        }
        t.literals.push_back(std::move(lit));
        lit.clear();
        t.fields.push_back(name);
        i = close;
      } else if (s[i] == '}') {
        return Status::InvalidArgument("prompt: '}' at offset " + std::to_string(i) +
                                       " has no '{' (write }} for a brace)");
      } else {
        lit += s[i];
      }
    }
    t.literals.push_back(std::move(lit));
    return t;
  }

  std::string Render(const Item& item) const {
    std::string out = literals[0];
    for (size_t k = 0; k < fields.size(); ++k) {
      out += *item.text(fields[k]);
      out += literals[k + 1];
    }
    return out;
  }
};

std::string ResolvePath(const std::string& path, const std::string& base_dir) {
  if (path.empty() || std::filesystem::path(path).is_absolute() || base_dir.empty()) return path;
  return (std::filesystem::path(base_dir) / path).string();
}

struct InferOptions {
  std::string model;
  std::string weights;
  std::string prompt;
  std::string output;
  int max_new_tokens;
  llm::SamplingOptions sampling;
  std::vector<std::string> stop;
  llm::GeneratorOptions generator;  // shared by every node using the model
};

class Infer : public Node {
 public:
  Infer(const NodeConfig& c, const InferOptions& o, std::shared_ptr<llm::Generator> generator,
        PromptTemplate prompt)
      : id_(c.id),
        output_(o.output),
        generator_(std::move(generator)),
        prompt_(std::move(prompt)),
        max_new_tokens_(o.max_new_tokens),
        sampling_(o.sampling),
        stop_(o.stop) {}

  void Process(Item& item) const override {
    std::vector<std::string> errors(1);
    ProcessBatch({&item}, errors);
    if (!errors[0].empty()) throw std::runtime_error(errors[0]);
  }

  // A batch from the node's queue joins the generator at one step, all prompts in one matmul per
  // weight (a request alone joins whenever it arrives). The engine thread is released while the
  // generator works: the last request to finish resumes it.
  void ProcessBatch(const std::vector<Item*>& items,
                    std::vector<std::string>& errors) const override {
    std::vector<llm::GenerationRequest> requests(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      requests[i].prompt =
          generator_->model().tokenizer.Encode(prompt_.Render(*items[i]), {.add_bos = true});
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
  int max_new_tokens_;
  llm::SamplingOptions sampling_;
  std::vector<std::string> stop_;
};

// The prompt's fields are read; a template that does not parse reads nothing (validation has
// already reported it through the contract's check).
FieldIo InferIo(const NodeConfig& c, const InferOptions& o) {
  const std::string& id = c.id;
  auto prompt = PromptTemplate::Parse(o.prompt);
  FieldIo io{prompt.ok() ? prompt->fields : std::vector<std::string>{},
             {},
             {o.output, id + ".prompt_tokens", id + ".generated_tokens", id + ".stop_reason",
              id + ".batch_size"}};
  io.metrics = {id + ".prompt_tokens", id + ".generated_tokens", id + ".batch_size"};
  io.tokens_in = id + ".prompt_tokens";
  io.tokens_out = id + ".generated_tokens";
  return io;
}

}  // namespace

REFINERY_REGISTER_NODE(infer) {
  BoundContract<InferOptions> c;
  c.type = "infer";
  c.summary =
      "text generation with a llama-architecture GGUF model on oneDNN, batched across requests";
  c.version = "1";
  using O = InferOptions;
  c.bind.String("model", &O::model, "", "GGUF file (relative to the pipeline file)")
      .Required()
      .Enum("weights", &O::weights, "f32", {"f32", "bf16", "int8"},
            "weights as loaded (f32) or lighter (bf16, int8)")
      .String("prompt", &O::prompt, "{text}",
              "template over item fields: {field}; {{ and }} for braces")
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
          &O::generator, +[](OptionBinding<llm::GeneratorOptions>& bind) {
            using G = llm::GeneratorOptions;
            bind.Int("max_batch", &G::max_batch, 16, 1, 1024,
                     "requests decoded together (shared by all nodes using this model)")
                .Int("threads", &G::threads, 1, 1, 256, "oneDNN threads of the model's worker");
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
    return problems;
  };
  c.fields = InferIo;
  c.make = [](const NodeConfig& config, const O& o) -> StatusOr<std::unique_ptr<Node>> {
    auto prompt = PromptTemplate::Parse(o.prompt);
    if (!prompt.ok()) return prompt.status();
    auto format = llm::ParseWeightFormat(o.weights);
    if (!format.ok()) return format.status();
    auto generator =
        llm::Generator::Get(ResolvePath(o.model, config.base_dir), *format, o.generator);
    if (!generator.ok()) return generator.status();  // the engine adds where and which node
    return std::unique_ptr<Node>(
        std::make_unique<Infer>(config, o, *generator, std::move(prompt).value()));
  };
  return c.Finish();
}

}  // namespace refinery::nodes
