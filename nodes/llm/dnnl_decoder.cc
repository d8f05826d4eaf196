#include "nodes/llm/dnnl_decoder.h"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include "nodes/llm/attention.h"
#include "nodes/llm/bf16_gemm.h"
#include "nodes/llm/f32_gemv.h"
#include "nodes/llm/float_formats.h"
#include "nodes/llm/quant/matrix.h"
#include "nodes/llm/reference_decoder.h"
#include "nodes/llm/rope.h"
#include "nodes/llm/tiled_gemm.h"

namespace refinery::llm {

namespace {
// Positions whose RoPE angles are precomputed (8192 x 128 dims = 4 MB at most).
constexpr int kRopeTablePositions = 8192;
// From this many rows in one step (a prompt), quantized products dequantise weight tiles and
// use f32 gemm (Linear::DequantizedProduct); below it, the 8-bit block kernels.
constexpr int kDequantizedProductRows = 32;
}  // namespace

using dnnl::memory;
using Dt = memory::data_type;
using Tag = memory::format_tag;

StatusOr<WeightFormat> ParseWeightFormat(std::string_view name) {
  if (name == "f32") return WeightFormat::kF32;
  if (name == "bf16") return WeightFormat::kBF16;
  if (name == "int8") return WeightFormat::kInt8;
  return Status::InvalidArgument("unknown weight format '" + std::string(name) +
                                 "' (f32, bf16, int8)");
}

StatusOr<KvFormat> ParseKvFormat(std::string_view name) {
  if (name == "f32") return KvFormat::kF32;
  if (name == "f16") return KvFormat::kF16;
  if (name == "q8_0") return KvFormat::kQ8_0;
  return Status::InvalidArgument("unknown KV cache format '" + std::string(name) +
                                 "' (f32, f16, q8_0)");
}

const char* KvFormatName(KvFormat f) {
  switch (f) {
    case KvFormat::kF16:
      return "f16";
    case KvFormat::kQ8_0:
      return "q8_0";
    default:
      return "f32";
  }
}

const char* WeightFormatName(WeightFormat f) {
  switch (f) {
    case WeightFormat::kF32:
      return "f32";
    case WeightFormat::kBF16:
      return "bf16";
    case WeightFormat::kInt8:
      return "int8";
  }
  return "?";
}

Dt SrcType(WeightFormat f) {
  return f == WeightFormat::kF32 ? Dt::f32 : f == WeightFormat::kBF16 ? Dt::bf16 : Dt::u8;
}

bool Bf16MatmulAvailable(dnnl::engine& eng) {
  static const bool available = [&] {
    try {
      const memory::desc src({DNNL_RUNTIME_DIM_VAL, 64}, Dt::bf16, Tag::ab),
          wei({64, 64}, Dt::bf16, Tag::any), dst({DNNL_RUNTIME_DIM_VAL, 64}, Dt::f32, Tag::ab);
      dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, dst), eng);
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return available;
}

// y[M][N] = x[M][K] * W^T on oneDNN for float weight matrices W [N][K] (several stacked: their
// rows concatenated).
class DenseLinear {
 public:
  // `parts`: float32 matrices [rows][K] as the file stores them. One matrix in the f32 format is
  // read where the file maps it (no copy); a stack of several, or the bf16 and int8 formats, are
  // copied into this layer's own buffers.
  DenseLinear(dnnl::engine& eng, std::vector<const Weight*> parts, int K, WeightFormat format)
      : K_(K), format_(format) {
    const bool in_place = format == WeightFormat::kF32 && parts.size() == 1;
    std::vector<float> w;
    if (!in_place)
      for (const Weight* p : parts) w.insert(w.end(), p->f32(), p->f32() + p->parameters());
    for (const Weight* p : parts) N_ += p->rows;
    // oneDNN does not write weights: the const is dropped for its memory handle only.
    float* values = in_place ? const_cast<float*>(parts[0]->f32()) : w.data();
    if (format == WeightFormat::kBF16 && !Bf16MatmulAvailable(eng)) {
      // oneDNN 2.6 has no bf16 matmul without AVX-512: keep the weights in bf16 and multiply
      // with our own kernel (bf16_gemm.h). Same bytes read, f32 arithmetic.
      own_bf16_.resize(w.size());
      for (size_t i = 0; i < w.size(); ++i) own_bf16_[i] = FloatToBf16(w[i]);
      weight_bytes_ = w.size() * 2;
      return;
    }
    // Weights in "ba" ([N][K], as stored): measured 2x faster than the layout `any` picks for
    // this gemm on AVX2 (docs/benchmarks.md). int8 activations are u8 with zero point 128: s8
    // activations take a reference-speed path on AVX2 (10x slower).
    const Dt src_dt = SrcType(format);
    const Dt wei_dt = format == WeightFormat::kInt8 ? Dt::s8 : src_dt;
    const memory::desc src_md({DNNL_RUNTIME_DIM_VAL, K_}, src_dt, Tag::ab);
    const memory::desc wei_md({K_, N_}, wei_dt, Tag::ba);
    const memory::desc dst_md({DNNL_RUNTIME_DIM_VAL, N_}, Dt::f32, Tag::ab);
    dnnl::primitive_attr attr;
    if (format == WeightFormat::kInt8) {
      attr.set_output_scales(1 << 1, {DNNL_RUNTIME_F32_VAL});
      attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, wei_md, dst_md), attr, eng);
    prim_ = dnnl::matmul(pd);
    // The weights as stored ([N][K] = [K, N] in "ba" order), converted, then reordered once.
    memory user;
    std::vector<int8_t> q;
    if (format == WeightFormat::kInt8) {
      q.resize(w.size());
      w_scale_.resize(size_t(N_));
      for (int n = 0; n < N_; ++n) {
        float amax = 0;
        for (int k = 0; k < K_; ++k) amax = std::max(amax, std::abs(w[size_t(n) * K_ + k]));
        const float s = amax > 0 ? amax / 127.0f : 1.0f;
        w_scale_[size_t(n)] = s;
        for (int k = 0; k < K_; ++k)
          q[size_t(n) * K_ + k] = int8_t(std::lround(w[size_t(n) * K_ + k] / s));
      }
      user = memory({{K_, N_}, Dt::s8, Tag::ba}, eng, q.data());
      scales_.resize(size_t(N_));
    } else {
      user = memory({{K_, N_}, Dt::f32, Tag::ba}, eng, values);
    }
    // Small f32 steps read the weights directly (F32Gemv), which needs them [N][K] row-major.
    gemv_ = format == WeightFormat::kF32 &&
            pd.weights_desc() == memory::desc({K_, N_}, Dt::f32, Tag::ba);
    if (in_place && gemv_) {
      weights_ = user;  // the file's memory, already in the primitive's layout
    } else {
      weights_ = memory(pd.weights_desc(), eng);
      dnnl::stream s(eng);
      dnnl::reorder(user, weights_).execute(s, user, weights_);
      s.wait();
    }
    weight_bytes_ = size_t(N_) * size_t(K_) *
                    (format == WeightFormat::kF32    ? 4
                     : format == WeightFormat::kBF16 ? 2
                                                     : 1);
  }

  void Forward(dnnl::engine& eng, dnnl::stream& strm, const float* x, int M, float* y,
               tbb::task_arena* arena) {
    if (!own_bf16_.empty()) {
      Bf16Gemm(x, M, K_, own_bf16_.data(), N_, y);
      return;
    }
    if (gemv_ && M <= kF32GemvMaxRows) {
      F32Gemv(x, M, K_, static_cast<const float*>(weights_.get_data_handle()), N_, y, arena);
      return;
    }
    if (gemv_ && arena != nullptr && arena->max_concurrency() > 1) {
      // Several threads: the weight rows in tiles across TBB threads, one single-threaded sgemm
      // each, reading the weights in place (tiled_gemm.h; oneDNN's own threads scaled 1.3x
      // from one to two on these shapes).
      const float* w = static_cast<const float*>(weights_.get_data_handle());
      TiledGemm(
          x, M, K_, N_, y, N_, 0, arena,
          [w, K = K_](int first, int, float*) { return w + size_t(first) * size_t(K); },
          /*source_needs_scratch=*/false);
      return;
    }
    const void* src = x;
    if (format_ == WeightFormat::kBF16) {
      bf16_.resize(size_t(M) * K_);
      for (size_t i = 0; i < bf16_.size(); ++i) bf16_[i] = FloatToBf16(x[i]);
      src = bf16_.data();
    } else if (format_ == WeightFormat::kInt8) {
      // One symmetric scale for the step's activations; per-channel weight scales.
      float amax = 0;
      for (size_t i = 0; i < size_t(M) * K_; ++i) amax = std::max(amax, std::abs(x[i]));
      const float a = amax > 0 ? amax / 127.0f : 1.0f, inv = 1.0f / a;
      s8_.resize(size_t(M) * K_);
      for (size_t i = 0; i < s8_.size(); ++i)
        s8_[i] = uint8_t(int(std::lround(x[i] * inv)) + kZeroPoint);
      for (int n = 0; n < N_; ++n) scales_[size_t(n)] = a * w_scale_[size_t(n)];
      src = s8_.data();
    }
    // Memory objects per row count, made once and pointed at this call's buffers: the
    // per-token path creates no oneDNN objects.
    Args& args = ArgsFor(eng, M);
    args.src.set_data_handle(const_cast<void*>(src));
    args.dst.set_data_handle(y);
    prim_.execute(strm, args.map);
    strm.wait();
  }

  struct Args {
    memory src, dst;
    std::unordered_map<int, memory> map;
  };
  Args& ArgsFor(dnnl::engine& eng, int M) {
    auto it = args_.find(M);
    if (it != args_.end()) return it->second;
    const Dt src_dt = SrcType(format_);
    Args a;
    a.src = memory({{M, K_}, src_dt, Tag::ab}, eng, DNNL_MEMORY_NONE);
    a.dst = memory({{M, N_}, Dt::f32, Tag::ab}, eng, DNNL_MEMORY_NONE);
    a.map = {{DNNL_ARG_SRC, a.src}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, a.dst}};
    if (format_ == WeightFormat::kInt8) {
      a.map.emplace(DNNL_ARG_ATTR_OUTPUT_SCALES,
                    memory({{N_}, Dt::f32, Tag::a}, eng, scales_.data()));
      a.map.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC,
                    memory({{1}, Dt::s32, Tag::a}, eng, &zero_point_));
    }
    return args_.emplace(M, std::move(a)).first->second;
  }

  int N() const { return N_; }
  size_t weight_bytes() const { return weight_bytes_; }

 private:
  int K_, N_ = 0;
  WeightFormat format_;
  dnnl::matmul prim_;
  memory weights_;
  std::vector<float> w_scale_, scales_;
  std::vector<uint16_t> bf16_;
  std::vector<uint16_t> own_bf16_;  // weights [N][K] when oneDNN has no bf16 matmul here
  std::vector<uint8_t> s8_;         // int8 path: activations as u8 around kZeroPoint
  bool gemv_ = false;               // f32 weights [N][K] row-major: F32Gemv for small steps
  static constexpr int32_t kZeroPoint = 128;
  int32_t zero_point_ = kZeroPoint;
  size_t weight_bytes_ = 0;
  std::unordered_map<int, Args> args_;  // grows with the distinct row counts seen (<= max rows)
};

// y[M][N] = x[M][K] * W^T for stacked weight matrices (Q, K and V; gate and up) whichever way
// each is stored: runs of float32 matrices on oneDNN (DenseLinear), quantized ones with the block
// kernels in place (quant/matrix.h), their activations quantised once per kind per call, and
// 16-bit float ones in place too (HalfProduct). The weight format (f32, bf16, int8) applies to
// the float32 matrices only.
class Linear {
 public:
  Linear(dnnl::engine& eng, std::vector<const Weight*> parts, int K, WeightFormat format) : K_(K) {
    for (const Weight* w : parts) {
      if (!w->float32()) {
        segments_.push_back({N_, w->rows, &w->q, nullptr, {}});
        weight_bytes_ += w->q.bytes();
      } else {
        // In the f32 format each matrix is its own run, read in place; the other formats
        // convert a whole run into one buffer.
        if (segments_.empty() || segments_.back().quant != nullptr || format == WeightFormat::kF32)
          segments_.push_back({N_, 0, nullptr, nullptr, {}});
        segments_.back().rows += w->rows;
        segments_.back().dense_parts.push_back(w);
      }
      N_ += w->rows;
    }
    for (Segment& seg : segments_) {
      if (seg.quant != nullptr) continue;
      seg.dense = std::make_unique<DenseLinear>(eng, seg.dense_parts, K, format);
      weight_bytes_ += seg.dense->weight_bytes();
    }
  }

  void Forward(dnnl::engine& eng, dnnl::stream& strm, const float* x, int M, float* y,
               tbb::task_arena* arena) {
    if (segments_.size() == 1 && segments_[0].dense) {
      segments_[0].dense->Forward(eng, strm, x, M, y, arena);
      return;
    }
    bool quantized[2] = {false, false};
    for (Segment& seg : segments_) {
      if (seg.dense) {
        // A float run inside a mixed stack: computed apart, then placed in its columns.
        tmp_.resize(size_t(M) * seg.rows);
        seg.dense->Forward(eng, strm, x, M, tmp_.data(), arena);
        for (int m = 0; m < M; ++m)
          std::memcpy(y + size_t(m) * N_ + seg.offset, &tmp_[size_t(m) * seg.rows],
                      sizeof(float) * seg.rows);
        continue;
      }
      const quant::Type type = seg.quant->type;
      if (type == quant::Type::kF16 || type == quant::Type::kBF16) {
        HalfProduct(*seg.quant, x, M, y, seg.offset, arena);
        continue;
      }
      if (M >= kDequantizedProductRows) {
        DequantizedProduct(*seg.quant, x, M, y, seg.offset, arena);
        continue;
      }
      const quant::ActivationKind kind = quant::ActivationKindFor(seg.quant->type);
      const int k = int(kind);
      if (!quantized[k]) {
        quant::QuantizeBatch(kind, x, M, K_, &batches_[k]);
        quantized[k] = true;
      }
      quant::MatMul(*seg.quant, batches_[k], y, N_, seg.offset, arena);
    }
  }

  int N() const { return N_; }
  size_t weight_bytes() const { return weight_bytes_; }

 private:
  // y[m][offset + n] = x[m] . W[n] for many rows (a prompt): the weights dequantised one tile
  // at a time into a float buffer that stays in cache, each tile multiplied with every row by
  // f32 gemm (tiled_gemm.h). Without VNNI, an 8-bit block dot product (sign, maddubs, madd,
  // convert, FMA by the block's scale per 32 weights) is no faster than f32 FMA: 51.1 against
  // 48.5 GMAC/s on one Zen 3 core in registers (llm_bench --cpu-peak), before any packing. So
  // once enough rows share each weight read, expanding the weights (in cache only; the matrix
  // stays quantized in memory) for oneDNN's sgemm, at 90% of the FMA ceiling, is the faster way.
  void DequantizedProduct(const quant::Matrix& w, const float* x, int M, float* y, int offset,
                          tbb::task_arena* arena) {
    TiledGemm(x, M, K_, w.rows, y, N_, offset, arena, [&w](int first, int count, float* scratch) {
      quant::DequantizeMatrixRows(w, first, count, scratch);
      return static_cast<const float*>(scratch);
    });
  }

  // 16-bit float weights, read in place: a few rows stream them through the widening gemv
  // (f32_gemv.h); more rows (a prompt) widen them a tile at a time for f32 gemm, as above.
  void HalfProduct(const quant::Matrix& w, const float* x, int M, float* y, int offset,
                   tbb::task_arena* arena) {
    if (M > kF32GemvMaxRows) {
      DequantizedProduct(w, x, M, y, offset, arena);
      return;
    }
    HalfGemv(x, M, K_, reinterpret_cast<const uint16_t*>(w.data),
             w.type == quant::Type::kF16 ? HalfType::kF16 : HalfType::kBF16, w.rows, y, N_, offset,
             arena);
  }

  struct Segment {
    int offset = 0;  // first output column
    int rows = 0;
    const quant::Matrix* quant = nullptr;  // stored in the file: quantized blocks or 16-bit floats
    std::unique_ptr<DenseLinear> dense;
    std::vector<const Weight*> dense_parts;
  };
  int K_, N_ = 0;
  size_t weight_bytes_ = 0;
  std::vector<Segment> segments_;
  quant::QuantizedBatch batches_[2];  // per activation kind (Q8_0, Q8_K)
  std::vector<float> tmp_;
};

struct DnnlDecoder::Impl {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  std::unique_ptr<tbb::task_arena> arena;  // the quantized products' threads (Create's threads)
  dnnl::stream strm{eng};
  struct Layer {
    std::unique_ptr<Linear> qkv, o, gate_up, down;
  };
  std::vector<Layer> layers;
  std::unique_ptr<Linear> output;
  // Scratch, grown to the largest step seen.
  std::vector<float> x, xb, qkv, att, tmp, gu, h, final_in, logits, scores;
  tbb::enumerable_thread_specific<std::vector<float>> attention_scratch;  // one per arena thread
  // Per position: (cos, sin) of each rotated pair, as RopeAngles() computes them; the first
  // kRopeTablePositions positions only (a file's context_length is metadata: 1M positions would
  // be 512 MB up front), later ones computed when used.
  std::vector<float> rope, rope_scratch;
  std::vector<int> logit_rows;
};

StatusOr<std::unique_ptr<DnnlDecoder>> DnnlDecoder::Create(std::shared_ptr<const LlamaModel> model,
                                                           WeightFormat format, int max_rows,
                                                           int threads, KvFormat kv) {
  if (kv == KvFormat::kQ8_0 && model->config.head_dim % kQ8Block != 0) {
    return Status::InvalidArgument("kv_cache q8_0 needs a head size that is a multiple of " +
                                   std::to_string(kQ8Block) + " (this model's is " +
                                   std::to_string(model->config.head_dim) + "); use f16");
  }
  std::unique_ptr<DnnlDecoder> d(new DnnlDecoder());
  d->model_ = std::move(model);
  d->format_ = format;
  d->kv_ = kv;
  d->max_rows_ = std::max(1, max_rows);
  d->impl_ = std::make_unique<Impl>();
  d->impl_->arena = std::make_unique<tbb::task_arena>(std::max(1, threads));
  const LlamaConfig& c = d->model_->config;
  try {
    for (const LlamaLayer& L : d->model_->layers) {
      Impl::Layer layer;
      layer.qkv = std::make_unique<Linear>(
          d->impl_->eng, std::vector<const Weight*>{&L.wq, &L.wk, &L.wv}, c.dim, format);
      layer.o =
          std::make_unique<Linear>(d->impl_->eng, std::vector<const Weight*>{&L.wo}, c.dim, format);
      layer.gate_up = std::make_unique<Linear>(
          d->impl_->eng, std::vector<const Weight*>{&L.w_gate, &L.w_up}, c.dim, format);
      layer.down = std::make_unique<Linear>(d->impl_->eng, std::vector<const Weight*>{&L.w_down},
                                            c.hidden, format);
      d->impl_->layers.push_back(std::move(layer));
    }
    d->impl_->output = std::make_unique<Linear>(
        d->impl_->eng, std::vector<const Weight*>{&d->model_->output()}, c.dim, format);
    // RoPE angles per position, computed once (RopeAngles, as ggml does).
    const int positions = std::min(c.context, kRopeTablePositions);
    d->impl_->rope.resize(size_t(positions) * c.rope_dims);
    d->impl_->rope_scratch.resize(size_t(c.rope_dims));
    for (int pos = 0; pos < positions; ++pos)
      RopeAngles(c, pos, &d->impl_->rope[size_t(pos) * c.rope_dims]);
  } catch (const dnnl::error& e) {
    return Status::Internal(std::string("oneDNN cannot build the ") + WeightFormatName(format) +
                            " matmuls on this CPU: " + e.what());
  }
  return d;
}

DnnlDecoder::~DnnlDecoder() = default;

size_t DnnlDecoder::weight_bytes() const {
  size_t n = impl_->output->weight_bytes();
  for (const auto& L : impl_->layers) {
    n += L.qkv->weight_bytes() + L.o->weight_bytes() + L.gate_up->weight_bytes() +
         L.down->weight_bytes();
  }
  return n;
}

KvCache DnnlDecoder::NewCache(int capacity) const {
  const LlamaConfig& c = model_->config;
  KvCache cache;
  cache.capacity = capacity;
  const size_t n = size_t(c.layers) * size_t(PaddedCapacity(capacity)) * size_t(c.kv_dim());
  if (kv_ == KvFormat::kF16) {
    cache.k16.assign(n, 0);
    cache.v16.assign(n, 0);
  } else if (kv_ == KvFormat::kQ8_0) {
    cache.k8.assign(n, 0);
    cache.v8.assign(n, 0);
    cache.k8_scales.assign(n / kQ8Block, 0);
    cache.v8_scales.assign(n / kQ8Block, 0);
  } else {
    cache.k.assign(n, 0.0f);
    cache.v.assign(n, 0.0f);
  }
  return cache;
}

size_t KvBytesPerPosition(const LlamaConfig& c, KvFormat f) {
  const size_t values = 2 * size_t(c.layers) * size_t(c.kv_dim());
  if (f == KvFormat::kQ8_0) return values + values / kQ8Block * 2;  // codes and f16 scales
  return values * (f == KvFormat::kF16 ? 2 : 4);
}

const float* DnnlDecoder::Step(std::span<const DecodeRow> rows, int* logit_rows) {
  const LlamaConfig& c = model_->config;
  Impl& s = *impl_;
  const int M = int(rows.size()), dim = c.dim, kv = c.kv_dim(), qkv_n = dim + 2 * kv;
  auto grow = [](std::vector<float>& v, size_t n) {
    if (v.size() < n) v.resize(n);
  };
  grow(s.x, size_t(M) * dim);
  grow(s.xb, size_t(M) * dim);
  grow(s.qkv, size_t(M) * qkv_n);
  grow(s.att, size_t(M) * dim);
  grow(s.tmp, size_t(M) * dim);
  grow(s.gu, size_t(M) * 2 * c.hidden);
  grow(s.h, size_t(M) * c.hidden);
  for (int r = 0; r < M; ++r) {
    model_->token_embd.Row(rows[r].token, &s.x[size_t(r) * dim]);
  }
  // Attention goes to the arena's threads when there is enough of it to pay for the hand-off
  // (cache values read per layer; below this, tens of microseconds of work).
  constexpr size_t kParallelAttentionValues = size_t(1) << 17;
  size_t attention_values = 0;
  for (int r = 0; r < M; ++r) attention_values += size_t(rows[r].pos + 1) * 2 * size_t(kv);
  const bool parallel_attention = s.arena != nullptr && s.arena->max_concurrency() > 1 &&
                                  attention_values >= kParallelAttentionValues;
  for (int l = 0; l < c.layers; ++l) {
    const LlamaLayer& L = model_->layers[size_t(l)];
    Impl::Layer& D = s.layers[size_t(l)];
    for (int r = 0; r < M; ++r)
      RmsNorm(&s.x[size_t(r) * dim], L.attn_norm.data(), dim, c.norm_eps, &s.xb[size_t(r) * dim]);
    D.qkv->Forward(s.eng, s.strm, s.xb.data(), M, s.qkv.data(), s.arena.get());
    // RoPE, then each row's K and V into its sequence's cache (all rows first: a prompt's later
    // rows attend to its earlier ones).
    for (int r = 0; r < M; ++r) {
      float* q = &s.qkv[size_t(r) * qkv_n];
      float* k = q + dim;
      float* v = k + kv;
      const float* cs = s.rope_scratch.data();
      if (size_t(rows[r].pos) * c.rope_dims < s.rope.size())
        cs = &s.rope[size_t(rows[r].pos) * c.rope_dims];
      else
        RopeAngles(c, rows[r].pos, s.rope_scratch.data());
      AddBias(L.bq, q);
      AddBias(L.bk, k);
      AddBias(L.bv, v);
      ApplyRope(c, q, c.heads, cs);
      ApplyRope(c, k, c.kv_heads, cs);
      KvCache& cache = *rows[r].cache;
      const size_t layer = cache.LayerStart(l, kv);
      const int pos = rows[r].pos;
      if (cache.q8()) {
        StoreKey(c, k, cache.capacity, pos, cache.Q8Keys(layer));
        StoreValue(c, v, cache.capacity, pos, cache.Q8Values(layer));
      } else if (cache.f16()) {
        StoreKey(c, k, cache.capacity, pos, &cache.k16[layer]);
        StoreValue(c, v, cache.capacity, pos, &cache.v16[layer]);
      } else {
        StoreKey(c, k, cache.capacity, pos, &cache.k[layer]);
        StoreValue(c, v, cache.capacity, pos, &cache.v[layer]);
      }
    }
    auto attend = [&](int r, KvHeadRange heads, std::vector<float>& scratch) {
      KvCache& cache = *rows[r].cache;
      const size_t base = cache.LayerStart(l, kv);
      const float* q = &s.qkv[size_t(r) * qkv_n];
      float* out = &s.att[size_t(r) * dim];
      const int n = rows[r].pos + 1;
      constexpr AttentionKernels kBest = AttentionKernels::kBest;
      if (cache.q8())
        AttendCached(c, q, cache.Q8Keys(base), cache.Q8Values(base), cache.capacity, n, out,
                     scratch, kBest, heads);
      else if (cache.f16())
        AttendCached(c, q, &cache.k16[base], &cache.v16[base], cache.capacity, n, out, scratch,
                     kBest, heads);
      else
        AttendCached(c, q, &cache.k[base], &cache.v[base], cache.capacity, n, out, scratch, kBest,
                     heads);
    };
    if (parallel_attention) {
      // Each (row, KV head) is a task: a single sequence's step uses every thread too.
      s.arena->execute([&] {
        tbb::parallel_for(tbb::blocked_range<int>(0, M * c.kv_heads), [&](const auto& range) {
          std::vector<float>& scratch = s.attention_scratch.local();
          for (int i = range.begin(); i < range.end(); ++i)
            attend(i / c.kv_heads, KvHeadRange{i % c.kv_heads, 1}, scratch);
        });
      });
    } else {
      for (int r = 0; r < M; ++r) attend(r, KvHeadRange{}, s.scores);
    }
    D.o->Forward(s.eng, s.strm, s.att.data(), M, s.tmp.data(), s.arena.get());
    for (size_t i = 0; i < size_t(M) * dim; ++i) s.x[i] += s.tmp[i];
    for (int r = 0; r < M; ++r)
      RmsNorm(&s.x[size_t(r) * dim], L.ffn_norm.data(), dim, c.norm_eps, &s.xb[size_t(r) * dim]);
    D.gate_up->Forward(s.eng, s.strm, s.xb.data(), M, s.gu.data(), s.arena.get());
    for (int r = 0; r < M; ++r) {
      const float* g = &s.gu[size_t(r) * 2 * c.hidden];
      SwiGlu(g, g + c.hidden, c.hidden, &s.h[size_t(r) * c.hidden]);
    }
    D.down->Forward(s.eng, s.strm, s.h.data(), M, s.tmp.data(), s.arena.get());
    for (size_t i = 0; i < size_t(M) * dim; ++i) s.x[i] += s.tmp[i];
  }
  int R = 0;
  grow(s.final_in, size_t(M) * dim);
  for (int r = 0; r < M; ++r) {
    if (!rows[r].logits) continue;
    RmsNorm(&s.x[size_t(r) * dim], model_->output_norm.data(), dim, c.norm_eps,
            &s.final_in[size_t(R) * dim]);
    ++R;
  }
  *logit_rows = R;
  if (R == 0) return nullptr;
  grow(s.logits, size_t(R) * c.vocab);
  s.output->Forward(s.eng, s.strm, s.final_in.data(), R, s.logits.data(), s.arena.get());
  return s.logits.data();
}

}  // namespace refinery::llm
