#include "nodes/llm/rope.h"

#include <cmath>

#include "nodes/llm/llama_model.h"

namespace refinery::llm {

void RopeAngles(const LlamaConfig& c, int pos, float* out) {
  const float theta_scale = std::pow(c.rope_base, -2.0f / float(c.rope_dims));
  const float* factors = c.rope_freq_factors.empty() ? nullptr : c.rope_freq_factors.data();
  float theta = float(pos);
  for (int i = 0; i < c.rope_dims; i += 2) {
    const float angle = c.rope_freq_scale * (factors ? theta / factors[i / 2] : theta);
    out[i] = std::cos(angle);
    out[i + 1] = std::sin(angle);
    theta *= theta_scale;
  }
}

void ApplyRope(const LlamaConfig& c, float* x, int heads, const float* cos_sin) {
  const int half = c.rope_dims / 2;
  for (int h = 0; h < heads; ++h) {
    float* v = x + h * c.head_dim;
    for (int i = 0; i < half; ++i) {
      // Pair i: adjacent values, or the same index in each half of the rotated span (NeoX).
      float* a = c.rope_neox ? &v[i] : &v[2 * i];
      float* b = c.rope_neox ? &v[i + half] : &v[2 * i + 1];
      const float cs = cos_sin[2 * i], sn = cos_sin[2 * i + 1], x0 = *a, x1 = *b;
      *a = x0 * cs - x1 * sn;
      *b = x0 * sn + x1 * cs;
    }
  }
}

}  // namespace refinery::llm
