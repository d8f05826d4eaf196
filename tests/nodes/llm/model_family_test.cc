// The model families beyond plain llama, each tested with a random-weight file written in that
// family's shape (its tensor names, keys, bias tensors, tokenizer type and pre value):
//   - tokenizers: a GGUF byte-level BPE tokenizer built from a tiktoken vocabulary's ranks must
//     encode exactly as tiktoken does (Llama 3's llama-bpe split is cl100k's, GPT-2's is r50k's);
//     Qwen2's and SmolLM's splits, which differ from those only around digits, are held to the
//     pieces their regexes give, encoded piece by piece;
//   - Qwen2: q/k/v biases and NeoX rope; Llama 3: rope_freqs factors and end-of-turn tokens;
//     linear rope scaling; and refusals that name what is supported.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "nodes/llm/dnnl_decoder.h"
#include "nodes/llm/model_writer.h"
#include "nodes/llm/quant/file_quantizer.h"
#include "nodes/llm/reference_decoder.h"
#include "nodes/llm/rope.h"
#include "nodes/text/tiktoken_encoding.h"
#include "tests/support/scratch_path.h"

namespace refinery::llm {
namespace {

using ::testing::HasSubstr;

StatusOr<std::shared_ptr<const LlamaModel>> WriteAndLoad(const RandomLlamaSpec& spec,
                                                         const std::string& name) {
  const std::string path = refinery::testing::ScratchPath(name + ".gguf");
  if (Status s = RandomLlama(spec).Write(path); !s.ok()) return s;
  auto file = GgufFile::Open(path);
  if (!file.ok()) return file.status();
  return LlamaModel::FromGguf(*file);
}

// A tiktoken vocabulary as a GGUF BPE vocabulary: token id = rank, and for each token of two or
// more bytes the merge that makes it, found by running BPE on its bytes with only the merges
// ranked below it (the two parts left are the merge's sides).
void BpeFromRanks(const text::BpeVocabulary& vocab, RandomLlamaSpec* spec) {
  for (uint32_t rank = 0; rank <= vocab.max_rank(); ++rank) {
    const std::string bytes(vocab.Bytes(rank));
    ASSERT_FALSE(bytes.empty()) << "rank " << rank << " is missing";
    spec->bpe_tokens.push_back(bytes);
    if (bytes.size() < 2) continue;
    std::vector<std::string> parts;
    for (char c : bytes) parts.emplace_back(1, c);
    while (parts.size() > 2) {
      size_t best = parts.size();
      uint32_t best_rank = rank;
      for (size_t i = 0; i + 1 < parts.size(); ++i) {
        const uint32_t r = vocab.RankOrNone(parts[i] + parts[i + 1]);
        if (r < best_rank) best_rank = r, best = i;
      }
      if (best == parts.size()) break;
      parts[best] += parts[best + 1];
      parts.erase(parts.begin() + long(best) + 1);
    }
    if (parts.size() == 2) spec->bpe_merges.emplace_back(parts[0], parts[1]);
  }
}

// The tokenizer of a file whose vocabulary is `encoding`'s, split as `pre` says.
struct BpeFamily {
  std::shared_ptr<const text::TiktokenEncoding> tiktoken;
  std::shared_ptr<const LlamaModel> model;
};

BpeFamily LoadBpeFamily(const std::string& encoding, const std::string& pre) {
  BpeFamily f;
  auto enc = text::TiktokenEncoding::Get(encoding);
  EXPECT_TRUE(enc.ok()) << enc.status().message() << " (tools/setup.sh fetches it)";
  if (!enc.ok()) return f;
  f.tiktoken = *enc;
  RandomLlamaSpec spec;
  spec.dim = 8;
  spec.hidden = 8;
  spec.heads = 2;
  spec.kv_heads = 1;
  spec.layers = 1;
  spec.tied_output = true;
  spec.bpe_pre = pre;
  BpeFromRanks(f.tiktoken->vocabulary(), &spec);
  spec.control_pieces = {"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"};
  spec.bos_piece = "<|begin_of_text|>";
  spec.eos_piece = "<|end_of_text|>";
  auto model = WriteAndLoad(spec, encoding + "-" + pre);
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (model.ok()) f.model = *model;
  return f;
}

std::vector<int32_t> Tiktoken(const text::TiktokenEncoding& enc, const std::string& text) {
  std::vector<uint32_t> ids;
  enc.EncodeOrdinary(text, &ids);
  return {ids.begin(), ids.end()};
}

// Texts around every alternative of the split regexes: contractions in both cases, digits in
// runs, punctuation runs, newlines, spaces before words and at the end, non-ASCII letters.
const std::vector<std::string> kTexts = {
    "Hello world",
    "It's 2024 and they'LL say: 1234567 items cost $3.50!",
    "  leading and trailing spaces   ",
    "line one\n\nline two\r\n\tindented",
    "naïve café — déjà vu, Ελληνικά, русский, 日本語のテキスト",
    "x=>{return a+b;} // code?!",
    "a  1 b\n2",
};

TEST(ModelFamily, Llama3AndGpt2GgufTokenizersEncodeAsTiktokenDoes) {
  for (const auto& [encoding, pre] :
       {std::pair{"cl100k_base", "llama-bpe"}, {"cl100k_base", "llama3"}, {"r50k_base", "gpt-2"}}) {
    const BpeFamily f = LoadBpeFamily(encoding, pre);
    ASSERT_TRUE(f.model) << encoding;
    const LlamaTokenizer& tok = f.model->tokenizer;
    EXPECT_EQ(tok.model(), "gpt2");
    for (const std::string& text : kTexts) {
      const auto ids = tok.Encode(text, {.add_bos = false});
      EXPECT_EQ(ids, Tiktoken(*f.tiktoken, text)) << pre << ": " << text;
      EXPECT_EQ(tok.Decode(ids), text) << pre;
    }
    // BOS from the file, and the end markers end generation.
    EXPECT_EQ(tok.Encode("Hi", {.add_bos = true}).front(), *tok.ControlId("<|begin_of_text|>"));
    EXPECT_TRUE(tok.EndsGeneration(*tok.ControlId("<|end_of_text|>")));
    EXPECT_TRUE(tok.EndsGeneration(*tok.ControlId("<|eot_id|>")));
    EXPECT_FALSE(tok.EndsGeneration(*tok.ControlId("<|begin_of_text|>")));
  }
}

// Qwen2 and SmolLM split digits one by one. The expected pieces below follow from their regexes
// (nodes/llm/llama_tokenizer.cc): Qwen2's `\p{N}` alternative; SmolLM's first pass taking each
// digit alone and GPT-2's regex running over the text between, so a run of spaces before a digit
// stays one piece there but is two pieces for Qwen2 (`\s+(?!\S)` gives back the last space).
TEST(ModelFamily, Qwen2AndSmolLmSplitDigitsOneByOne) {
  struct Case {
    const char* encoding;
    const char* pre;
    std::string text;
    std::vector<std::string> pieces;
  };
  const std::vector<Case> cases = {
      {"cl100k_base", "qwen2", "Call 555-1234 now, it's 2024!", {"Call", " ", "5",   "5",  "5",
                                                                 "-",    "1", "2",   "3",  "4",
                                                                 " now", ",", " it", "'s", " ",
                                                                 "2",    "0", "2",   "4",  "!"}},
      {"cl100k_base", "qwen2", "a  12", {"a", " ", " ", "1", "2"}},
      {"r50k_base", "smollm", "Call 555-1234 now, it's 2024!", {"Call", " ", "5",   "5",  "5",
                                                                "-",    "1", "2",   "3",  "4",
                                                                " now", ",", " it", "'s", " ",
                                                                "2",    "0", "2",   "4",  "!"}},
      {"r50k_base", "smollm", "a  1", {"a", "  ", "1"}},
      {"r50k_base", "smollm", "x 12y", {"x", " ", "1", "2", "y"}},
  };
  for (const Case& c : cases) {
    const BpeFamily f = LoadBpeFamily(c.encoding, c.pre);
    ASSERT_TRUE(f.model) << c.pre;
    std::string joined;
    std::vector<int32_t> expected;
    for (const std::string& piece : c.pieces) {
      joined += piece;
      for (int32_t id : Tiktoken(*f.tiktoken, piece)) expected.push_back(id);
    }
    ASSERT_EQ(joined, c.text) << "the pieces must cover the text";
    EXPECT_EQ(f.model->tokenizer.Encode(c.text, {.add_bos = false}), expected)
        << c.pre << ": " << c.text;
    // And not what the cl100k/r50k split gives, which keeps digit runs together.
    EXPECT_NE(f.model->tokenizer.Encode(c.text, {.add_bos = false}), Tiktoken(*f.tiktoken, c.text))
        << c.pre << ": " << c.text;
  }
}

// A small byte-level vocabulary for the random-weight family files: every byte, a few merges.
void SmallBpe(RandomLlamaSpec* spec, const std::string& pre) {
  spec->bpe_pre = pre;
  for (int b = 0; b < 256; ++b) spec->bpe_tokens.emplace_back(1, char(b));
  for (const auto& [l, r] : {std::pair{"t", "h"}, {"th", "e"}, {" ", "the"}, {"o", "n"}}) {
    spec->bpe_tokens.push_back(std::string(l) + r);
    spec->bpe_merges.emplace_back(l, r);
  }
}

// Logits of `model` for `prompt`: the plain reference decoder, and the oneDNN decoder with the
// whole prompt in one step; both must agree.
std::vector<float> PromptLogits(const std::shared_ptr<const LlamaModel>& model,
                                const std::vector<int32_t>& prompt) {
  ReferenceDecoder ref(model);
  std::vector<float> expected;
  for (int32_t t : prompt) expected = ref.Forward(t);
  auto dec = DnnlDecoder::Create(model, WeightFormat::kF32, 16);
  EXPECT_TRUE(dec.ok());
  if (!dec.ok()) return expected;
  KvCache cache = (*dec)->NewCache(32);
  std::vector<DecodeRow> rows;
  for (size_t i = 0; i < prompt.size(); ++i)
    rows.push_back({&cache, prompt[i], int(i), i + 1 == prompt.size()});
  int n = 0;
  const float* logits = (*dec)->Step(rows, &n);
  double worst = 0;
  for (size_t i = 0; i < expected.size(); ++i)
    worst = std::max(worst, double(std::abs(logits[i] - expected[i])));
  EXPECT_LT(worst, 1e-4) << "oneDNN decoder vs reference";
  return expected;
}

double MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, double(std::abs(a[i] - b[i])));
  return worst;
}

TEST(ModelFamily, Qwen2LoadsWithItsBiasesAndNeoxRope) {
  RandomLlamaSpec spec;
  spec.arch = "qwen2";
  spec.stddev = 0.2f;  // larger weights, so that the biases and the rope variant show in logits
  SmallBpe(&spec, "qwen2");
  spec.control_pieces = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  spec.eos_piece = "<|endoftext|>";
  spec.chat_template = "{% for message in messages %}{{'<|im_start|>' + message['role']}}";
  auto loaded = WriteAndLoad(spec, "qwen2");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const auto model = *loaded;
  EXPECT_EQ(model->arch, "qwen2");
  EXPECT_TRUE(model->config.rope_neox);
  ASSERT_EQ(model->layers.size(), 2u);
  EXPECT_EQ(model->layers[0].bq.size(), size_t(spec.dim));
  EXPECT_EQ(model->layers[0].bk.size(), size_t(model->config.kv_dim()));
  EXPECT_EQ(model->layers[1].bv.size(), size_t(model->config.kv_dim()));
  const LlamaTokenizer& tok = model->tokenizer;
  EXPECT_TRUE(tok.EndsGeneration(*tok.ControlId("<|im_end|>")));
  EXPECT_TRUE(tok.EndsGeneration(*tok.ControlId("<|endoftext|>")));
  EXPECT_FALSE(tok.EndsGeneration(*tok.ControlId("<|im_start|>")));
  const std::vector<int32_t> prompt = tok.Encode("the one then 42", {.add_bos = false});
  EXPECT_EQ(prompt[0], 256 + 1);  // "the" from the merges t+h, th+e
  const std::vector<float> logits = PromptLogits(model, prompt);

  // The biases are used: without them the logits change.
  auto unbiased = std::make_shared<LlamaModel>(*model);
  for (LlamaLayer& L : unbiased->layers) L.bq.clear(), L.bk.clear(), L.bv.clear();
  EXPECT_GT(MaxDiff(logits, PromptLogits(unbiased, prompt)), 1e-3);
  // The rope variant is used: rotating adjacent pairs instead gives other logits.
  auto adjacent = std::make_shared<LlamaModel>(*model);
  adjacent->config.rope_neox = false;
  EXPECT_GT(MaxDiff(logits, PromptLogits(adjacent, prompt)), 1e-3);

  // quantize keeps the biases as they are (vectors are not converted) and the result loads.
  const std::string q8 = refinery::testing::ScratchPath("qwen2-q8.gguf");
  ASSERT_TRUE(quant::QuantizeFile(model->path, q8, "Q8_0").ok());
  auto quantized = LlamaModel::Load(q8);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ((*quantized)->layers[0].bq, model->layers[0].bq);
  EXPECT_TRUE((*quantized)->has_quantized_weights());
}

// Rope angles against the formula computed in double: NeoX and adjacent pairs, Llama 3's
// per-pair factors and linear scaling.
TEST(ModelFamily, RopeVariantsRotateTheRightPairsByTheRightAngles) {
  LlamaConfig c;
  c.head_dim = 8;
  c.rope_dims = 8;
  c.rope_base = 10000.0f;
  c.rope_freq_factors = {1.0f, 2.0f, 4.0f, 8.0f};
  c.rope_freq_scale = 0.5f;
  const int pos = 37;
  for (bool neox : {false, true}) {
    c.rope_neox = neox;
    std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8}, cs(8);
    const std::vector<float> before = x;
    RopeAngles(c, pos, cs.data());
    ApplyRope(c, x.data(), 1, cs.data());
    for (int i = 0; i < 4; ++i) {
      const double angle =
          0.5 * pos * std::pow(10000.0, -2.0 * i / 8.0) / double(c.rope_freq_factors[size_t(i)]);
      const int a = neox ? i : 2 * i, b = neox ? i + 4 : 2 * i + 1;
      EXPECT_NEAR(x[size_t(a)],
                  before[size_t(a)] * std::cos(angle) - before[size_t(b)] * std::sin(angle), 1e-4)
          << "pair " << i << (neox ? " neox" : " adjacent");
      EXPECT_NEAR(x[size_t(b)],
                  before[size_t(a)] * std::sin(angle) + before[size_t(b)] * std::cos(angle), 1e-4);
    }
  }
  // Linear scaling by 4 gives, at position 8, exactly the unscaled angles of position 2 (the
  // float iteration scales by a power of two without rounding differently).
  LlamaConfig plain;
  plain.rope_dims = 8;
  LlamaConfig scaled = plain;
  scaled.rope_freq_scale = 0.25f;
  std::vector<float> a(8), b(8);
  RopeAngles(scaled, 8, a.data());
  RopeAngles(plain, 2, b.data());
  EXPECT_EQ(a, b);
}

TEST(ModelFamily, Llama3FilesReadRopeFactorsAndScaling) {
  RandomLlamaSpec spec;
  spec.stddev = 0.2f;
  SmallBpe(&spec, "llama-bpe");
  spec.control_pieces = {"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"};
  spec.bos_piece = "<|begin_of_text|>";
  spec.eos_piece = "<|end_of_text|>";
  const int half = spec.dim / spec.heads / 2;
  for (int i = 0; i < half; ++i) spec.rope_freq_factors.push_back(i < half / 2 ? 1.0f : 8.0f);
  auto loaded = WriteAndLoad(spec, "llama3");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const auto model = *loaded;
  EXPECT_EQ(model->config.rope_freq_factors, spec.rope_freq_factors);
  EXPECT_FALSE(model->config.rope_neox);
  EXPECT_TRUE(model->tokenizer.EndsGeneration(*model->tokenizer.ControlId("<|eot_id|>")));
  const std::vector<int32_t> prompt = model->tokenizer.Encode("the one", {.add_bos = true});
  ASSERT_GE(prompt.size(), 3u);
  auto unscaled = std::make_shared<LlamaModel>(*model);
  unscaled->config.rope_freq_factors.clear();
  // Position 0 is not rotated whatever the factors; later positions are.
  EXPECT_EQ(MaxDiff(PromptLogits(model, {prompt[0]}), PromptLogits(unscaled, {prompt[0]})), 0.0);
  EXPECT_GT(MaxDiff(PromptLogits(model, prompt), PromptLogits(unscaled, prompt)), 1e-3);

  RandomLlamaSpec linear = spec;
  linear.rope_freq_factors.clear();
  linear.rope_scaling_factor = 4.0f;
  auto scaled = WriteAndLoad(linear, "llama-linear");
  ASSERT_TRUE(scaled.ok()) << scaled.status().message();
  EXPECT_EQ((*scaled)->config.rope_freq_scale, 0.25f);
}

TEST(ModelFamily, UnsupportedFamiliesAndSettingsAreRefusedByName) {
  RandomLlamaSpec spec;
  spec.arch = "gemma2";
  auto arch = WriteAndLoad(spec, "gemma2");
  ASSERT_FALSE(arch.ok());
  EXPECT_THAT(arch.status().message(),
              HasSubstr("architecture 'gemma2' is not supported (llama, qwen2 are)"));

  spec = RandomLlamaSpec{};
  SmallBpe(&spec, "deepseek-coder");
  auto pre = WriteAndLoad(spec, "deepseek");
  ASSERT_FALSE(pre.ok());
  EXPECT_THAT(pre.status().message(),
              HasSubstr("tokenizer.ggml.pre 'deepseek-coder' is not supported"));
  EXPECT_THAT(pre.status().message(), HasSubstr("qwen2"));

  // YaRN: written by hand over a valid file's keys.
  spec = RandomLlamaSpec{};
  GgufWriter w = RandomLlama(spec);
  w.SetString("llama.rope.scaling.type", "yarn");
  const std::string yarn = refinery::testing::ScratchPath("yarn.gguf");
  ASSERT_TRUE(w.Write(yarn).ok());
  auto file = GgufFile::Open(yarn);
  ASSERT_TRUE(file.ok());
  auto model = LlamaModel::FromGguf(*file);
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("rope.scaling.type 'yarn' is not supported"));

  spec = RandomLlamaSpec{};
  spec.rope_freq_factors = {1.0f, 2.0f};  // head_dim 8 needs 4
  auto factors = WriteAndLoad(spec, "bad-rope-freqs");
  ASSERT_FALSE(factors.ok());
  EXPECT_THAT(factors.status().message(), HasSubstr("rope_freqs.weight' must hold"));
  spec.rope_freq_factors = {1.0f, 0.0f, 1.0f, 1.0f};
  auto zero = WriteAndLoad(spec, "zero-rope-freqs");
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(zero.status().message(), HasSubstr("must be positive numbers"));
}

}  // namespace
}  // namespace refinery::llm
