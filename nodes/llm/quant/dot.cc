#include "nodes/llm/quant/dot.h"

#include <cstdlib>
#include <cstring>

#include "nodes/llm/quant/unpack.h"

namespace refinery::llm::quant {

float DotReference(Type type, const uint8_t* row, const QuantizedRow& x) {
  const TypeInfo& info = *Info(uint32_t(type));
  const int blocks = x.n / info.block_values;
  const int act_block = x.kind == ActivationKind::kQ8_0 ? kLegacyBlock : kSuperBlock;
  UnpackedBlock u;
  float total = 0;
  for (int b = 0; b < blocks; ++b) {
    Unpack(type, row + size_t(b) * info.block_bytes, &u);
    const int base = b * info.block_values;
    for (int g = 0; g < u.values / u.group; ++g) {
      const int start = base + g * u.group;
      int32_t dot = 0, sum = 0;
      for (int k = 0; k < u.group; ++k) {
        const int32_t a = x.q[size_t(start + k)];
        dot += int32_t(u.code[g * u.group + k]) * a;
        sum += a;
      }
      const float d = x.d[size_t(start / act_block)];
      total += u.scale[g] * d * float(dot) + u.offset[g] * d * float(sum);
    }
  }
  return total;
}

namespace {
bool Forced(const char* value) {
  const char* v = std::getenv("REFINERY_QUANT_KERNELS");
  return v != nullptr && std::strcmp(v, value) == 0;
}
bool UseAvx512() {
  static const bool use = UseAvx2Kernels() && !Forced("avx2") && avx512::Available();
  return use;
}
}  // namespace

bool UseAvx2Kernels() {
  static const bool use = !Forced("reference") && avx2::Available();
  return use;
}

DotFn FastDot(Type type) {
  if (DotFn k = UseAvx512() ? avx512::Kernel(type) : nullptr) return k;
  return UseAvx2Kernels() ? avx2::Kernel(type) : nullptr;
}
DotRowsFn FastDotRows(Type type) {
  if (DotRowsFn k = UseAvx512() ? avx512::RowsKernel(type) : nullptr) return k;
  return UseAvx2Kernels() ? avx2::RowsKernel(type) : nullptr;
}

DotRangeFn FastDotRange(Type type) {
  // The AVX-512 kernels have no range form: where they serve a type, its rows go one at a time.
  if (UseAvx512() && avx512::Kernel(type) != nullptr) return nullptr;
  return UseAvx2Kernels() ? avx2::RangeKernel(type) : nullptr;
}

const char* KernelName() {
  return UseAvx512() ? "avx512+avx2" : UseAvx2Kernels() ? "avx2" : "reference";
}

}  // namespace refinery::llm::quant
