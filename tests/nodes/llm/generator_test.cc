// Continuous batching, sampling and the infer node, on small random models the test writes and
// on stories260K when shared/models is present.
#include "nodes/llm/generator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <mutex>
#include <thread>

#include "graph/spec/pipeline_loader.h"
#include "nodes/llm/model_writer.h"
#include "nodes/llm/quant/file_quantizer.h"
#include "nodes/text/tiktoken_encoding.h"
#include "tests/support/node_runner.h"
#include "tests/support/scratch_path.h"
#include "tests/support/set_up_material.h"
#include "tests/support/wait_until.h"

namespace refinery::llm {
namespace {

using ::testing::HasSubstr;

const std::string kModels = refinery::testing::SharedPath("models/");

std::string TinyModel() {
  static const std::string path = [] {
    RandomLlamaSpec spec;
    spec.context = 96;
    spec.stddev = 0.3f;  // peaked distributions: sampling choices differ visibly by seed
    TrainSpmPieces("the cat sat on the mat and the dog sat on the log while the bird sang", 40,
                   &spec.pieces, &spec.scores);
    const std::string p = refinery::testing::ScratchPath("generator-tiny.gguf");
    EXPECT_TRUE(RandomLlama(spec).Write(p).ok());
    return p;
  }();
  return path;
}

GenerationRequest Request(const LlamaModel& m, const std::string& prompt, int n,
                          SamplingOptions s = {}) {
  GenerationRequest r;
  r.prompt = m.tokenizer.Encode(prompt);
  r.max_new_tokens = n;
  r.sampling = s;
  return r;
}

TEST(Generator, BatchedRequestsGiveTheSameTokensAsAlone) {
  auto model = LlamaModel::Load(TinyModel());
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto alone = Generator::Create(*model, WeightFormat::kF32, {.max_batch = 1});
  auto batched = Generator::Create(*model, WeightFormat::kF32, {.max_batch = 8});
  ASSERT_TRUE(alone.ok() && batched.ok());
  const std::vector<std::string> prompts = {
      "the cat", "a dog sat on", "bird", "the mat and the log", "x", "the", "sat sat", "on"};
  std::vector<std::vector<int32_t>> expected;
  for (size_t i = 0; i < prompts.size(); ++i) {
    SamplingOptions s{
        .temperature = i % 2 ? 0.9f : 0.0f, .top_k = 20, .top_p = 0.9f, .seed = 100 + i};
    const GenerationResult r = (*alone)->Generate(Request(**model, prompts[i], 12 + int(i), s));
    EXPECT_EQ(r.mean_batch, 1.0);              // decoded alone
    EXPECT_EQ(r.steps, int(r.tokens.size()));  // one token per step
    expected.push_back(r.tokens);
  }
  // All at once from several threads: they share steps, join and leave at different times.
  std::vector<std::future<GenerationResult>> futures;
  for (size_t i = 0; i < prompts.size(); ++i) {
    SamplingOptions s{
        .temperature = i % 2 ? 0.9f : 0.0f, .top_k = 20, .top_p = 0.9f, .seed = 100 + i};
    futures.push_back(std::async(std::launch::async, [&, i, s] {
      return (*batched)->Generate(Request(**model, prompts[i], 12 + int(i), s));
    }));
  }
  double most_shared = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const GenerationResult r = futures[i].get();
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.tokens, expected[i]) << prompts[i];
    EXPECT_EQ(r.stop_reason, "length");
    EXPECT_GE(r.mean_batch, 1.0);
    EXPECT_LE(r.mean_batch, 8.0);
    most_shared = std::max(most_shared, r.mean_batch);
  }
  EXPECT_GT(most_shared, 1.0);  // the batch size each request saw is reported
  const GeneratorStats stats = (*batched)->stats();
  EXPECT_GT(stats.max_active, 1);  // they really were decoded together
  EXPECT_LT(stats.steps, 8 * 20);
}

// threads: 2 on a quantized model: the prompt's products split in tiles across both threads, the
// decode steps' weight rows too (and, under TSan, no race between them). Greedy tokens equal one
// thread's: each output is computed by one thread in the same order either way.
TEST(Generator, TwoThreadsDecodeAQuantizedModelAsOneDoes) {
  const std::string q8 = refinery::testing::ScratchPath("generator-tiny-q8.gguf");
  ASSERT_TRUE(quant::QuantizeFile(TinyModel(), q8, "Q8_0").ok());
  auto model = LlamaModel::Load(q8);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE((*model)->has_quantized_weights());
  GenerationRequest r = Request(**model,
                                "the cat sat on the mat and the dog sat on the log while the "
                                "bird sang and the cat sat on the mat",
                                24);
  ASSERT_GE(r.prompt.size(), 32u) << "a prompt long enough for the tiled product";
  auto one = Generator::Create(*model, WeightFormat::kF32, {.threads = 1});
  auto two = Generator::Create(*model, WeightFormat::kF32, {.threads = 2});
  ASSERT_TRUE(one.ok() && two.ok());
  const GenerationResult a = (*one)->Generate(r), b = (*two)->Generate(r);
  ASSERT_TRUE(a.status.ok() && b.status.ok());
  EXPECT_EQ(b.tokens.size(), 24u);
  EXPECT_EQ(b.tokens, a.tokens);
}

TEST(Generator, SeedsSamplingAndStops) {
  auto model = LlamaModel::Load(TinyModel());
  ASSERT_TRUE(model.ok());
  auto gen = Generator::Create(*model, WeightFormat::kF32, {});
  ASSERT_TRUE(gen.ok());
  SamplingOptions hot{.temperature = 1.5f, .top_k = 0, .top_p = 1.0f, .seed = 1};
  const auto a = (*gen)->Generate(Request(**model, "the cat", 30, hot));
  const auto b = (*gen)->Generate(Request(**model, "the cat", 30, hot));
  hot.seed = 2;
  const auto c = (*gen)->Generate(Request(**model, "the cat", 30, hot));
  EXPECT_EQ(a.tokens, b.tokens);  // same seed, same output
  EXPECT_NE(a.tokens, c.tokens);  // another seed, another output
  // top_k 1 is greedy whatever the temperature.
  const auto greedy = (*gen)->Generate(Request(**model, "the dog", 20));
  const auto k1 = (*gen)->Generate(
      Request(**model, "the dog", 20, {.temperature = 2.0f, .top_k = 1, .seed = 9}));
  EXPECT_EQ(greedy.tokens, k1.tokens);
  // A stop string cuts the text before it and ends the request.
  ASSERT_GE(greedy.text.size(), 4u);
  GenerationRequest stop = Request(**model, "the dog", 20);
  stop.stop = {greedy.text.substr(2, 2)};
  const auto stopped = (*gen)->Generate(stop);
  EXPECT_EQ(stopped.stop_reason, "stop");
  EXPECT_EQ(stopped.text, greedy.text.substr(0, greedy.text.find(stop.stop[0])));
  // The context bounds generation; a prompt over it is an error for that request only.
  const auto full = (*gen)->Generate(Request(**model, "the", 500));
  EXPECT_EQ(full.stop_reason, "context");
  // Every position of the context is fed; the token predicted after the last one is output too.
  EXPECT_EQ(full.prompt_tokens + int(full.tokens.size()), 96 + 1);
  GenerationRequest too_long;
  too_long.prompt.assign(200, 5);
  const auto err = (*gen)->Generate(too_long);
  EXPECT_FALSE(err.status.ok());
  EXPECT_THAT(err.status.message(), HasSubstr("does not fit the model's context of 96"));
}

// A NaN rope base (or NaN/Inf weights) fails the request with a reason instead of sampling garbage
// and reporting ok (issue 19, class 6).
TEST(Generator, NonFiniteLogitsFailTheRequest) {
  RandomLlamaSpec spec;
  spec.context = 32;
  spec.rope_base = std::numeric_limits<float>::quiet_NaN();
  const std::string path = refinery::testing::ScratchPath("generator-nan-rope.gguf");
  ASSERT_TRUE(RandomLlama(spec).Write(path).ok());
  auto model = LlamaModel::Load(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto gen = Generator::Create(*model, WeightFormat::kF32, {});
  ASSERT_TRUE(gen.ok());
  GenerationRequest r;
  r.prompt = {1, 5, 6};
  r.max_new_tokens = 4;
  const auto out = (*gen)->Generate(r);
  EXPECT_FALSE(out.status.ok());
  EXPECT_THAT(out.status.message(), HasSubstr("non-finite logits"));
  EXPECT_EQ(out.stop_reason, "error");
}

// A full batch admits the most urgent waiting request next, not the oldest.
TEST(Generator, UrgentRequestsAreAdmittedFirst) {
  auto model = LlamaModel::Load(TinyModel());
  ASSERT_TRUE(model.ok());
  for (bool by_priority : {true, false}) {
    auto gen =
        Generator::Create(*model, WeightFormat::kF32, {.max_batch = 1, .by_priority = by_priority});
    ASSERT_TRUE(gen.ok());
    std::mutex mu;
    std::vector<int> order;
    std::promise<void> all;
    auto done = [&](int id) {
      std::lock_guard lock(mu);
      order.push_back(id);
      if (order.size() == 7) all.set_value();
    };
    GenerationRequest first = Request(**model, "the cat", 40);  // occupies the only slot
    (*gen)->Submit(first, [&](GenerationResult) { done(0); });
    for (int i = 1; i <= 5; ++i)
      (*gen)->Submit(Request(**model, "the dog", 4), [&, i](GenerationResult) { done(i); });
    GenerationRequest urgent = Request(**model, "the bird", 4);
    urgent.priority = 10;
    (*gen)->Submit(urgent, [&](GenerationResult) { done(99); });
    all.get_future().wait();
    const size_t urgent_at = size_t(std::find(order.begin(), order.end(), 99) - order.begin());
    if (by_priority)
      EXPECT_LE(urgent_at, 2u) << "urgent finished at position " << urgent_at;
    else
      EXPECT_EQ(urgent_at, 6u);  // FIFO: last in, last out
  }
}

TEST(InferNode, GeneratesThroughThePipelineAndValidatesOptions) {
  using refinery::testing::NodeRunner;
  using refinery::testing::Number;
  using refinery::testing::Text;
  NodeRunner run("{id: llm, type: infer, model: " + TinyModel() +
                 ", prompt: \"Q: {text}\\nA:\", max_new_tokens: 7, seed: 5, temperature: 0.7}");
  ASSERT_TRUE(run.ok());
  std::vector<std::future<refinery::Result>> results;
  for (int i = 0; i < 12; ++i) {
    refinery::Request r;
    r.id = std::to_string(i);
    r.fields["text"] = "the cat " + std::to_string(i % 3);
    results.push_back(run.engine().Submit(std::move(r)));
  }
  std::map<std::string, std::string> by_prompt;
  for (auto& f : results) {
    refinery::Result r = f.get();
    ASSERT_TRUE(r.ok) << r.error_message;
    EXPECT_EQ(Number(r, "llm.generated_tokens"), 7);
    EXPECT_GT(Number(r, "llm.prompt_tokens"), 3);
    EXPECT_EQ(Text(r, "llm.stop_reason"), "length");
    const std::string prompt = Text(r, "text");
    if (by_prompt.count(prompt)) {
      EXPECT_EQ(by_prompt[prompt], Text(r, "generated")) << "same seed and prompt";
    }
    by_prompt[prompt] = Text(r, "generated");
  }
  auto bad_template = Engine::FromString(
      "pipeline: p\nnodes:\n  - {id: g, type: infer, model: x.gguf, prompt: \"{text\"}\n",
      "p.yaml");
  ASSERT_FALSE(bad_template.ok());
  EXPECT_THAT(bad_template.status().message(), HasSubstr("is never closed"));
  auto missing = Engine::FromString(
      "pipeline: p\nnodes:\n  - {id: g, type: infer, model: /nonexistent.gguf}\n", "p.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent.gguf"));
  auto no_model = Engine::FromString("pipeline: p\nnodes:\n  - {id: g, type: infer}\n", "p.yaml");
  ASSERT_FALSE(no_model.ok());
  EXPECT_THAT(no_model.status().message(), HasSubstr("model"));
}

// A queue hands infer batches; each request's output is what it gets alone (greedy), the batch
// really decoded together, and a request that cannot run (prompt over the context) fails alone.
TEST(InferNode, BatchesFromItsQueueDecodeTogetherWithTheSameOutputs) {
  auto alone =
      Engine::FromString("pipeline: p\nnodes:\n  - {id: llm, type: infer, model: " + TinyModel() +
                             ", max_new_tokens: 6}\n",
                         "alone.yaml");
  auto batched = Engine::FromString(
      "pipeline: p\nnodes:\n  - id: llm\n    type: infer\n    model: " + TinyModel() +
          "\n    max_new_tokens: 6\n"
          "    queue: {batch: {max_items: 4, max_delay_ms: 60000}}\n",
      "batched.yaml");
  ASSERT_TRUE(alone.ok()) << alone.status().message();
  ASSERT_TRUE(batched.ok()) << batched.status().message();
  std::vector<std::string> prompts = {"the cat", "the dog sat", "on the mat", "the bird"};
  std::string too_long;
  for (int i = 0; i < 200; ++i) too_long += "the cat sat ";
  prompts.push_back(too_long);
  std::vector<std::future<refinery::Result>> b;
  for (size_t i = 0; i < prompts.size(); ++i) {
    refinery::Request r;
    r.id = std::to_string(i);
    r.fields["text"] = prompts[i];
    b.push_back((*batched)->Submit(std::move(r)));
  }
  // Drain lets waiting requests go without company: first let all five reach the queue.
  refinery::testing::WaitUntil([&] {
    const EngineStats s = (*batched)->Stats();
    return s.nodes[0].queue->batched_items == 4 && s.nodes[0].queue->waiting == 1;
  });
  (*batched)->Drain();
  for (size_t i = 0; i < prompts.size(); ++i) {
    refinery::Request r;
    r.id = std::to_string(i);
    r.fields["text"] = prompts[i];
    refinery::Result want = (*alone)->Submit(std::move(r)).get();
    refinery::Result got = b[i].get();
    ASSERT_EQ(got.ok, want.ok) << i << ": " << got.error_message;
    if (!want.ok) {
      EXPECT_THAT(got.error_message, HasSubstr("context"));
      continue;
    }
    EXPECT_EQ(refinery::testing::Text(got, "generated"), refinery::testing::Text(want, "generated"))
        << prompts[i];
    EXPECT_GT(refinery::testing::Number(got, "llm.batch_size"), 1.5)
        << "decoded alongside the others";
  }
  const EngineStats s = (*batched)->Stats();
  ASSERT_TRUE(s.nodes[0].queue);
  EXPECT_EQ(s.nodes[0].queue->batch_sizes[4], 1) << "the first four went as one batch";
  EXPECT_EQ(s.nodes[0].queue->batch_sizes[1], 1) << "the fifth at the drain";
}

// The shipped pipeline with a model in the refinement loop runs end to end (on the test's model:
// the bundled one is written at set-up time).
TEST(InferNode, ShippedRefineInferPipelineLoops) {
  ASSERT_TRUE(text::TiktokenEncoding::Get("cl100k_base").ok())
      << text::TiktokenEncoding::Get("cl100k_base").status().message()
      << " (tools/setup.sh fetches it)";
  Overrides overrides = {*ParseOverride("llm.model=" + TinyModel())};
  auto engine =
      Engine::FromFile(std::string(PROJECT_DIR) + "/pipelines/refine-infer.yaml", overrides);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  std::vector<std::future<refinery::Result>> results;
  for (int i = 0; i < 6; ++i) {
    refinery::Request r;
    r.id = std::to_string(i);
    r.fields["text"] =
        "the cat sat on the mat. the dog sat on the log number " + std::to_string(i) + ".";
    results.push_back((*engine)->Submit(std::move(r)));
  }
  for (auto& f : results) {
    refinery::Result r = f.get();
    ASSERT_TRUE(r.ok) << r.error_message;
    EXPECT_GE(r.iterations, 1);
    EXPECT_LE(r.iterations, 3);
    EXPECT_NE(refinery::testing::Text(r, "loop.stop_reason"), "<absent>");
    EXPECT_GE(refinery::testing::Number(r, "score.total"), 0.0);
  }
}

TEST(InferNode, Stories260KThroughThePipelineMatchesLlamaCpp) {
  REFINERY_SKIP_WITHOUT_SHARED(kModels + "stories260K.gguf");
  using refinery::testing::NodeRunner;
  using refinery::testing::Text;
  NodeRunner run("{id: llm, type: infer, model: " + kModels +
                 "stories260K.gguf, max_new_tokens: 64}");
  const YAML::Node ref = YAML::LoadFile(kModels + "reference-outputs.json");
  for (const YAML::Node& g : ref["generation"]) {
    refinery::Result r = run.Run({{"text", g["prompt"].as<std::string>()}});
    ASSERT_TRUE(r.ok) << r.error_message;
    EXPECT_EQ(Text(r, "generated"), g["generated_text"].as<std::string>());
  }
}

}  // namespace
}  // namespace refinery::llm
