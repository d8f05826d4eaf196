#include "nodes/llm/quant/activations.h"

#include <cmath>

#include "nodes/llm/float_formats.h"

namespace refinery::llm::quant {

ActivationKind ActivationKindFor(Type w) {
  return Info(uint32_t(w))->block_values == kSuperBlock ? ActivationKind::kQ8_K
                                                        : ActivationKind::kQ8_0;
}

void QuantizeRow(ActivationKind kind, const float* x, int n, QuantizedRow* out) {
  out->kind = kind;
  out->n = n;
  out->q.resize(size_t(n));
  if (kind == ActivationKind::kQ8_0) {
    const int blocks = n / kLegacyBlock;
    out->d.resize(size_t(blocks));
    for (int b = 0; b < blocks; ++b) {
      const float* v = x + b * kLegacyBlock;
      float amax = 0;
      for (int k = 0; k < kLegacyBlock; ++k) amax = std::max(amax, std::fabs(v[k]));
      const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
      for (int k = 0; k < kLegacyBlock; ++k) {
        const int q = int(std::roundf(v[k] * id));
        out->q[size_t(b * kLegacyBlock + k)] = int8_t(q);
      }
      // The scale is stored as f16 in a Q8_0 block: the product uses the rounded value.
      out->d[size_t(b)] = HalfToFloat(FloatToHalf(d));
    }
    return;
  }
  const int blocks = n / kSuperBlock;
  out->d.resize(size_t(blocks));
  out->sum16.resize(size_t(n / 16));
  out->sum32.resize(size_t(n / 32));
  for (int b = 0; b < blocks; ++b) {
    const float* v = x + b * kSuperBlock;
    int8_t* q = &out->q[size_t(b * kSuperBlock)];
    // The value of largest magnitude maps to -127 exactly (its sign kept in the scale).
    float amax = 0, max = 0;
    for (int k = 0; k < kSuperBlock; ++k)
      if (std::fabs(v[k]) > amax) amax = std::fabs(v[k]), max = v[k];
    if (amax == 0) {
      out->d[size_t(b)] = 0;
      for (int k = 0; k < kSuperBlock; ++k) q[k] = 0;
    } else {
      const float iscale = -127.0f / max;
      for (int k = 0; k < kSuperBlock; ++k)
        q[k] = int8_t(std::min(127, int(std::nearbyintf(iscale * v[k]))));
      out->d[size_t(b)] = 1.0f / iscale;
    }
    for (int g = 0; g < kSuperBlock / 16; ++g) {
      int s = 0;
      for (int k = 0; k < 16; ++k) s += q[g * 16 + k];
      out->sum16[size_t(b * 16 + g)] = int16_t(s);
    }
    for (int g = 0; g < kSuperBlock / 32; ++g)
      out->sum32[size_t(b * 8 + g)] =
          int16_t(out->sum16[size_t(b * 16 + 2 * g)] + out->sum16[size_t(b * 16 + 2 * g + 1)]);
  }
}

}  // namespace refinery::llm::quant
