#include "nodes/llm/reference_decoder.h"

#include <algorithm>
#include <cmath>

#include "nodes/llm/rope.h"

namespace refinery::llm {

void RmsNorm(const float* x, const float* weight, int n, float eps, float* out) {
  double sum = 0;  // ggml accumulates the squares in double
  for (int i = 0; i < n; ++i) sum += double(x[i] * x[i]);
  const float scale = 1.0f / std::sqrt(float(sum / n) + eps);
  for (int i = 0; i < n; ++i) out[i] = (x[i] * scale) * weight[i];
}

void Rope(const LlamaConfig& c, float* x, int heads, int pos) {
  std::vector<float> cos_sin(size_t(c.rope_dims));
  RopeAngles(c, pos, cos_sin.data());
  ApplyRope(c, x, heads, cos_sin.data());
}

void AddBias(const std::vector<float>& bias, float* x) {
  for (size_t i = 0; i < bias.size(); ++i) x[i] += bias[i];
}

float Silu(float x) { return x / (1.0f + std::exp(-x)); }

void Attend(const LlamaConfig& c, const float* q, const float* k_cache, const float* v_cache, int n,
            float* out, std::vector<float>& scores) {
  const int group = c.heads / c.kv_heads, kv_dim = c.kv_dim();
  const float scale = 1.0f / std::sqrt(float(c.head_dim));
  scores.resize(size_t(n));
  for (int h = 0; h < c.heads; ++h) {
    const float* qh = q + h * c.head_dim;
    const int kv_off = (h / group) * c.head_dim;
    float max = -INFINITY;
    for (int t = 0; t < n; ++t) {
      const float* k = k_cache + size_t(t) * kv_dim + kv_off;
      float dot = 0;
      for (int i = 0; i < c.head_dim; ++i) dot += qh[i] * k[i];
      scores[size_t(t)] = dot * scale;
      max = std::max(max, scores[size_t(t)]);
    }
    float sum = 0;
    for (int t = 0; t < n; ++t) sum += (scores[size_t(t)] = std::exp(scores[size_t(t)] - max));
    float* o = out + h * c.head_dim;
    std::fill(o, o + c.head_dim, 0.0f);
    for (int t = 0; t < n; ++t) {
      const float w = scores[size_t(t)] / sum;
      const float* v = v_cache + size_t(t) * kv_dim + kv_off;
      for (int i = 0; i < c.head_dim; ++i) o[i] += w * v[i];
    }
  }
}

namespace {
// y[out] = W[out][in] x[in], in float: quantized rows are dequantised first (the plain
// semantics of the weights, not llama.cpp's quantised-activation products).
void MatVec(const Weight& w, const float* x, float* y) {
  std::vector<float> row(size_t(w.cols));
  for (int o = 0; o < w.rows; ++o) {
    w.Row(o, row.data());
    float sum = 0;
    for (int i = 0; i < w.cols; ++i) sum += row[size_t(i)] * x[i];
    y[o] = sum;
  }
}
}  // namespace

ReferenceDecoder::ReferenceDecoder(std::shared_ptr<const LlamaModel> model)
    : model_(std::move(model)), k_cache_(model_->layers.size()), v_cache_(model_->layers.size()) {}

std::vector<float> ReferenceDecoder::Forward(int32_t token) {
  const LlamaConfig& c = model_->config;
  const int kv_dim = c.kv_dim();
  std::vector<float> x(size_t(c.dim));
  model_->token_embd.Row(token, x.data());
  std::vector<float> xb(size_t(c.dim)), q(size_t(c.dim)), k(static_cast<size_t>(kv_dim)),
      v(static_cast<size_t>(kv_dim)), att(size_t(c.dim)), tmp(size_t(c.dim)),
      gate(size_t(c.hidden)), up(size_t(c.hidden)), scratch;
  for (size_t l = 0; l < model_->layers.size(); ++l) {
    const LlamaLayer& L = model_->layers[l];
    RmsNorm(x.data(), L.attn_norm.data(), c.dim, c.norm_eps, xb.data());
    MatVec(L.wq, xb.data(), q.data());
    MatVec(L.wk, xb.data(), k.data());
    MatVec(L.wv, xb.data(), v.data());
    AddBias(L.bq, q.data());
    AddBias(L.bk, k.data());
    AddBias(L.bv, v.data());
    Rope(c, q.data(), c.heads, pos_);
    Rope(c, k.data(), c.kv_heads, pos_);
    k_cache_[l].insert(k_cache_[l].end(), k.begin(), k.end());
    v_cache_[l].insert(v_cache_[l].end(), v.begin(), v.end());
    Attend(c, q.data(), k_cache_[l].data(), v_cache_[l].data(), pos_ + 1, att.data(), scratch);
    MatVec(L.wo, att.data(), tmp.data());
    for (int i = 0; i < c.dim; ++i) x[size_t(i)] += tmp[size_t(i)];
    RmsNorm(x.data(), L.ffn_norm.data(), c.dim, c.norm_eps, xb.data());
    MatVec(L.w_gate, xb.data(), gate.data());
    MatVec(L.w_up, xb.data(), up.data());
    for (int i = 0; i < c.hidden; ++i) gate[size_t(i)] = Silu(gate[size_t(i)]) * up[size_t(i)];
    MatVec(L.w_down, gate.data(), tmp.data());
    for (int i = 0; i < c.dim; ++i) x[size_t(i)] += tmp[size_t(i)];
  }
  RmsNorm(x.data(), model_->output_norm.data(), c.dim, c.norm_eps, xb.data());
  std::vector<float> logits(size_t(c.vocab));
  MatVec(model_->output(), xb.data(), logits.data());
  ++pos_;
  return logits;
}

}  // namespace refinery::llm
