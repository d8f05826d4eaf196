#include "nodes/llm/quant/dequantize.h"

#include <cstring>

#include "nodes/llm/float_formats.h"
#include "nodes/llm/quant/unpack.h"

namespace refinery::llm::quant {

void DequantizeRow(Type type, const uint8_t* src, float* out, int64_t n) {
  switch (type) {
    case Type::kF32:
      std::memcpy(out, src, size_t(n) * 4);
      return;
    case Type::kF16:
    case Type::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = type == Type::kF16 ? HalfToFloat(h) : Bf16ToFloat(h);
      }
      return;
    default:
      break;
  }
  const TypeInfo& info = *Info(uint32_t(type));
  UnpackedBlock u;
  for (int64_t b = 0; b < n / info.block_values; ++b) {
    Unpack(type, src + b * info.block_bytes, &u);
    float* y = out + b * info.block_values;
    // Group by group, so the inner loop has no division and vectorises.
    for (int g = 0; g < u.values / u.group; ++g) {
      const float scale = u.scale[g], offset = u.offset[g];
      const int8_t* code = u.code + g * u.group;
      float* yg = y + g * u.group;
      for (int k = 0; k < u.group; ++k) yg[k] = scale * float(code[k]) + offset;
    }
  }
}

}  // namespace refinery::llm::quant
