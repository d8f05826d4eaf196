// The oneDNN decoder against the plain C++ reference (random models the test writes: several head
// counts, GQA ratios, tied and separate outputs, batched sequences) and against llama.cpp on the
// real stories260K model (shared/models; skipped when absent).
#include "nodes/llm/dnnl_decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "nodes/llm/model_writer.h"
#include "nodes/llm/quant/file_quantizer.h"
#include "nodes/llm/reference_decoder.h"
#include "tests/support/scratch_path.h"
#include "tests/support/set_up_material.h"

namespace refinery::llm {
namespace {

const std::string kModels = refinery::testing::SharedPath("models/");

std::shared_ptr<const LlamaModel> WriteAndLoad(const RandomLlamaSpec& spec,
                                               const std::string& name) {
  const std::string path = refinery::testing::ScratchPath(name + ".gguf");
  EXPECT_TRUE(RandomLlama(spec).Write(path).ok());
  auto file = GgufFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status().message();
  auto model = LlamaModel::FromGguf(*file);
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? *model : nullptr;
}

double MaxAbsDiff(const float* a, const std::vector<float>& b) {
  double worst = 0;
  for (size_t i = 0; i < b.size(); ++i) worst = std::max(worst, double(std::abs(a[i] - b[i])));
  return worst;
}

struct Shape {
  int dim, heads, kv_heads, layers;
  bool tied;
};

class RandomModels : public ::testing::TestWithParam<Shape> {};

// Two sequences decoded together: sequence A's whole prompt in the first step next to nothing,
// then both sequences one token per step, B starting later. Every row's logits must equal the
// reference decoder's for that sequence alone.
TEST_P(RandomModels, BatchedStepsMatchTheReference) {
  const Shape s = GetParam();
  RandomLlamaSpec spec;
  spec.dim = s.dim;
  spec.heads = s.heads;
  spec.kv_heads = s.kv_heads;
  spec.layers = s.layers;
  spec.hidden = s.dim * 3 - 7;
  spec.tied_output = s.tied;
  spec.seed = uint64_t(s.dim * 131 + s.heads * 7 + s.kv_heads);
  spec.stddev = 0.08f;
  auto model = WriteAndLoad(spec, "rand-" + std::to_string(s.dim) + "-" + std::to_string(s.heads) +
                                      "-" + std::to_string(s.kv_heads) + (s.tied ? "-tied" : ""));
  ASSERT_TRUE(model);
  EXPECT_EQ(model->tied_output, s.tied);
  auto dec = DnnlDecoder::Create(model, WeightFormat::kF32, 64);
  ASSERT_TRUE(dec.ok()) << dec.status().message();
  KvCache a = (*dec)->NewCache(64), b = (*dec)->NewCache(64);
  ReferenceDecoder ref_a(model), ref_b(model);
  const std::vector<int32_t> prompt_a = {1, 40, 41, 42, 100, 7};
  std::vector<DecodeRow> rows;
  for (size_t i = 0; i < prompt_a.size(); ++i) rows.push_back({&a, prompt_a[i], int(i), true});
  int n = 0;
  const float* logits = (*dec)->Step(rows, &n);
  ASSERT_EQ(n, int(prompt_a.size()));
  double worst = 0;
  for (size_t i = 0; i < prompt_a.size(); ++i) {
    worst = std::max(
        worst, MaxAbsDiff(logits + i * size_t(model->config.vocab), ref_a.Forward(prompt_a[i])));
  }
  int pos_a = int(prompt_a.size()), pos_b = 0;
  for (int step = 0; step < 10; ++step) {
    const int32_t ta = 3 + (step * 37) % 250, tb = 5 + (step * 53) % 250;
    rows = {{&a, ta, pos_a++, true}};
    if (step >= 2) rows.push_back({&b, tb, pos_b++, true});
    logits = (*dec)->Step(rows, &n);
    ASSERT_EQ(n, int(rows.size()));
    worst = std::max(worst, MaxAbsDiff(logits, ref_a.Forward(ta)));
    if (step >= 2)
      worst = std::max(worst, MaxAbsDiff(logits + model->config.vocab, ref_b.Forward(tb)));
  }
  EXPECT_LT(worst, 2e-4);
}

INSTANTIATE_TEST_SUITE_P(Shapes, RandomModels,
                         ::testing::Values(Shape{64, 4, 4, 2, false},   // multi-head
                                           Shape{64, 8, 2, 2, true},    // GQA 4:1, tied output
                                           Shape{96, 6, 3, 3, false},   // GQA 2:1, head size 16
                                           Shape{64, 4, 1, 1, true}));  // multi-query

// A quantized model: a step of many rows (a prompt) takes the dequantised-tile product, a step of
// one row the 8-bit block kernels. The first computes what the plain reference decoder computes
// (dequantised weights, float activations), so it must agree with it to float noise; the second
// rounds activations to 8 bits, so it agrees to that rounding only.
// A random model wide enough for the K formats (256), written as F32 and quantized to Q4_K_M.
struct FloatAndQuantized {
  std::string f32, q4;
};
FloatAndQuantized WriteFloatAndQuantized(const std::string& name) {
  RandomLlamaSpec spec;
  spec.dim = 256;
  spec.hidden = 512;
  spec.heads = 4;
  spec.kv_heads = 2;
  spec.stddev = 0.05f;
  spec.context = 1024;  // the threads test decodes 523 positions
  spec.pieces = {"a", "b", "c"};
  FloatAndQuantized paths{refinery::testing::ScratchPath(name + "-f32.gguf"),
                          refinery::testing::ScratchPath(name + "-q4km.gguf")};
  EXPECT_TRUE(RandomLlama(spec).Write(paths.f32).ok());
  EXPECT_TRUE(quant::QuantizeFile(paths.f32, paths.q4, "Q4_K_M").ok());
  return paths;
}

TEST(DnnlDecoder, QuantizedPromptStepsMatchThePlainDecoder) {
  auto model = LlamaModel::Load(WriteFloatAndQuantized("prompt").q4);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE((*model)->layers[0].w_gate.quantized());
  std::vector<int32_t> prompt;
  for (int i = 0; i < 48; ++i) prompt.push_back(3 + (i * 37) % 250);  // byte tokens
  ReferenceDecoder ref(*model);
  std::vector<std::vector<float>> expected;
  for (int32_t t : prompt) expected.push_back(ref.Forward(t));
  auto dec = DnnlDecoder::Create(*model, WeightFormat::kF32, 64);
  ASSERT_TRUE(dec.ok()) << dec.status().message();
  KvCache cache = (*dec)->NewCache(64);
  std::vector<DecodeRow> rows;
  for (size_t i = 0; i < prompt.size(); ++i) rows.push_back({&cache, prompt[i], int(i), true});
  int n = 0;
  const float* logits = (*dec)->Step(rows, &n);
  ASSERT_EQ(n, int(prompt.size()));
  const int vocab = (*model)->config.vocab;
  double worst = 0, spread = 0;
  for (size_t r = 0; r < prompt.size(); ++r) {
    worst = std::max(worst, MaxAbsDiff(logits + r * size_t(vocab), expected[r]));
    const auto [lo, hi] = std::minmax_element(expected[r].begin(), expected[r].end());
    spread = std::max(spread, double(*hi - *lo));
  }
  EXPECT_LT(worst / spread, 1e-4) << "prompt step vs plain decoder";
  // One more token alone: the block kernels, within their activation rounding.
  DecodeRow next{&cache, 42, int(prompt.size()), true};
  logits = (*dec)->Step({&next, 1}, &n);
  const std::vector<float> one = ref.Forward(42);
  EXPECT_LT(MaxAbsDiff(logits, one) / spread, 0.03) << "single-row step vs plain decoder";
  EXPECT_GT(MaxAbsDiff(logits, one), 0.0) << "the single row must take the 8-bit kernels";
}

// F16 and BF16 files, as llama.cpp's converters write them: the weight matrices stay 16-bit in
// the mapped file (never widened to float32 in memory), and every step size agrees with the plain
// decoder, which widens each row as it reads it, to float noise: a prompt (tiles widened for
// gemm), then single rows and a step of three rows (the widening gemv), on two threads.
TEST(DnnlDecoder, HalfFloatFilesRunInPlaceAndMatchThePlainDecoder) {
  const FloatAndQuantized paths = WriteFloatAndQuantized("half");
  for (const char* type : {"F16", "BF16"}) {
    const std::string path = refinery::testing::ScratchPath(std::string("half-") + type + ".gguf");
    ASSERT_TRUE(quant::QuantizeFile(paths.f32, path, type).ok()) << type;
    auto model = LlamaModel::Load(path);
    ASSERT_TRUE(model.ok()) << model.status().message();
    const LlamaModel& m = **model;
    EXPECT_TRUE(m.token_embd.half()) << type;
    for (const LlamaLayer& L : m.layers)
      for (const Weight* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down})
        EXPECT_TRUE(w->half() && !w->quantized()) << type;
    std::vector<int32_t> tokens;
    for (int i = 0; i < 44; ++i) tokens.push_back(3 + (i * 29) % 250);
    ReferenceDecoder ref(*model);
    std::vector<std::vector<float>> expected;
    for (int32_t t : tokens) expected.push_back(ref.Forward(t));
    auto dec = DnnlDecoder::Create(*model, WeightFormat::kF32, 64, /*threads=*/2);
    ASSERT_TRUE(dec.ok()) << dec.status().message();
    KvCache cache = (*dec)->NewCache(64);
    // Steps of 38 rows (a prompt), 1, 1, 1 and 3 rows: every row's logits.
    const int vocab = m.config.vocab;
    double worst = 0, spread = 0;
    int pos = 0;
    for (int count : {38, 1, 1, 1, 3}) {
      std::vector<DecodeRow> rows;
      for (int i = 0; i < count; ++i)
        rows.push_back({&cache, tokens[size_t(pos + i)], pos + i, true});
      int n = 0;
      const float* logits = (*dec)->Step(rows, &n);
      ASSERT_EQ(n, count);
      for (int i = 0; i < count; ++i) {
        const std::vector<float>& want = expected[size_t(pos + i)];
        worst = std::max(worst, MaxAbsDiff(logits + size_t(i) * size_t(vocab), want));
        const auto [lo, hi] = std::minmax_element(want.begin(), want.end());
        spread = std::max(spread, double(*hi - *lo));
      }
      pos += count;
    }
    EXPECT_LT(worst / spread, 1e-4) << type << " steps vs plain decoder";
    size_t matrix_values = m.output().parameters();
    for (const LlamaLayer& L : m.layers)
      for (const Weight* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down})
        matrix_values += w->parameters();
    EXPECT_EQ((*dec)->weight_bytes(), 2 * matrix_values)
        << type << ": the products read two bytes per weight";
  }
}

// Decodes the same tokens one per step through two decoders of one model, each with its own
// cache (attention over the whole cache every step), and measures how far the second's logits
// stray from the first's: the worst gap over the widest logit spread, and the gaps' sum.
struct CacheGap {
  double worst_over_spread = 0, total = 0;
};
CacheGap CompareCaches(DnnlDecoder& reference, KvCache& a, DnnlDecoder& other, KvCache& b,
                       int steps) {
  double worst = 0, spread = 0, total = 0;
  int n = 0;
  for (int pos = 0; pos < steps; ++pos) {
    const DecodeRow ra{&a, 3 + (pos * 7) % 250, pos, true}, rb{&b, ra.token, pos, true};
    const float* la = reference.Step({&ra, 1}, &n);
    const std::vector<float> expected(la, la + reference.model().config.vocab);
    const float* lb = other.Step({&rb, 1}, &n);
    const auto [lo, hi] = std::minmax_element(expected.begin(), expected.end());
    spread = std::max(spread, double(*hi - *lo));
    const double d = MaxAbsDiff(lb, expected);
    worst = std::max(worst, d);
    total += d;
  }
  return {worst / spread, total};
}

// A float16 KV cache: half the bytes per position, and logits within the rounding of keys and
// values to 11 significant bits (not equal: the rounding is really applied).
TEST(DnnlDecoder, Float16KvCacheHalvesMemoryAndStaysClose) {
  RandomLlamaSpec spec;
  spec.dim = 128;
  spec.heads = 8;
  spec.kv_heads = 2;
  spec.stddev = 0.1f;
  spec.pieces = {"a", "b"};
  auto model = WriteAndLoad(spec, "kv16");
  ASSERT_TRUE(model);
  auto f32 = DnnlDecoder::Create(model, WeightFormat::kF32, 64, 1, KvFormat::kF32);
  auto f16 = DnnlDecoder::Create(model, WeightFormat::kF32, 64, 1, KvFormat::kF16);
  ASSERT_TRUE(f32.ok() && f16.ok());
  EXPECT_EQ((*f16)->kv_bytes_per_position() * 2, (*f32)->kv_bytes_per_position());
  EXPECT_EQ((*f32)->kv_bytes_per_position(), size_t(2 * spec.layers * 32 * 4));  // kv_dim 32
  KvCache a = (*f32)->NewCache(40), b = (*f16)->NewCache(40);
  EXPECT_EQ(b.bytes() * 2, a.bytes());
  EXPECT_TRUE(b.f16());
  const CacheGap gap = CompareCaches(**f32, a, **f16, b, 40);
  std::printf("f16 cache: worst logit gap %.3g of the spread\n", gap.worst_over_spread);
  EXPECT_LT(gap.worst_over_spread, 2e-3) << "f16 cache vs f32 cache";
  EXPECT_GT(gap.total, 0.0) << "the f16 cache must round";
}

// A q8_0 KV cache: 34 bytes per 32 values (about 0.27 of f32), logits close to the f32 cache's,
// and a model whose head size is not a multiple of 32 is refused with the reason. The bound:
// a code step is 1/127 of its block's largest value, 16 to 32 times f16's relative step for a
// typical value (a quarter to a half of the largest); the f16 test measures 4.9e-4 on its model,
// this one 9.9e-3.
TEST(DnnlDecoder, Q8KvCacheTakesAQuarterOfTheMemoryAndStaysClose) {
  RandomLlamaSpec spec;
  spec.dim = 128;
  spec.heads = 4;  // head_dim 32
  spec.kv_heads = 2;
  spec.stddev = 0.1f;
  spec.pieces = {"a", "b"};
  auto model = WriteAndLoad(spec, "kv8");
  ASSERT_TRUE(model);
  auto f32 = DnnlDecoder::Create(model, WeightFormat::kF32, 64, 1, KvFormat::kF32);
  auto q8 = DnnlDecoder::Create(model, WeightFormat::kF32, 64, 1, KvFormat::kQ8_0);
  ASSERT_TRUE(f32.ok() && q8.ok());
  const size_t values = size_t(2 * spec.layers * 64);  // kv_dim 64
  EXPECT_EQ((*f32)->kv_bytes_per_position(), values * 4);
  EXPECT_EQ((*q8)->kv_bytes_per_position(), values + values / 32 * 2);
  KvCache a = (*f32)->NewCache(40), b = (*q8)->NewCache(40);
  // Whole key tiles: 40 positions take 64 positions' memory.
  EXPECT_EQ(b.bytes(), size_t(PaddedCapacity(40)) * (*q8)->kv_bytes_per_position());
  EXPECT_EQ(PaddedCapacity(40), 64);
  EXPECT_TRUE(b.q8());
  const CacheGap gap = CompareCaches(**f32, a, **q8, b, 40);
  std::printf("q8_0 cache: worst logit gap %.3g of the spread\n", gap.worst_over_spread);
  EXPECT_LT(gap.worst_over_spread, 2e-2) << "q8_0 cache vs f32 cache";
  EXPECT_GT(gap.total, 0.0) << "the q8_0 cache must round";

  spec.heads = 8;  // head_dim 16
  spec.kv_heads = 4;
  auto narrow = WriteAndLoad(spec, "kv8-narrow");
  ASSERT_TRUE(narrow);
  auto refused = DnnlDecoder::Create(narrow, WeightFormat::kF32, 64, 1, KvFormat::kQ8_0);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(),
              ::testing::HasSubstr("multiple of 32 (this model's is 16); use f16"));
}

// threads: 2 splits every product (the f32 gemv's rows, the block kernels' rows, the prompt's
// tiles) and, past 2^17 cached values per layer, attention (by row and KV head) across two
// threads; each output is still computed by one thread, so the logits are those of one thread.
// The prompt's attention splits (40 rows of 2 x 128 values, 210k), the single rows' at 40
// positions do not (10k), those at 520 do (133k).
TEST(DnnlDecoder, TwoThreadsGiveOneThreadsLogits) {
  const FloatAndQuantized paths = WriteFloatAndQuantized("threads");
  for (const std::string& path : {paths.f32, paths.q4}) {
    auto model = LlamaModel::Load(path);
    ASSERT_TRUE(model.ok()) << model.status().message();
    auto run = [&](int threads) {
      auto dec = DnnlDecoder::Create(*model, WeightFormat::kF32, 64, threads);
      EXPECT_TRUE(dec.ok());
      KvCache cache = (*dec)->NewCache(530);
      std::vector<DecodeRow> rows;
      for (int i = 0; i < 40; ++i) rows.push_back({&cache, 3 + (i * 11) % 250, i, i == 39});
      int n = 0;
      const float* l = (*dec)->Step(rows, &n);  // a prompt: the tiled product
      std::vector<float> logits(l, l + (*model)->config.vocab);
      for (int pos = 40; pos < 523; ++pos) {  // single rows: the gemv or the block kernels
        const DecodeRow row{&cache, 7 + pos % 200, pos, true};
        l = (*dec)->Step({&row, 1}, &n);
        if (pos >= 43 && pos < 520) continue;  // filling the cache
        logits.insert(logits.end(), l, l + (*model)->config.vocab);
      }
      return logits;
    };
    const std::vector<float> one = run(1), two = run(2);
    const auto [lo, hi] = std::minmax_element(one.begin(), one.end());
    EXPECT_LT(MaxAbsDiff(two.data(), one) / double(*hi - *lo), 1e-6) << path;
  }
}

TEST(DnnlDecoder, Stories260KMatchesLlamaCpp) {
  REFINERY_SKIP_WITHOUT_SHARED(kModels + "stories260K.gguf");
  auto model = LlamaModel::Load(kModels + "stories260K.gguf");
  ASSERT_TRUE(model.ok());
  const YAML::Node ref = YAML::LoadFile(kModels + "reference-outputs.json");
  auto dec = DnnlDecoder::Create(*model, WeightFormat::kF32, 64);
  ASSERT_TRUE(dec.ok()) << dec.status().message();
  for (const YAML::Node& g : ref["generation"]) {
    const auto prompt = g["prompt_token_ids"].as<std::vector<int32_t>>();
    KvCache cache = (*dec)->NewCache(128);
    std::vector<DecodeRow> rows;
    for (size_t i = 0; i < prompt.size(); ++i)
      rows.push_back({&cache, prompt[i], int(i), i + 1 == prompt.size()});
    int n;
    const float* logits = (*dec)->Step(rows, &n);  // the whole prompt in one pass
    ASSERT_EQ(n, 1);
    const auto expected =
        g["final_prompt_position_logits"]["all_512_kv_cache_f32"].as<std::vector<float>>();
    EXPECT_LT(MaxAbsDiff(logits, expected), 1e-4) << g["prompt"].as<std::string>();
    std::vector<int32_t> generated;
    int pos = int(prompt.size());
    for (int i = 0; i < 64; ++i) {
      const int32_t next = int32_t(std::max_element(logits, logits + 512) - logits);
      generated.push_back(next);
      DecodeRow row{&cache, next, pos++, true};
      logits = (*dec)->Step({&row, 1}, &n);
    }
    EXPECT_EQ(generated, g["generated_token_ids"].as<std::vector<int32_t>>())
        << g["prompt"].as<std::string>();
  }
}

// Lighter weights cost little: the KL divergence of their next-token distributions from f32's
// stays small on stories260K's prompts (figures in docs/benchmarks.md).
TEST(DnnlDecoder, Bf16AndInt8StayCloseToF32) {
  REFINERY_SKIP_WITHOUT_SHARED(kModels + "stories260K.gguf");
  auto model = LlamaModel::Load(kModels + "stories260K.gguf");
  ASSERT_TRUE(model.ok());
  const std::vector<int32_t> tokens =
      (*model)->tokenizer.Encode("Once upon a time, there was a little girl named Lily.");
  auto run = [&](WeightFormat f) {
    auto dec = DnnlDecoder::Create(*model, f, 64);
    EXPECT_TRUE(dec.ok()) << dec.status().message();
    KvCache cache = (*dec)->NewCache(64);
    std::vector<DecodeRow> rows;
    for (size_t i = 0; i < tokens.size(); ++i) rows.push_back({&cache, tokens[i], int(i), true});
    int n;
    const float* l = (*dec)->Step(rows, &n);
    return std::vector<float>(l, l + size_t(n) * 512);
  };
  const auto f32 = run(WeightFormat::kF32);
  auto mean_kl = [&](const std::vector<float>& q) {
    double total = 0;
    const size_t rows = f32.size() / 512;
    for (size_t r = 0; r < rows; ++r) {
      const float* a = &f32[r * 512];
      const float* b = &q[r * 512];
      const float ma = *std::max_element(a, a + 512), mb = *std::max_element(b, b + 512);
      double za = 0, zb = 0;
      for (int i = 0; i < 512; ++i) za += std::exp(a[i] - ma), zb += std::exp(b[i] - mb);
      double kl = 0;
      for (int i = 0; i < 512; ++i) {
        const double pa = std::exp(a[i] - ma) / za, pb = std::exp(b[i] - mb) / zb;
        if (pa > 0) kl += pa * std::log(pa / std::max(pb, 1e-30));
      }
      total += kl;
    }
    return total / double(rows);
  };
  const double kl_bf16 = mean_kl(run(WeightFormat::kBF16)),
               kl_int8 = mean_kl(run(WeightFormat::kInt8));
  EXPECT_GT(kl_bf16, 0.0);  // they do differ
  EXPECT_LT(kl_bf16, 0.01);
  EXPECT_LT(kl_int8, 0.05);
  RecordProperty("kl_bf16", std::to_string(kl_bf16));
  RecordProperty("kl_int8", std::to_string(kl_int8));
  std::printf("mean KL vs f32: bf16 %.6f, int8 %.6f\n", kl_bf16, kl_int8);
}

}  // namespace
}  // namespace refinery::llm
