// Next-token sampling: temperature 0 is greedy (argmax, lowest id on ties, as llama.cpp);
// otherwise top-k, then softmax at the temperature, then top-p (the smallest set of most likely
// tokens whose probability reaches p), then a draw from a generator seeded per request, so the
// same seed and prompt give the same output.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace refinery::llm {

struct SamplingOptions {
  float temperature = 0.0f;  // 0: greedy
  int top_k = 0;             // 0: all tokens
  float top_p = 1.0f;        // 1: no nucleus cut
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplingOptions options) : options_(options), rng_(options.seed) {}
  int32_t Sample(const float* logits, int vocab);

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

}  // namespace refinery::llm
