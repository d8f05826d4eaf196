// Quantized GGUF files computed in place, against llama.cpp's outputs on the same files
// (shared/models/quantized: a random 256-wide llama in every format, stories260K in two mixed
// files; skipped when absent): prompt logits within a tolerance per format family, and the
// stories260K files' greedy ids exactly.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>

#include "nodes/llm/dnnl_decoder.h"
#include "nodes/llm/reference_decoder.h"
#include "tests/support/set_up_material.h"

namespace refinery::llm {
namespace {

const std::string kDir = refinery::testing::SharedPath("models/quantized/");

struct Reference {
  std::vector<int32_t> prompt_ids, greedy_ids;
  std::vector<float> logits;
};

Reference ReadReference(const std::string& stem) {
  const YAML::Node n = YAML::LoadFile(kDir + stem + ".ref.json");
  return {n["prompt_ids"].as<std::vector<int32_t>>(), n["greedy_ids"].as<std::vector<int32_t>>(),
          n["prompt_last_logits"].as<std::vector<float>>()};
}

// One step over the whole prompt; the last row's logits.
std::vector<float> PromptLogits(DnnlDecoder& dec, KvCache& cache, const std::vector<int32_t>& ids) {
  std::vector<DecodeRow> rows;
  for (size_t i = 0; i < ids.size(); ++i)
    rows.push_back({&cache, ids[i], int(i), i + 1 == ids.size()});
  int n = 0;
  const float* logits = dec.Step(rows, &n);
  return std::vector<float>(logits, logits + dec.model().config.vocab);
}

// Worst difference relative to the reference logits' spread (max - min).
double RelativeError(const std::vector<float>& ours, const std::vector<float>& ref) {
  const auto [lo, hi] = std::minmax_element(ref.begin(), ref.end());
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    worst = std::max(worst, double(std::fabs(ours[i] - ref[i])));
  return worst / double(*hi - *lo);
}

// Tolerances, relative to the logit spread (max - min, about 2 on these flat random models):
// - float files: llama.cpp keeps K and V (and the query and attention weights multiplying them)
//   in f16, 3 decimal digits; measured 1.4e-4 (F32) and 2.9e-4 (F16) of the spread;
// - quantized files: both sides round every activation row to 8 bits per block before each
//   product, and which way a value rounds flips with the f16 noise above, so the two roundings
//   are only partly the same: measured 0.5-1.2% worst, 0.34-0.53% rms; the plain decoder
//   (no activation rounding) is 0.46-0.79% from llama.cpp, i.e. the size of one rounding.
//   3% leaves room for other CPUs' summation order, and a wrong block layout is far outside it
//   (a scale or nibble misplaced moves logits by tens of percent).
constexpr double kFloatTolerance = 1e-3, kQuantizedTolerance = 3e-2;

struct Case {
  const char* stem;
  double tolerance;
};

class Rand256 : public ::testing::TestWithParam<Case> {};

TEST_P(Rand256, PromptLogitsMatchLlamaCpp) {
  const Case c = GetParam();
  REFINERY_SKIP_WITHOUT_SHARED(kDir + c.stem + ".gguf");
  auto model = LlamaModel::Load(kDir + c.stem + ".gguf");
  ASSERT_TRUE(model.ok()) << model.status().message();
  // Every quantized tensor of the file stays in its blocks (in place, not expanded to float).
  const LlamaModel& m = **model;
  int quantized_tensors = 0, quantized_weights = 0;
  for (const GgufTensor& t : m.file->tensors())
    quantized_tensors += quant::Info(uint32_t(t.type))->quantized;
  quantized_weights += m.token_embd.quantized() + (!m.tied_output && m.output_weight.quantized());
  for (const LlamaLayer& L : m.layers)
    for (const Weight* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down})
      quantized_weights += w->quantized();
  EXPECT_EQ(quantized_weights, quantized_tensors);
  const Reference ref = ReadReference(c.stem);
  EXPECT_EQ(
      (*model)->tokenizer.Encode("The pipeline compiles YAML into a graph", {.add_bos = true}),
      ref.prompt_ids);
  auto dec = DnnlDecoder::Create(*model, WeightFormat::kF32, 64);
  ASSERT_TRUE(dec.ok()) << dec.status().message();
  KvCache cache = (*dec)->NewCache(512);
  const std::vector<float> ours = PromptLogits(**dec, cache, ref.prompt_ids);
  ASSERT_EQ(ours.size(), ref.logits.size());
  const double err = RelativeError(ours, ref.logits);
  RecordProperty("relative_error", std::to_string(err));
  // The plain decoder (dequantised weights, f32 activations) shows how much of the difference is
  // llama.cpp's own rounding of activations to 8 bits.
  ReferenceDecoder plain(*model);
  std::vector<float> plain_logits;
  for (int32_t id : ref.prompt_ids) plain_logits = plain.Forward(id);
  std::printf("%s: worst logit difference %.3g of the spread (plain dequantised decoder: %.3g)\n",
              c.stem, err, RelativeError(plain_logits, ref.logits));
  EXPECT_LT(err, c.tolerance) << c.stem;
}

INSTANTIATE_TEST_SUITE_P(
    Formats, Rand256,
    ::testing::Values(
        Case{"rand256", kFloatTolerance}, Case{"rand256-F16", kFloatTolerance},
        Case{"rand256-Q8_0", kQuantizedTolerance}, Case{"rand256-Q4_0", kQuantizedTolerance},
        Case{"rand256-Q4_1", kQuantizedTolerance}, Case{"rand256-Q5_0", kQuantizedTolerance},
        Case{"rand256-Q5_1", kQuantizedTolerance}, Case{"rand256-Q2_K", kQuantizedTolerance},
        Case{"rand256-Q3_K_M", kQuantizedTolerance}, Case{"rand256-Q4_K_M", kQuantizedTolerance},
        Case{"rand256-Q5_K_M", kQuantizedTolerance}, Case{"rand256-Q6_K", kQuantizedTolerance}),
    [](const auto& info) {
      std::string name = info.param.stem;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

class Stories : public ::testing::TestWithParam<const char*> {};

TEST_P(Stories, GreedyIdsAreLlamaCpps) {
  const std::string stem = GetParam();
  REFINERY_SKIP_WITHOUT_SHARED(kDir + stem + ".gguf");
  auto model = LlamaModel::Load(kDir + stem + ".gguf");
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_TRUE((*model)->has_quantized_weights());
  const Reference ref = ReadReference(stem);
  auto dec = DnnlDecoder::Create(*model, WeightFormat::kF32, 64);
  ASSERT_TRUE(dec.ok());
  KvCache cache = (*dec)->NewCache(512);
  std::vector<float> logits = PromptLogits(**dec, cache, ref.prompt_ids);
  std::printf("%s: worst prompt logit difference %.3g of the spread\n", stem.c_str(),
              RelativeError(logits, ref.logits));
  std::vector<int32_t> greedy;
  int pos = int(ref.prompt_ids.size());
  while (greedy.size() < ref.greedy_ids.size()) {
    const int32_t next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    greedy.push_back(next);
    DecodeRow row{&cache, next, pos++, true};
    int n = 0;
    const float* l = (*dec)->Step({&row, 1}, &n);
    logits.assign(l, l + (*model)->config.vocab);
  }
  EXPECT_EQ(greedy, ref.greedy_ids);
}

INSTANTIATE_TEST_SUITE_P(Mixed, Stories,
                         ::testing::Values("stories260K-Q4_K_M", "stories260K-Q6_K"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace refinery::llm
