// Rounding to integers without libm: baseline x86-64 has no SSE4.1 roundss, so std::nearbyint
// and std::roundf are library calls (a call per value was 5% of a decode step in the activation
// quantiser). Both helpers give exactly the library's result for every value a quantiser rounds
// (magnitudes up to 2^22; larger ones are clamped there first, and every caller clamps its
// codes to a far smaller range).
#pragma once

#include <algorithm>

namespace refinery::llm::quant {

// std::nearbyint in the default rounding mode (to nearest, ties to even): adding and removing
// 1.5 * 2^23 leaves the float rounded to an integer.
inline float RoundHalfEven(float v) {
  v = std::clamp(v, -4194304.0f, 4194304.0f);
  return (v + 12582912.0f) - 12582912.0f;
}

// std::round (ties away from zero): truncate, then step away from zero when the dropped part
// is a half or more (the subtraction is exact at these magnitudes).
inline float RoundHalfAway(float v) {
  v = std::clamp(v, -4194304.0f, 4194304.0f);
  const float t = float(int(v)), rest = v - t;
  return rest >= 0.5f ? t + 1 : rest <= -0.5f ? t - 1 : t;
}

}  // namespace refinery::llm::quant
