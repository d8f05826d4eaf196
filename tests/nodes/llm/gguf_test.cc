// GGUF reading: round trips through the writer, every tensor type, and hostile files (truncated,
// corrupt, lying about sizes) refused with the file, the byte offset and the reason.
#include "nodes/llm/gguf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "nodes/llm/dnnl_decoder.h"
#include "nodes/llm/llama_model.h"
#include "nodes/llm/model_writer.h"
#include "tests/support/scratch_path.h"

namespace refinery::llm {
namespace {

using ::testing::HasSubstr;

std::string Write(const std::string& name, const std::string& bytes) {
  const std::string path = refinery::testing::ScratchPath(name);
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return path;
}

std::string OpenError(const std::string& name, const std::string& bytes) {
  auto f = GgufFile::Open(Write(name, bytes));
  return f.ok() ? "<opened>" : f.status().message();
}

TEST(Gguf, RoundTripsMetadataAndEveryTensorType) {
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.SetU32("n", 7);
  w.SetF32("x", 0.5f);
  w.SetStrings("list", {"a", "", "ccc"});
  std::vector<float> values(64);
  for (size_t i = 0; i < values.size(); ++i) values[i] = float(i) * 0.25f - 8.0f;
  w.AddTensor("f32", {32, 2}, values, GgmlType::kF32);
  w.AddTensor("f16", {32, 2}, values, GgmlType::kF16);
  w.AddTensor("bf16", {64}, values, GgmlType::kBF16);
  w.AddTensor("q8", {64}, values, GgmlType::kQ8_0);
  auto f = GgufFile::Open(Write("roundtrip.gguf", w.Bytes()));
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ((*f)->version(), 3u);
  EXPECT_EQ((*f)->String("general.architecture"), "llama");
  EXPECT_EQ((*f)->Int("n"), 7);
  EXPECT_EQ((*f)->Float("x"), 0.5);
  EXPECT_THAT((*f)->Find("list")->strings, ::testing::ElementsAre("a", "", "ccc"));
  EXPECT_EQ((*f)->Tensor("f32")->ToFloat(), values);
  EXPECT_EQ((*f)->Tensor("f16")->ToFloat(), values);  // all exactly representable
  EXPECT_EQ((*f)->Tensor("bf16")->ToFloat(), values);
  const auto q = (*f)->Tensor("q8")->ToFloat();
  for (size_t i = 0; i < values.size(); ++i) EXPECT_NEAR(q[i], values[i], 8.0 / 127) << i;
  EXPECT_EQ((*f)->Tensor("f32")->dims, (std::vector<uint64_t>{32, 2}));
  EXPECT_EQ((*f)->Tensor("nope"), nullptr);
}

std::string ValidFile() {
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.AddTensor("TENSOR_X", {8}, std::vector<float>(8, 1.0f));
  return w.Bytes();
}

TEST(Gguf, HostileFilesAreRefusedWithWhereAndWhy) {
  const std::string good = ValidFile();
  EXPECT_THAT(OpenError("missing.gguf", ""), HasSubstr("too small"));
  EXPECT_THAT(OpenError("magic.gguf", "GGUX" + good.substr(4)), HasSubstr("bad magic"));
  std::string v1 = good;
  v1[4] = 1;
  EXPECT_THAT(OpenError("v1.gguf", v1), HasSubstr("unsupported GGUF version 1"));
  // Truncated anywhere: never a crash, always a message with the file name.
  for (size_t cut : {size_t(24), size_t(40), good.size() / 2, good.size() - 1}) {
    const std::string msg = OpenError("cut.gguf", good.substr(0, cut));
    EXPECT_THAT(msg, HasSubstr("cut.gguf")) << cut;
    EXPECT_NE(msg, "<opened>") << cut;
  }
  // A tensor count that cannot be true.
  std::string many = good;
  const uint64_t huge = uint64_t(1) << 40;
  std::memcpy(&many[8], &huge, 8);
  EXPECT_THAT(OpenError("many.gguf", many), HasSubstr("implausible tensor count"));
  // An array claiming more elements than the file holds is refused before allocating.
  GgufWriter arr;
  arr.SetStrings("list", {"a", "b"});
  std::string lying = arr.Bytes();
  const size_t count_at = lying.find("list") + 4 + 4 + 4;  // key, value type, element type
  std::memcpy(&lying[count_at], &huge, 8);
  EXPECT_THAT(OpenError("lying.gguf", lying), HasSubstr("more than the file holds"));
  // A tensor type we do not read (IQ2_XXS), and a block type whose rows do not fill its blocks.
  std::string iq = good;
  const size_t type_at = iq.find("TENSOR_X") + 8 + 4 + 8;  // name, n_dims, one dim
  const uint32_t iq2_xxs = 16, q4_0 = 2;
  std::memcpy(&iq[type_at], &iq2_xxs, 4);
  EXPECT_THAT(OpenError("iq.gguf", iq), HasSubstr("type IQ2_XXS (16), not supported (F32, F16"));
  std::string q4 = good;
  std::memcpy(&q4[type_at], &q4_0, 4);
  EXPECT_THAT(
      OpenError("q4.gguf", q4),
      HasSubstr("Q4_0 tensor 'TENSOR_X' has a row length not divisible by its block of 32"));
}

TEST(LlamaModel, RefusesWhatItCannotRun) {
  RandomLlamaSpec spec;
  spec.layers = 1;
  GgufWriter w = RandomLlama(spec);
  w.SetString("general.architecture", "falcon");  // a later key with the same name: duplicate
  auto dup = GgufFile::Open(Write("dup.gguf", w.Bytes()));
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.status().message(), HasSubstr("duplicate metadata key 'general.architecture'"));

  GgufWriter other;
  other.SetString("general.architecture", "falcon");
  auto f = GgufFile::Open(Write("falcon.gguf", other.Bytes()));
  ASSERT_TRUE(f.ok());
  auto m = LlamaModel::FromGguf(*f);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("architecture 'falcon' is not supported"));

  // Heads that do not divide: caught from the metadata before any tensor is read.
  spec.dim = 96;
  spec.heads = 6;
  spec.kv_heads = 4;
  auto bad = GgufFile::Open(Write("heads.gguf", RandomLlama(spec).Bytes()));
  ASSERT_TRUE(bad.ok());
  auto hm = LlamaModel::FromGguf(*bad);
  ASSERT_FALSE(hm.ok());
  EXPECT_THAT(hm.status().message(), HasSubstr("does not divide"));
}

// Rewrites the u32 value of metadata `key` in a written file (key string, u32 type, value).
void PatchU32(std::string* bytes, const std::string& key, uint32_t value) {
  const size_t at = bytes->find(key);
  ASSERT_NE(at, std::string::npos) << key;
  std::memcpy(&(*bytes)[at + key.size() + 4], &value, 4);
}

long RssKb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

TEST(LlamaModel, MetadataIsCheckedAgainstTheFileBeforeAnythingIsSizedFromIt) {
  RandomLlamaSpec spec;
  spec.layers = 1;
  // 16,777,216 blocks claimed by a file holding one: refused before any layer is allocated.
  std::string bytes = RandomLlama(spec).Bytes();
  PatchU32(&bytes, "llama.block_count", 1u << 24);
  auto f = GgufFile::Open(Write("blocks.gguf", bytes));
  ASSERT_TRUE(f.ok()) << f.status().message();
  const long before = RssKb();
  auto m = LlamaModel::FromGguf(*f);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("block_count = 16777216 needs at least"));
  EXPECT_THAT(m.status().message(), HasSubstr("the file has 12"));
  EXPECT_LT(RssKb() - before, 64 * 1024) << "KB allocated while refusing it";

  // A 16M-token context (metadata only) costs nothing up front: the KV cache is sized per
  // request (prompt + max_new_tokens) and the RoPE table covers 8192 positions.
  bytes = RandomLlama(spec).Bytes();
  PatchU32(&bytes, "llama.context_length", 1u << 24);
  auto big = GgufFile::Open(Write("context.gguf", bytes));
  ASSERT_TRUE(big.ok()) << big.status().message();
  auto model = LlamaModel::FromGguf(*big);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ((*model)->config.context, 1 << 24);
  const long start = RssKb();
  auto decoder = DnnlDecoder::Create(*model, WeightFormat::kF32);
  ASSERT_TRUE(decoder.ok()) << decoder.status().message();
  KvCache cache = (*decoder)->NewCache(64);
  EXPECT_LT(RssKb() - start, 64 * 1024) << "KB allocated for a decoder of a 16M context";
}

}  // namespace
}  // namespace refinery::llm
