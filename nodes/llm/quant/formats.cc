#include "nodes/llm/quant/formats.h"

namespace refinery::llm::quant {

const TypeInfo* Info(uint32_t type) {
  static const TypeInfo kF32{"F32", 1, 4, false}, kF16{"F16", 1, 2, false},
      kBF16{"BF16", 1, 2, false}, kQ4_0{"Q4_0", 32, 18, true}, kQ4_1{"Q4_1", 32, 20, true},
      kQ5_0{"Q5_0", 32, 22, true}, kQ5_1{"Q5_1", 32, 24, true}, kQ8_0{"Q8_0", 32, 34, true},
      kQ2_K{"Q2_K", 256, 84, true}, kQ3_K{"Q3_K", 256, 110, true}, kQ4_K{"Q4_K", 256, 144, true},
      kQ5_K{"Q5_K", 256, 176, true}, kQ6_K{"Q6_K", 256, 210, true}, kIQ4_NL{"IQ4_NL", 32, 18, true};
  switch (Type(type)) {
    case Type::kF32:
      return &kF32;
    case Type::kF16:
      return &kF16;
    case Type::kBF16:
      return &kBF16;
    case Type::kQ4_0:
      return &kQ4_0;
    case Type::kQ4_1:
      return &kQ4_1;
    case Type::kQ5_0:
      return &kQ5_0;
    case Type::kQ5_1:
      return &kQ5_1;
    case Type::kQ8_0:
      return &kQ8_0;
    case Type::kQ2_K:
      return &kQ2_K;
    case Type::kQ3_K:
      return &kQ3_K;
    case Type::kQ4_K:
      return &kQ4_K;
    case Type::kQ5_K:
      return &kQ5_K;
    case Type::kQ6_K:
      return &kQ6_K;
    case Type::kIQ4_NL:
      return &kIQ4_NL;
  }
  return nullptr;
}

}  // namespace refinery::llm::quant
