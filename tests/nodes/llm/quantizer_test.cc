// graph-runner quantize's engine (quant/file_quantizer.h, quant/quantize.h): files byte-identical
// to llama-quantize's where its rounding is deterministic (every legacy format, Q6_K, F16, and
// the mixed stories260K files), the per-tensor types it chooses for the K mixes, K-format
// rounding error no worse than llama.cpp's on the same weights, and clear refusals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "nodes/llm/model_writer.h"
#include "nodes/llm/quant/dequantize.h"
#include "nodes/llm/quant/file_quantizer.h"
#include "nodes/llm/quant/quantize.h"
#include "tests/support/scratch_path.h"
#include "tests/support/set_up_material.h"

namespace refinery::llm::quant {
namespace {

using ::testing::HasSubstr;

const std::string kModels = refinery::testing::SharedPath("models/");
const std::string kQuantized = kModels + "quantized/";

std::string Bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

struct Identical {
  const char* source;  // under shared/models
  const char* type;
  const char* expected;  // under shared/models/quantized
};

class ByteIdentical : public ::testing::TestWithParam<Identical> {};

TEST_P(ByteIdentical, ToLlamaQuantizesFile) {
  const Identical c = GetParam();
  REFINERY_SKIP_WITHOUT_SHARED(kQuantized + c.expected);
  const std::string out = refinery::testing::ScratchPath(std::string(c.expected));
  auto summary = QuantizeFile(kModels + c.source, out, c.type);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  const std::string ours = Bytes(out), theirs = Bytes(kQuantized + c.expected);
  ASSERT_EQ(ours.size(), theirs.size());
  size_t first = 0;
  while (first < ours.size() && ours[first] == theirs[first]) ++first;
  EXPECT_EQ(first, ours.size()) << "first differing byte at " << first;
}

INSTANTIATE_TEST_SUITE_P(
    Files, ByteIdentical,
    ::testing::Values(Identical{"quantized/rand256.gguf", "Q8_0", "rand256-Q8_0.gguf"},
                      Identical{"quantized/rand256.gguf", "Q4_0", "rand256-Q4_0.gguf"},
                      Identical{"quantized/rand256.gguf", "Q4_1", "rand256-Q4_1.gguf"},
                      Identical{"quantized/rand256.gguf", "Q5_0", "rand256-Q5_0.gguf"},
                      Identical{"quantized/rand256.gguf", "Q5_1", "rand256-Q5_1.gguf"},
                      Identical{"quantized/rand256.gguf", "Q6_K", "rand256-Q6_K.gguf"},
                      Identical{"quantized/rand256.gguf", "F16", "rand256-F16.gguf"},
                      Identical{"stories260K.gguf", "Q4_K_M", "stories260K-Q4_K_M.gguf"},
                      Identical{"stories260K.gguf", "Q6_K", "stories260K-Q6_K.gguf"}),
    [](const auto& info) {
      std::string name = info.param.expected;
      for (char& ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return name;
    });

double RmsError(const GgufTensor& quantized, const std::vector<float>& original) {
  const std::vector<float> back = quantized.ToFloat();
  double sum = 0;
  for (size_t i = 0; i < original.size(); ++i)
    sum += double(back[i] - original[i]) * (back[i] - original[i]);
  return std::sqrt(sum / double(original.size()));
}

class KMix : public ::testing::TestWithParam<const char*> {};

// Our K rounding is our own (a least-squares fit per sub-block), not llama.cpp's search, so
// the bytes differ; the types chosen must be the same and the error no worse.
TEST_P(KMix, SameTypesAsLlamaQuantizeAndErrorWithinFivePercent) {
  const std::string type = GetParam();
  const std::string theirs_path = kQuantized + "rand256-" + type + ".gguf";
  REFINERY_SKIP_WITHOUT_SHARED(theirs_path);
  const std::string out = refinery::testing::ScratchPath("rand256-" + type + ".gguf");
  ASSERT_TRUE(QuantizeFile(kQuantized + "rand256.gguf", out, type).ok());
  auto ours = GgufFile::Open(out), theirs = GgufFile::Open(theirs_path),
       source = GgufFile::Open(kQuantized + "rand256.gguf");
  ASSERT_TRUE(ours.ok() && theirs.ok() && source.ok());
  double ours_total = 0, theirs_total = 0;
  for (const GgufTensor& t : (*theirs)->tensors()) {
    const GgufTensor* mine = (*ours)->Tensor(t.name);
    ASSERT_NE(mine, nullptr) << t.name;
    EXPECT_EQ(mine->type, t.type) << t.name;
    if (!Info(uint32_t(t.type))->quantized) continue;
    const std::vector<float> original = (*source)->Tensor(t.name)->ToFloat();
    const double a = RmsError(*mine, original), b = RmsError(t, original);
    ours_total += a;
    theirs_total += b;
    EXPECT_LE(a, b * 1.05) << t.name << " (" << Info(uint32_t(t.type))->name << ")";
  }
  std::printf("%s: summed RMS rounding error, ours %.5g, llama.cpp %.5g\n", type.c_str(),
              ours_total, theirs_total);
}

INSTANTIATE_TEST_SUITE_P(Mixes, KMix, ::testing::Values("Q4_K_M", "Q5_K_M", "Q2_K", "Q3_K_M"));

// Without shared material: every writable format round-trips within its resolution.
TEST(Quantize, EveryFormatRoundTripsWithinItsResolution) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0, 0.02f);
  std::vector<float> x(4096);
  for (float& v : x) v = normal(rng);
  double rms = 0;
  for (float v : x) rms += double(v) * v;
  rms = std::sqrt(rms / double(x.size()));
  const std::pair<Type, double> bounds[] = {
      {Type::kQ8_0, 0.006}, {Type::kQ6_K, 0.03},  {Type::kQ5_0, 0.06}, {Type::kQ5_1, 0.06},
      {Type::kQ5_K, 0.05},  {Type::kQ4_0, 0.12},  {Type::kQ4_1, 0.12}, {Type::kQ4_K, 0.10},
      {Type::kF16, 0.001},  {Type::kBF16, 0.005}, {Type::kQ3_K, 0.22}, {Type::kQ2_K, 0.40},
      {Type::kIQ4_NL, 0.12}};
  std::map<Type, double> errors;
  for (const auto& [type, bound] : bounds) {
    ASSERT_TRUE(CanQuantize(type));
    const TypeInfo& info = *Info(uint32_t(type));
    std::vector<uint8_t> blocks(x.size() / size_t(info.block_values) * size_t(info.block_bytes));
    QuantizeValues(type, x.data(), int64_t(x.size()), blocks.data());
    std::vector<float> back(x.size());
    DequantizeRow(type, blocks.data(), back.data(), int64_t(x.size()));
    double err = 0;
    for (size_t i = 0; i < x.size(); ++i) err += double(back[i] - x[i]) * (back[i] - x[i]);
    err = std::sqrt(err / double(x.size())) / rms;
    EXPECT_LT(err, bound) << info.name;
    EXPECT_GT(err, 0) << info.name << " cannot be exact on random values";
    errors[type] = err;
  }
  // IQ4_NL spends Q4_0's 4.5 bits on levels spaced for bell-shaped values: it must do better.
  std::printf("relative RMS error: Q4_0 %.4f, IQ4_NL %.4f\n", errors[Type::kQ4_0],
              errors[Type::kIQ4_NL]);
  EXPECT_LT(errors[Type::kIQ4_NL], errors[Type::kQ4_0]);
}

// The low-bit mixes' per-layer rules, on a model deep enough to show them (16 layers; the
// shared rand256 files have two): llama-quantize gives Q2_K's attn_v Q4_K when four or more
// query heads share a key/value head and Q3_K otherwise, its ffn_down and attn_output Q3_K;
// Q3_K_M gives attn_v Q5_K in the first two layers and Q4_K after, ffn_down Q5_K in the first
// sixteenth of the layers and Q4_K after, attn_output Q4_K; Q3_K_L Q5_K for all three; Q3_K_S
// none. The output matrix is Q6_K in all of them.
TEST(Quantize, LowBitMixesGiveEachLayerTheTypesLlamaQuantizeGives) {
  RandomLlamaSpec spec;
  spec.dim = 256;
  spec.hidden = 256;
  spec.layers = 16;
  spec.heads = 4;
  for (const int kv_heads : {1, 4}) {
    spec.kv_heads = kv_heads;
    const std::string model = refinery::testing::ScratchPath("deep" + std::to_string(kv_heads));
    ASSERT_TRUE(RandomLlama(spec).Write(model).ok());
    for (const std::string mix : {"Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L"}) {
      auto plan = PlanQuantization(model, mix);
      ASSERT_TRUE(plan.ok()) << plan.status().message();
      const Type base = mix == "Q2_K" ? Type::kQ2_K : Type::kQ3_K;
      for (const TensorChoice& c : plan->tensors) {
        int layer = -1;
        std::sscanf(c.name.c_str(), "blk.%d.", &layer);
        const auto has = [&](const char* part) { return c.name.find(part) != std::string::npos; };
        Type want = c.from;
        if (c.name == "output.weight") {
          want = Type::kQ6_K;
        } else if (c.name.find("norm") != std::string::npos) {
          want = c.from;
        } else if (mix == "Q2_K") {
          want = has("attn_v") ? (kv_heads == 1 ? Type::kQ4_K : Type::kQ3_K)
                 : has("ffn_down") || has("attn_output") ? Type::kQ3_K
                                                         : base;
        } else if (mix == "Q3_K_M") {
          want = has("attn_v")        ? (layer < 2 ? Type::kQ5_K : Type::kQ4_K)
                 : has("ffn_down")    ? (layer < 1 ? Type::kQ5_K : Type::kQ4_K)
                 : has("attn_output") ? Type::kQ4_K
                                      : base;
        } else if (mix == "Q3_K_L") {
          want = has("attn_v") || has("ffn_down") || has("attn_output") ? Type::kQ5_K : base;
        } else {
          want = base;
        }
        EXPECT_EQ(Info(uint32_t(c.to))->name, std::string(Info(uint32_t(want))->name))
            << mix << " " << c.name << " with " << kv_heads << " key/value heads";
      }
    }
  }
}

// Rows no 256-value super block divides (dim 96, hidden 288: SmolLM2-135M's 576 is such a width)
// take llama-quantize's 32-value fallbacks: Q2_K and Q3_K -> IQ4_NL, Q4_K -> Q5_0, Q5_K -> Q5_1,
// Q6_K -> Q8_0. Each tensor is checked against the type the same mix gives its twin in a model
// whose widths do divide, and the written file's values decode back within their format's error.
TEST(Quantize, RowsNoSuperBlockDividesTakeLlamaQuantizesFallbacks) {
  RandomLlamaSpec narrow;
  narrow.dim = 96;
  narrow.hidden = 288;
  narrow.heads = narrow.kv_heads = 4;
  RandomLlamaSpec wide = narrow;
  wide.dim = 256;
  wide.hidden = 512;
  const std::string narrow_path = refinery::testing::ScratchPath("narrow.gguf"),
                    wide_path = refinery::testing::ScratchPath("wide.gguf");
  ASSERT_TRUE(RandomLlama(narrow).Write(narrow_path).ok());
  ASSERT_TRUE(RandomLlama(wide).Write(wide_path).ok());
  const auto fallback = [](Type t) {
    switch (t) {
      case Type::kQ2_K:
      case Type::kQ3_K:
        return Type::kIQ4_NL;
      case Type::kQ4_K:
        return Type::kQ5_0;
      case Type::kQ5_K:
        return Type::kQ5_1;
      case Type::kQ6_K:
        return Type::kQ8_0;
      default:
        return t;
    }
  };
  int iq4_nl = 0;
  for (const std::string mix : {"Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K"}) {
    auto narrow_plan = PlanQuantization(narrow_path, mix),
         wide_plan = PlanQuantization(wide_path, mix);
    ASSERT_TRUE(narrow_plan.ok() && wide_plan.ok()) << mix;
    ASSERT_EQ(narrow_plan->tensors.size(), wide_plan->tensors.size());
    for (size_t i = 0; i < wide_plan->tensors.size(); ++i) {
      const TensorChoice &n = narrow_plan->tensors[i], &w = wide_plan->tensors[i];
      ASSERT_EQ(n.name, w.name);
      EXPECT_EQ(Info(uint32_t(n.to))->name, std::string(Info(uint32_t(fallback(w.to)))->name))
          << mix << " " << n.name;
      iq4_nl += n.to == Type::kIQ4_NL;
    }
    const std::string out = refinery::testing::ScratchPath("narrow-" + mix + ".gguf");
    ASSERT_TRUE(QuantizeFile(narrow_path, out, mix).ok()) << mix;
    auto written = GgufFile::Open(out), source = GgufFile::Open(narrow_path);
    ASSERT_TRUE(written.ok() && source.ok()) << mix;
    for (const GgufTensor& t : (*written)->tensors()) {
      const std::vector<float> original = (*source)->Tensor(t.name)->ToFloat();
      double rms = 0;
      for (float v : original) rms += double(v) * v;
      rms = std::sqrt(rms / double(original.size()));
      // IQ4_NL and Q5_0 at 4.5-5.5 bits: a few percent of the values' spread (measured below 8%).
      EXPECT_LT(RmsError(t, original), 0.12 * rms) << mix << " " << t.name;
    }
  }
  EXPECT_GT(iq4_nl, 0) << "no IQ4_NL tensor: the low-bit mixes did not reach the fallback";
}

TEST(Quantize, RefusesWhatItCannotDoWithTheReason) {
  RandomLlamaSpec spec;
  const std::string model = refinery::testing::ScratchPath("tiny.gguf");
  ASSERT_TRUE(RandomLlama(spec).Write(model).ok());
  const std::string out = refinery::testing::ScratchPath("out.gguf");
  auto bad_type = QuantizeFile(model, out, "Q3_K_XL");
  ASSERT_FALSE(bad_type.ok());
  EXPECT_THAT(bad_type.status().message(), HasSubstr("unknown type 'Q3_K_XL' (F16, BF16, Q4_0"));
  ASSERT_TRUE(QuantizeFile(model, out, "Q8_0").ok());
  auto twice = QuantizeFile(out, refinery::testing::ScratchPath("out2.gguf"), "Q4_0");
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().message(), HasSubstr("is already Q8_0; quantize from the F32"));
  auto missing = QuantizeFile(model + ".nope", out, "Q4_0");
  EXPECT_FALSE(missing.ok());
  auto unwritable = QuantizeFile(model, "/nonexistent-dir/x.gguf", "Q4_0");
  ASSERT_FALSE(unwritable.ok());
  EXPECT_THAT(unwritable.status().message(), HasSubstr("cannot write /nonexistent-dir/x.gguf"));
}

// The output is written beside its path and renamed into place, tensor by tensor (the whole
// output is never in memory): so a file can be quantized over itself, its tensors read from the
// mapped original while the new file is written, and the result is complete.
TEST(Quantize, WritesOverItsOwnInputAndLeavesNoPartialFile) {
  RandomLlamaSpec spec;
  const std::string model = refinery::testing::ScratchPath("in-place.gguf");
  ASSERT_TRUE(RandomLlama(spec).Write(model).ok());
  const std::string copy = refinery::testing::ScratchPath("in-place-copy.gguf");
  ASSERT_TRUE(QuantizeFile(model, copy, "Q8_0").ok());
  auto summary = QuantizeFile(model, model, "Q8_0");
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_FALSE(std::ifstream(model + ".partial").good());
  std::ifstream a(model, std::ios::binary), b(copy, std::ios::binary);
  const std::string in_place((std::istreambuf_iterator<char>(a)), {});
  const std::string elsewhere((std::istreambuf_iterator<char>(b)), {});
  EXPECT_FALSE(in_place.empty());
  EXPECT_TRUE(in_place == elsewhere) << "quantizing in place must give the same file";
}

}  // namespace
}  // namespace refinery::llm::quant
