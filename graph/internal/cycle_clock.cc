#include "graph/internal/cycle_clock.h"

#include <thread>

namespace refinery::internal {

double CycleClock::NanosPerTick() {
#ifdef REFINERY_HAVE_TSC
  static const double ratio = [] {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    const uint64_t c0 = Now();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const auto t1 = Clock::now();
    const uint64_t c1 = Now();
    const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    return c1 > c0 ? ns / double(c1 - c0) : 1.0;
  }();
  return ratio;
#else
  return 1.0;
#endif
}

}  // namespace refinery::internal
