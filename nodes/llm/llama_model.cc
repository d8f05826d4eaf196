#include "nodes/llm/llama_model.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <tuple>

namespace refinery::llm {
namespace {

struct Loader {
  const GgufFile& file;
  std::string error;

  // A vector of `n` values, as float.
  bool Vector(const std::string& name, int64_t n, std::vector<float>* dst) {
    const GgufTensor* t = Checked(name, n, 1);
    if (t) *dst = t->ToFloat();
    return t != nullptr;
  }
  // A matrix of `in` columns (ne0) and `out` rows (ne1): a view of the mapped file, any type.
  bool Matrix(const std::string& name, int64_t in, int64_t out, Weight* dst) {
    const GgufTensor* t = Checked(name, in, out);
    if (!t) return false;
    dst->rows = int(out);
    dst->cols = int(in);
    dst->q = quant::Matrix{t->type, int(out), int(in), t->data};
    return true;
  }
  const GgufTensor* Checked(const std::string& name, int64_t in, int64_t out) {
    const GgufTensor* t = file.Tensor(name);
    if (!t) {
      Fail("tensor '" + name + "' is missing");
      return nullptr;
    }
    const bool shape_ok =
        out == 1 ? (t->dims.size() == 1 && int64_t(t->dims[0]) == in)
                 : (t->dims.size() == 2 && int64_t(t->dims[0]) == in && int64_t(t->dims[1]) == out);
    if (!shape_ok) {
      std::string dims;
      for (uint64_t d : t->dims) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
      Fail("tensor '" + name + "' has shape [" + dims + "], expected [" + std::to_string(in) +
           (out == 1 ? "" : ", " + std::to_string(out)) + "] from the metadata");
      return nullptr;
    }
    return t;
  }
  bool Fail(const std::string& what) {
    if (error.empty()) error = what;
    return false;
  }
};

// The architectures this decoder runs, and how each differs from llama. Mistral, TinyLlama,
// SmolLM and Llama 3 files are all `llama`.
struct Family {
  const char* arch;
  bool neox_rope;  // rotates halves, not adjacent pairs (the file's q/k rows are not permuted)
  bool qkv_bias;   // q/k/v projections have bias tensors (required)
};
constexpr Family kFamilies[] = {{"llama", false, false}, {"qwen2", true, true}};

const Family* FindFamily(const std::string& arch) {
  for (const Family& f : kFamilies)
    if (arch == f.arch) return &f;
  return nullptr;
}

// Rope scaling as llama.cpp reads it: a scaling factor (rope.scaling.factor, or the older
// rope.scale_linear) divides positions unless the type is `none`; Llama 3's scaling is the
// rope_freqs tensor of per-pair divisors. YaRN and LongRoPE change the angles per dimension
// band and the attention scale, which this decoder does not do: they are refused by name.
Status ReadRopeScaling(const GgufFile& file, const std::string& k, LlamaConfig* c) {
  const std::string type = file.String(k + "rope.scaling.type").value_or("");
  if (!type.empty() && type != "none" && type != "linear") {
    return Status::InvalidArgument(
        k + "rope.scaling.type '" + type +
        "' is not supported (none, linear, and Llama 3's rope_freqs are)");
  }
  double factor = file.Float(k + "rope.scaling.factor").value_or(0.0);
  if (factor == 0.0) factor = file.Float(k + "rope.scale_linear").value_or(0.0);
  if (type != "none" && factor != 0.0) {
    if (!(factor > 0.0) || !std::isfinite(factor))
      return Status::InvalidArgument(k + "rope.scaling.factor " + std::to_string(factor) +
                                     " must be a positive number");
    c->rope_freq_scale = float(1.0 / factor);
  }
  if (const GgufTensor* t = file.Tensor("rope_freqs.weight")) {
    if (t->dims.size() != 1 || int64_t(t->dims[0]) != c->rope_dims / 2) {
      return Status::InvalidArgument("tensor 'rope_freqs.weight' must hold rope_dims / 2 = " +
                                     std::to_string(c->rope_dims / 2) + " values");
    }
    c->rope_freq_factors = t->ToFloat();
    for (float f : c->rope_freq_factors) {
      if (!(f > 0.0f) || !std::isfinite(f))
        return Status::InvalidArgument("tensor 'rope_freqs.weight' holds " + std::to_string(f) +
                                       "; rope frequency factors must be positive numbers");
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::shared_ptr<const LlamaModel>> LlamaModel::FromGguf(
    std::shared_ptr<const GgufFile> shared) {
  const GgufFile& file = *shared;
  const std::string where = file.path() + ": ";
  const std::string arch = file.String("general.architecture").value_or("");
  const Family* family = FindFamily(arch);
  if (!family) {
    return Status::InvalidArgument(where + "architecture '" + arch +
                                   "' is not supported (llama, qwen2 are)");
  }
  // Every hyperparameter key is under the architecture's name: llama.block_count,
  // qwen2.block_count.
  const std::string k = arch + ".";
  auto model = std::make_shared<LlamaModel>();
  model->path = file.path();
  model->file = shared;
  model->arch = arch;
  LlamaConfig& c = model->config;
  auto need = [&](const char* key, int* dst) -> Status {
    auto v = file.Int(k + key);
    if (!v) return Status::InvalidArgument(where + "metadata " + k + key + " is missing");
    if (*v <= 0 || *v > (1 << 24))
      return Status::InvalidArgument(where + k + key + " = " + std::to_string(*v) +
                                     " is out of range");
    *dst = int(*v);
    return Status::Ok();
  };
  for (auto [key, dst] : {std::pair{"embedding_length", &c.dim},
                          {"feed_forward_length", &c.hidden},
                          {"block_count", &c.layers},
                          {"attention.head_count", &c.heads},
                          {"context_length", &c.context}}) {
    if (Status s = need(key, dst); !s.ok()) return s;
  }
  c.kv_heads = int(file.Int(k + "attention.head_count_kv").value_or(c.heads));
  if (c.dim % c.heads != 0)
    return Status::InvalidArgument(where + "embedding_length is not a multiple of head_count");
  if (c.kv_heads <= 0 || c.heads % c.kv_heads != 0) {
    return Status::InvalidArgument(where + "head_count_kv " + std::to_string(c.kv_heads) +
                                   " does not divide head_count " + std::to_string(c.heads));
  }
  c.head_dim = c.dim / c.heads;
  c.rope_dims = int(file.Int(k + "rope.dimension_count").value_or(c.head_dim));
  if (c.rope_dims <= 0 || c.rope_dims > c.head_dim || c.rope_dims % 2) {
    return Status::InvalidArgument(where + "rope.dimension_count " + std::to_string(c.rope_dims) +
                                   " must be even and at most the head size");
  }
  c.rope_base = float(file.Float(k + "rope.freq_base").value_or(10000.0));
  c.rope_neox = family->neox_rope;
  if (Status s = ReadRopeScaling(file, k, &c); !s.ok()) return s.WithContext(file.path());
  c.norm_eps = float(file.Float(k + "attention.layer_norm_rms_epsilon").value_or(1e-5));
  auto tokenizer = LlamaTokenizer::FromGguf(file);
  if (!tokenizer.ok()) return tokenizer.status();
  model->tokenizer = std::move(tokenizer).value();

  const GgufTensor* embd = file.Tensor("token_embd.weight");
  if (!embd || embd->dims.size() != 2)
    return Status::InvalidArgument(where + "tensor 'token_embd.weight' is missing or not 2-D");
  c.vocab = int(embd->dims[1]);
  if (size_t(c.vocab) != model->tokenizer.size()) {
    return Status::InvalidArgument(where + "token_embd has " + std::to_string(c.vocab) +
                                   " rows but the tokenizer has " +
                                   std::to_string(model->tokenizer.size()) + " tokens");
  }
  Loader load{file, {}};
  load.Matrix("token_embd.weight", c.dim, c.vocab, &model->token_embd);
  load.Vector("output_norm.weight", c.dim, &model->output_norm);
  if (file.Tensor("output.weight"))
    load.Matrix("output.weight", c.dim, c.vocab, &model->output_weight);
  else
    model->tied_output = true;
  // block_count is metadata: check it against the tensors the file holds before sizing
  // anything from it (16M claimed blocks in an 820 KB file must not allocate gigabytes).
  const size_t needed = 9 * size_t(c.layers) + 2;
  if (file.tensors().size() < needed ||
      !file.Tensor("blk." + std::to_string(c.layers - 1) + ".attn_norm.weight")) {
    return Status::InvalidArgument(where + k + "block_count = " + std::to_string(c.layers) +
                                   " needs at least " + std::to_string(needed) +
                                   " tensors (blk.0 .. blk." + std::to_string(c.layers - 1) +
                                   "); the file has " + std::to_string(file.tensors().size()));
  }
  model->layers.resize(size_t(c.layers));
  for (int l = 0; l < c.layers && load.error.empty(); ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LlamaLayer& L = model->layers[size_t(l)];
    load.Vector(p + "attn_norm.weight", c.dim, &L.attn_norm);
    load.Matrix(p + "attn_q.weight", c.dim, c.dim, &L.wq);
    load.Matrix(p + "attn_k.weight", c.dim, c.kv_dim(), &L.wk);
    load.Matrix(p + "attn_v.weight", c.dim, c.kv_dim(), &L.wv);
    // q/k/v biases: qwen2 has them; a llama file may (llama.cpp reads them when present).
    for (auto [name, n, dst] : {std::tuple{"attn_q.bias", c.dim, &L.bq},
                                {"attn_k.bias", c.kv_dim(), &L.bk},
                                {"attn_v.bias", c.kv_dim(), &L.bv}}) {
      if (family->qkv_bias || file.Tensor(p + name)) load.Vector(p + name, n, dst);
    }
    load.Matrix(p + "attn_output.weight", c.dim, c.dim, &L.wo);
    load.Vector(p + "ffn_norm.weight", c.dim, &L.ffn_norm);
    load.Matrix(p + "ffn_gate.weight", c.dim, c.hidden, &L.w_gate);
    load.Matrix(p + "ffn_up.weight", c.dim, c.hidden, &L.w_up);
    load.Matrix(p + "ffn_down.weight", c.hidden, c.dim, &L.w_down);
  }
  if (!load.error.empty()) return Status::InvalidArgument(where + load.error);
  return std::shared_ptr<const LlamaModel>(std::move(model));
}

StatusOr<std::shared_ptr<const LlamaModel>> LlamaModel::Load(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<const LlamaModel>> loaded;
  std::error_code ec;
  const std::string key = std::filesystem::weakly_canonical(path, ec).string();
  std::lock_guard lock(mu);
  if (auto it = loaded.find(key); it != loaded.end()) {
    if (auto model = it->second.lock()) return model;
  }
  auto file = GgufFile::Open(path);
  if (!file.ok()) return file.status();
  auto model = FromGguf(*file);
  if (model.ok()) loaded[key] = *model;
  return model;
}

size_t LlamaModel::parameter_count() const {
  size_t n = token_embd.parameters() + output_norm.size() + output_weight.parameters();
  for (const LlamaLayer& L : layers) {
    n += L.attn_norm.size() + L.ffn_norm.size() + L.bq.size() + L.bk.size() + L.bv.size();
    for (const Weight* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down})
      n += w->parameters();
  }
  return n;
}

bool LlamaModel::has_quantized_weights() const {
  if (token_embd.quantized() || output().quantized()) return true;
  for (const LlamaLayer& L : layers)
    for (const Weight* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down})
      if (w->quantized()) return true;
  return false;
}

void Weight::Row(int r, float* out) const { quant::DequantizeMatrixRow(q, r, out); }

}  // namespace refinery::llm
