// llm_bench: generation speed of the decoder (oneDNN for float weights, refinery's block
// kernels for quantized files), one thread unless --threads.
//   - decode tokens/s at batch 1 (DnnlDecoder::Step with one row; and through the Generator),
//   - total tokens/s with 1, 4, 8, 16 sequences decoding together,
//   - prompt processing tokens/s (a 128-token prompt in one step),
//   - weight bytes read per decode step against the machine's measured read bandwidth,
// for each weight format. The model is a GGUF file, or `--random-110m` writes a GPT-2-small-sized
// llama (dim 768, 12 layers, 12 heads, hidden 3072, ~110 M parameters) with random weights.
//
//   llm_bench MODEL.gguf [--tokens 256] [--formats f32,bf16,int8] [--threads N] [--kv f32|f16|q8_0]
//   (a quantized file's quantized matrices run in place whatever the format; use --formats f32)
//   llm_bench --random-110m [--tokens 64]
//   llm_bench MODEL.gguf --priority   (saturation with 5% urgent requests: priority vs FIFO)
//   --cpu-peak also measures the f32 FMA ceiling and prints each prompt's share of it, and the
//   ceiling of an 8-bit block dot product (the Q8_0 instruction mix) for comparison
//   --b1-only measures batch-1 decoding alone (profiles, long contexts with --tokens)
//   --prompt-only measures the 128-token prompt step alone
//   --attention N times one decode step's attention (all layers) over N cached positions, per
//   KV cache format, on random cache contents in the model's shape (heads, KV heads, head size),
//   on one thread
//   --no-bandwidth skips the bandwidth measurement (for profiles; the "% of bw" column is then -)
// b1, b4.. and the prompt are each the best of three runs (the machine is shared); compare with
// the best of llama-bench's repetitions (-o json, samples_ts), not its mean.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "nodes/llm/attention.h"
#include "nodes/llm/dnnl_decoder.h"
#include "nodes/llm/float_formats.h"
#include "nodes/llm/generator.h"
#include "nodes/llm/model_writer.h"
#include "nodes/llm/quant/dot.h"

using namespace refinery::llm;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Read bandwidth: sum a buffer far larger than the caches, best of 5.
double ReadBandwidthGBs() {
  std::vector<uint64_t> buf(size_t(512) << 20 >> 3, 1);
  double best = 0;
  volatile uint64_t sink = 0;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = Clock::now();
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 3 < buf.size(); i += 4)
      s0 += buf[i], s1 += buf[i + 1], s2 += buf[i + 2], s3 += buf[i + 3];
    sink = sink + s0 + s1 + s2 + s3;
    best = std::max(best, double(buf.size() * 8) / Seconds(t0) / 1e9);
  }
  return best;
}

// The f32 multiply-add ceiling of this machine at `threads` threads (GFLOP/s, best of 5): twelve
// independent AVX2 FMA chains per thread, enough to cover the FMA latency on every x86 core of the
// last decade, so the figure is the FMA units' throughput. A prompt step is a matrix product, so
// its FLOP/s against this figure says how much room a faster kernel could still find.
__attribute__((target("avx2,fma"))) double FmaPeakGflops(int threads) {
  constexpr int kChains = 12;
  constexpr long kIterations = 20'000'000;
  double best = 0;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = Clock::now();
    float sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    {
      __m256 acc[kChains];
      for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(float(c));
      const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
      for (long i = 0; i < kIterations; ++i) {
#pragma GCC unroll 12  // unrolled, the chains live in registers (a loop keeps them in memory)
        for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
      }
      for (int c = 0; c < kChains; ++c) sink += _mm256_cvtss_f32(acc[c]);
    }
    volatile float keep = sink;
    (void)keep;
    best = std::max(best, 2.0 * 8 * kChains * double(kIterations) * threads / Seconds(t0) / 1e9);
  }
  return best;
}

// The ceiling of an 8-bit block dot product without VNNI (GMAC/s, best of 5), the instruction mix
// of llama.cpp's and our Q8_0 kernels per 32 weights: sign, maddubs, madd, convert, FMA by the
// block's scale. Eight independent chains per thread in registers, no loads. Against
// FmaPeakGflops / 2 it says how much an 8-bit prompt product could gain over the f32 one.
__attribute__((target("avx2,fma"))) double Int8BlockDotPeakGmacs(int threads) {
  constexpr int kChains = 8;
  constexpr long kIterations = 10'000'000;
  double best = 0;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = Clock::now();
    float sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    {
      __m256 acc[kChains];
      __m256i a[kChains];
      for (int c = 0; c < kChains; ++c) {
        acc[c] = _mm256_setzero_ps();
        a[c] = _mm256_set1_epi8(char(c + 1));
      }
      __m256i w = _mm256_set1_epi8(-3);
      const __m256i ones = _mm256_set1_epi16(1);
      const __m256 scale = _mm256_set1_ps(1e-9f);
      for (long i = 0; i < kIterations; ++i) {
        const __m256i abs_w = _mm256_sign_epi8(w, w);
#pragma GCC unroll 8  // unrolled, the chains live in registers
        for (int c = 0; c < kChains; ++c) {
          const __m256i pairs = _mm256_maddubs_epi16(abs_w, _mm256_sign_epi8(a[c], w));
          const __m256 sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));
          acc[c] = _mm256_fmadd_ps(sums, scale, acc[c]);
        }
        asm volatile("" : "+x"(w));  // a new weight block each time: nothing is hoisted
      }
      for (int c = 0; c < kChains; ++c) sink += _mm256_cvtss_f32(acc[c]);
    }
    volatile float keep = sink;
    (void)keep;
    best = std::max(best, 32.0 * kChains * double(kIterations) * threads / Seconds(t0) / 1e9);
  }
  return best;
}

// Multiply-adds per prompt token in the weight matrices (the output matrix runs for the last
// row only, and attention over a 128-token prompt is under 1% of this at dim 768).
double PromptMacsPerToken(const LlamaConfig& c) {
  const double d = c.dim, kv = c.kv_dim(), h = c.hidden;
  return c.layers * (d * (d + 2 * kv) + d * d + 3 * d * h);
}

// Decode `tokens` steps for `batch` sequences together; returns total tokens/s.
double DecodeRate(DnnlDecoder& dec, int batch, int tokens) {
  const int vocab = dec.model().config.vocab;
  std::vector<KvCache> caches;
  for (int b = 0; b < batch; ++b) caches.push_back(dec.NewCache(tokens + 2));
  std::vector<DecodeRow> rows(static_cast<size_t>(batch));
  std::vector<int32_t> next(static_cast<size_t>(batch), 1);
  int n;
  // Warm up (first calls create kernels, grow buffers), then measure from position 1.
  for (int b = 0; b < batch; ++b) rows[size_t(b)] = {&caches[size_t(b)], next[size_t(b)], 0, true};
  dec.Step(rows, &n);
  const auto t0 = Clock::now();
  for (int t = 1; t <= tokens; ++t) {
    for (int b = 0; b < batch; ++b)
      rows[size_t(b)] = {&caches[size_t(b)], next[size_t(b)], t, true};
    const float* logits = dec.Step(rows, &n);
    for (int b = 0; b < batch; ++b) {
      const float* l = logits + size_t(b) * vocab;
      next[size_t(b)] = int32_t(std::max_element(l, l + vocab) - l);
    }
  }
  return double(tokens) * batch / Seconds(t0);
}

double PromptRate(DnnlDecoder& dec, int prompt) {
  KvCache cache = dec.NewCache(prompt + 1);
  std::vector<DecodeRow> rows;
  for (int i = 0; i < prompt; ++i)
    rows.push_back({&cache, int32_t(3 + i % 200), i, i + 1 == prompt});
  int n;
  dec.Step(rows, &n);  // warm-up
  double best = 0;
  for (int r = 0; r < 3; ++r) {
    const auto t0 = Clock::now();
    dec.Step(rows, &n);
    best = std::max(best, prompt / Seconds(t0));
  }
  return best;
}

// One decode step's attention over `n` cached positions, all layers (each its own memory, as in a
// real cache), best of 20 steps, in microseconds; random cache contents in `kv`'s format.
double AttentionMicros(const LlamaConfig& c, KvFormat kv, int n) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  const size_t per_layer = size_t(PaddedCapacity(n)) * c.kv_dim(), cells = per_layer * c.layers;
  std::vector<float> f32(kv == KvFormat::kF32 ? 2 * cells : 0);
  std::vector<uint16_t> f16(kv == KvFormat::kF16 ? 2 * cells : 0),
      scales(kv == KvFormat::kQ8_0 ? 2 * cells / kQ8Block : 0);
  std::vector<int8_t> q8(kv == KvFormat::kQ8_0 ? 2 * cells : 0);
  for (auto& x : f32) x = u(rng);
  for (auto& x : f16) x = FloatToHalf(u(rng));
  for (auto& x : q8) x = int8_t(rng() % 255 - 127);
  for (auto& x : scales) x = FloatToHalf(0.01f);
  std::vector<float> q(size_t(c.heads) * c.head_dim), out(q.size()), scratch;
  for (auto& x : q) x = u(rng);
  double best = 1e300;
  for (int step = 0; step < 20; ++step) {
    const auto t0 = Clock::now();
    for (int l = 0; l < c.layers; ++l) {
      const size_t k = 2 * l * per_layer, v = k + per_layer;
      if (kv == KvFormat::kF32)
        AttendCached(c, q.data(), &f32[k], &f32[v], n, n, out.data(), scratch);
      else if (kv == KvFormat::kF16)
        AttendCached(c, q.data(), &f16[k], &f16[v], n, n, out.data(), scratch);
      else
        AttendCached(c, q.data(), Q8Cache{&q8[k], &scales[k / kQ8Block]},
                     Q8Cache{&q8[v], &scales[v / kQ8Block]}, n, n, out.data(), scratch);
    }
    best = std::min(best, Seconds(t0) * 1e6);
  }
  return best;
}

int g_threads = 1;
KvFormat g_kv = KvFormat::kF32;

double GeneratorRate(std::shared_ptr<const LlamaModel> model, WeightFormat f, int tokens) {
  auto gen = Generator::Create(model, f, {.max_batch = 1, .threads = g_threads, .kv_cache = g_kv});
  GenerationRequest r;
  r.prompt = {1};
  r.max_new_tokens = 8;
  (*gen)->Generate(r);  // warm-up
  r.max_new_tokens = tokens;
  const auto t0 = Clock::now();
  const auto result = (*gen)->Generate(r);
  return double(result.tokens.size()) / Seconds(t0);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p / 100 * double(v.size())))];
}

// 400 requests arrive at once at a batch of 4 (saturation); every 20th is urgent (priority 1).
// Latency = submission to last token. Compared with the same urgent request on an idle generator.
void PriorityExperiment(std::shared_ptr<const LlamaModel> model) {
  auto request = [&](int priority) {
    GenerationRequest r;
    r.prompt = model->tokenizer.Encode("Once upon a time");
    r.max_new_tokens = 48;
    r.priority = priority;
    return r;
  };
  double idle_ms = 1e300;
  {
    auto gen = Generator::Create(model, WeightFormat::kF32, {.max_batch = 4});
    for (int i = 0; i < 5; ++i) {
      const auto t0 = Clock::now();
      (*gen)->Generate(request(1));
      idle_ms = std::min(idle_ms, Seconds(t0) * 1e3);
    }
  }
  std::printf("urgent request on an idle generator: %.2f ms\n", idle_ms);
  for (bool by_priority : {false, true}) {
    auto gen =
        Generator::Create(model, WeightFormat::kF32, {.max_batch = 4, .by_priority = by_priority});
    std::mutex mu;
    std::vector<double> urgent, normal;
    std::promise<void> all;
    const int n = 400;
    int finished = 0;
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      const bool is_urgent = i % 20 == 19;
      const auto submitted = Clock::now();
      (*gen)->Submit(request(is_urgent ? 1 : 0), [&, is_urgent, submitted](GenerationResult) {
        std::lock_guard lock(mu);
        (is_urgent ? urgent : normal).push_back(Seconds(submitted) * 1e3);
        if (++finished == n) all.set_value();
      });
    }
    all.get_future().wait();
    std::printf(
        "%-8s urgent p50 %8.2f ms p99 %8.2f ms (%.1fx idle) | others p50 %8.2f ms p99 %8.2f ms | "
        "%.0f req/s\n",
        by_priority ? "priority" : "FIFO", Percentile(urgent, 50), Percentile(urgent, 99),
        Percentile(urgent, 99) / idle_ms, Percentile(normal, 50), Percentile(normal, 99),
        n / Seconds(t0));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  int tokens = 256;
  std::string formats = "f32,bf16,int8";
  bool random110 = false, measure_bandwidth = true, priority = false, cpu_peak = false,
       b1_only = false, prompt_only = false;
  int attention_positions = 0;
  const char* usage =
      "usage: llm_bench MODEL.gguf | --random-110m [--tokens N] [--formats f32,bf16,int8]\n"
      "       [--threads N] [--kv f32|f16|q8_0] [--b1-only | --prompt-only] [--cpu-peak]\n"
      "       [--no-bandwidth]\n"
      "       llm_bench MODEL.gguf --attention N   (one step's attention, one thread)\n"
      "       llm_bench MODEL.gguf --priority\n";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("%s", usage);
      return 0;
    }
    if (!std::strcmp(argv[i], "--tokens") && i + 1 < argc)
      tokens = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--formats") && i + 1 < argc)
      formats = argv[++i];
    else if (!std::strcmp(argv[i], "--random-110m"))
      random110 = true;
    else if (!std::strcmp(argv[i], "--no-bandwidth"))
      measure_bandwidth = false;  // for profiling
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
      g_threads = std::max(1, std::stoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--priority"))
      priority = true;
    else if (!std::strcmp(argv[i], "--cpu-peak"))
      cpu_peak = true;
    else if (!std::strcmp(argv[i], "--attention") && i + 1 < argc)
      attention_positions = std::max(1, std::stoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--prompt-only"))
      prompt_only = true;  // the 128-token prompt step alone
    else if (!std::strcmp(argv[i], "--b1-only"))
      b1_only = true;  // for profiling the decode step, and long-context runs
    else if (!std::strcmp(argv[i], "--kv") && i + 1 < argc) {
      auto kv = ParseKvFormat(argv[++i]);
      if (!kv.ok()) {
        std::fprintf(stderr, "%s\n", kv.status().message().c_str());
        return 2;
      }
      g_kv = *kv;
    } else if (argv[i][0] == '-') {
      std::fprintf(stderr, "llm_bench: unknown option or missing value: %s\n%s", argv[i], usage);
      return 2;
    } else {
      path = argv[i];
    }
  }
  omp_set_num_threads(g_threads);
  if (random110) {
    RandomLlamaSpec spec;
    spec.dim = 768;
    spec.layers = 12;
    spec.heads = 12;
    spec.kv_heads = 12;
    spec.hidden = 3072;
    spec.context = 1024;
    for (int i = 0; i < 2000; ++i) spec.pieces.push_back("tok" + std::to_string(i));
    path = "/tmp/refinery-random-110m.gguf";
    if (auto s = RandomLlama(spec).Write(path); !s.ok()) return 1;
  }
  if (path.empty()) {
    std::fprintf(stderr, "%s", usage);
    return 2;
  }
  auto model = LlamaModel::Load(path);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().message().c_str());
    return 1;
  }
  if (priority) {
    PriorityExperiment(*model);
    return 0;
  }
  if (attention_positions > 0) {
    const LlamaConfig& c = (*model)->config;
    for (KvFormat kv : {KvFormat::kF32, KvFormat::kF16, KvFormat::kQ8_0}) {
      if (kv == KvFormat::kQ8_0 && c.head_dim % kQ8Block != 0) continue;
      std::printf(
          "attention, %d positions, %d/%d heads of %d, kv %s: %.1f us per step (1 thread)\n",
          attention_positions, c.heads, c.kv_heads, c.head_dim, KvFormatName(kv),
          AttentionMicros(c, kv, attention_positions));
    }
    return 0;
  }
  const double bandwidth = measure_bandwidth ? ReadBandwidthGBs() : 0.0;
  const double peak = cpu_peak && __builtin_cpu_supports("fma") ? FmaPeakGflops(g_threads) : 0;
  if (peak > 0) {
    std::printf("f32 FMA ceiling: %.1f GFLOP/s at %d thread(s) (1 thread: %.1f)\n", peak, g_threads,
                g_threads == 1 ? peak : FmaPeakGflops(1));
    std::printf(
        "8-bit block-dot ceiling (sign, maddubs, madd, convert, FMA per 32 weights): %.1f GMAC/s "
        "at %d thread(s), against %.1f GMAC/s of f32 FMA\n",
        Int8BlockDotPeakGmacs(g_threads), g_threads, peak / 2);
  }
  char read_rate[32] = "not measured";
  if (bandwidth > 0) std::snprintf(read_rate, sizeof read_rate, "%.1f GB/s", bandwidth);
  std::printf(
      "model %s: %.2f M parameters, dim %d, %d layers; %d thread(s); read bandwidth %s "
      "(1 thread); quantized kernels: %s\n",
      path.c_str(), (*model)->parameter_count() / 1e6, (*model)->config.dim,
      (*model)->config.layers, g_threads, read_rate, refinery::llm::quant::KernelName());
  {
    const double per_position = double(KvBytesPerPosition((*model)->config, g_kv));
    const int context = (*model)->config.context;
    std::printf(
        "KV cache %s: %.1f KB per position; %.1f MB per sequence at the full context (%d)\n",
        KvFormatName(g_kv), per_position / 1e3, per_position * context / 1e6, context);
  }
  std::printf("%-6s %12s %12s %10s %10s %10s %10s %12s %14s %10s\n", "format", "b1 tok/s",
              "b1 via gen", "b4", "b8", "b16", "b8/b1", "prompt tok/s", "weights/token", "% of bw");
  std::stringstream list(formats);
  for (std::string name; std::getline(list, name, ',');) {
    auto format = ParseWeightFormat(name);
    if (!format.ok()) return 2;
    auto dec = DnnlDecoder::Create(*model, *format, 512, g_threads, g_kv);
    if (!dec.ok()) {
      std::printf("%-6s %s\n", name.c_str(), dec.status().message().c_str());
      continue;
    }
    auto best = [](auto f) {
      return std::max({f(), f(), f()});
    };  // best of 3: the machine is shared
    auto print_prompt_share = [&](double prompt) {
      if (peak <= 0) return;
      const double gflops = 2 * PromptMacsPerToken((*model)->config) * prompt / 1e9;
      std::printf("%-6s prompt: %.1f GFLOP/s in the weight products, %.0f%% of the FMA ceiling\n",
                  name.c_str(), gflops, 100 * gflops / peak);
    };
    if (prompt_only) {
      const double prompt = PromptRate(**dec, 128);
      std::printf("%-6s %12s %12s %10s %10s %10s %10s %12.0f\n", name.c_str(), "-", "-", "-", "-",
                  "-", "-", prompt);
      print_prompt_share(prompt);
      continue;
    }
    const double b1 = best([&] { return DecodeRate(**dec, 1, tokens); });
    if (b1_only) {
      std::printf("%-6s %12.0f\n", name.c_str(), b1);
      continue;
    }
    const double gen = best([&] { return GeneratorRate(*model, *format, tokens); });
    const double b4 = best([&] { return DecodeRate(**dec, 4, tokens); });
    const double b8 = best([&] { return DecodeRate(**dec, 8, tokens); });
    const double b16 = best([&] { return DecodeRate(**dec, 16, tokens); });
    const double prompt = PromptRate(**dec, 128);
    const double bytes = double((*dec)->weight_bytes());
    char share[16] = "-";
    if (bandwidth > 0)
      std::snprintf(share, sizeof share, "%.0f%%", 100.0 * bytes * b1 / (bandwidth * 1e9));
    std::printf("%-6s %12.0f %12.0f %10.0f %10.0f %10.0f %10.2f %12.0f %11.1f MB %10s\n",
                name.c_str(), b1, gen, b4, b8, b16, b8 / b1, prompt, bytes / 1e6, share);
    print_prompt_share(prompt);
  }
  return 0;
}
