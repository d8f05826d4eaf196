// The llama model, tokenizer and plain C++ decoder against llama.cpp's outputs on the real
// stories260K model and its tokenizer test vectors (shared/models; skipped when absent).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "nodes/llm/llama_model.h"
#include "nodes/llm/reference_decoder.h"
#include "tests/support/set_up_material.h"

namespace refinery::llm {
namespace {

const std::string kModels = refinery::testing::SharedPath("models/");

#define REQUIRE_SHARED_MODELS() REFINERY_SKIP_WITHOUT_SHARED(kModels + "stories260K.gguf")

const YAML::Node& Reference() {
  static const YAML::Node root = YAML::LoadFile(kModels + "reference-outputs.json");
  return root;
}

std::vector<int32_t> Ids(const YAML::Node& n) { return n.as<std::vector<int32_t>>(); }

TEST(LlamaModel, LoadsStories260K) {
  REQUIRE_SHARED_MODELS();
  auto model = LlamaModel::Load(kModels + "stories260K.gguf");
  ASSERT_TRUE(model.ok()) << model.status().message();
  const LlamaConfig& c = (*model)->config;
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.hidden, 172);
  EXPECT_EQ(c.layers, 5);
  EXPECT_EQ(c.heads, 8);
  EXPECT_EQ(c.kv_heads, 4);
  EXPECT_EQ(c.vocab, 512);
  EXPECT_EQ(c.context, 512);
  EXPECT_FLOAT_EQ(c.rope_base, 10000.0f);  // absent from the file: the default
  EXPECT_FALSE((*model)->tied_output);
  // Loaded once per process: the same object comes back.
  auto again = LlamaModel::Load(kModels + "stories260K.gguf");
  EXPECT_EQ(model->get(), again->get());
}

TEST(LlamaTokenizer, MatchesLlamaCppOnStories260K) {
  REQUIRE_SHARED_MODELS();
  auto model = LlamaModel::Load(kModels + "stories260K.gguf");
  ASSERT_TRUE(model.ok());
  const LlamaTokenizer& tok = (*model)->tokenizer;
  size_t cases = 0;
  for (const YAML::Node& c : Reference()["tokenization"]["cases"]) {
    const std::string text = c["text"].as<std::string>();
    const bool special = c["parse_special"] && c["parse_special"].as<bool>();
    EXPECT_EQ(tok.Encode(text, {.add_bos = true, .parse_special = special}), Ids(c["ids"])) << text;
    ++cases;
  }
  EXPECT_GE(cases, 6u);
  // Control-token text is plain text unless asked for.
  EXPECT_EQ(tok.Encode("<s>Hi</s>", {.add_bos = true, .parse_special = false}),
            (std::vector<int32_t>{1, 410, 504, 419, 505, 440, 417, 504, 492, 419, 505}));
  EXPECT_EQ(tok.Encode("<s>Hi</s>", {.add_bos = true, .parse_special = true}),
            (std::vector<int32_t>{1, 1, 320, 417, 2}));
  EXPECT_EQ(tok.Decode(tok.Encode("Café naïve 東京 🐶", {.add_bos = true})), " Café naïve 東京 🐶");
}

// llama.cpp's test-tokenizer-0 vectors: strings separated by "\n__ggml_vocab_test__\n", ids
// without BOS.
void CheckVocabVectors(const std::string& name) {
  auto file = GgufFile::Open(kModels + "vocab/" + name);
  ASSERT_TRUE(file.ok()) << file.status().message();
  auto tok = LlamaTokenizer::FromGguf(**file);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  std::ifstream inp(kModels + "vocab/" + name + ".inp"), out(kModels + "vocab/" + name + ".out");
  std::stringstream all;
  all << inp.rdbuf();
  const std::string text = all.str(), sep = "\n__ggml_vocab_test__\n";
  size_t start = 0, cases = 0, wrong = 0;
  std::string line;
  while (start < text.size()) {
    const size_t end = text.find(sep, start);
    ASSERT_NE(end, std::string::npos);
    const std::string input = text.substr(start, end - start);
    start = end + sep.size();
    ASSERT_TRUE(std::getline(out, line));
    std::vector<int32_t> expected;
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) expected.push_back(id);
    const auto got = tok->Encode(input, {.add_bos = false});
    if (got != expected && ++wrong <= 5) ADD_FAILURE() << name << ": '" << input << "'";
    ++cases;
  }
  EXPECT_EQ(cases, 46u);
  EXPECT_EQ(wrong, 0u);
}

TEST(LlamaTokenizer, LlamaSpmVocabVectors) {
  REQUIRE_SHARED_MODELS();
  CheckVocabVectors("ggml-vocab-llama-spm.gguf");
}

TEST(LlamaTokenizer, Gpt2BpeVocabVectors) {
  REQUIRE_SHARED_MODELS();
  CheckVocabVectors("ggml-vocab-gpt-2.gguf");
}

TEST(ReferenceDecoder, PromptLogitsMatchLlamaCpp) {
  REQUIRE_SHARED_MODELS();
  auto model = LlamaModel::Load(kModels + "stories260K.gguf");
  ASSERT_TRUE(model.ok());
  const YAML::Node& ref = Reference()["prompt_logits_once_upon_a_time"];
  ReferenceDecoder dec(*model);
  const auto prompt = Ids(ref["prompt_token_ids"]);
  double worst = 0;
  for (size_t p = 0; p < prompt.size(); ++p) {
    const std::vector<float> logits = dec.Forward(prompt[p]);
    const auto expected = ref["per_position"][p].as<std::vector<float>>();
    ASSERT_EQ(expected.size(), logits.size());
    for (size_t i = 0; i < logits.size(); ++i)
      worst = std::max(worst, double(std::abs(logits[i] - expected[i])));
  }
  EXPECT_LT(worst, 1e-4);
}

TEST(ReferenceDecoder, GreedyGenerationMatchesLlamaCpp) {
  REQUIRE_SHARED_MODELS();
  auto model = LlamaModel::Load(kModels + "stories260K.gguf");
  ASSERT_TRUE(model.ok());
  for (const YAML::Node& g : Reference()["generation"]) {
    ReferenceDecoder dec(*model);
    std::vector<float> logits;
    for (int32_t id : Ids(g["prompt_token_ids"])) logits = dec.Forward(id);
    std::vector<int32_t> generated;
    for (int i = 0; i < 64; ++i) {
      const int32_t next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
      generated.push_back(next);
      logits = dec.Forward(next);
    }
    EXPECT_EQ(generated, Ids(g["generated_token_ids"])) << g["prompt"].as<std::string>();
    EXPECT_EQ((*model)->tokenizer.Decode(generated), g["generated_text"].as<std::string>());
  }
}

}  // namespace
}  // namespace refinery::llm
