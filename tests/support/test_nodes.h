// Test-only node types (upper, fail, spin); see test_nodes.cc.
#pragma once

#include <atomic>
#include <cstdint>

namespace refinery::testing {
extern std::atomic<int64_t> g_upper_calls;  // real executions of `upper` (not cache hits)
}
