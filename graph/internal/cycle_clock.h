// CycleClock: cheap timestamps for per-node timing, read twice per node per item. The TSC costs
// a few nanoseconds where clock_gettime (vDSO) measured ~35 ns on the CI kind of VM, which was
// ~20% of the engine's per-item overhead (perf, `engine_bench overhead`). Converted to
// nanoseconds with a ratio calibrated once against steady_clock. Falls back to steady_clock
// where there is no invariant TSC.
#pragma once

#include <chrono>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define REFINERY_HAVE_TSC 1
#endif

namespace refinery {
// Wall-clock durations (cache TTLs, engine age); CycleClock below is for per-item timestamps.
using Clock = std::chrono::steady_clock;
}  // namespace refinery

namespace refinery::internal {

class CycleClock {
 public:
  static uint64_t Now() {
#ifdef REFINERY_HAVE_TSC
    return __rdtsc();
#else
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
#endif
  }
  // Nanoseconds per tick; the first call calibrates (~2 ms).
  static double NanosPerTick();
};

}  // namespace refinery::internal
