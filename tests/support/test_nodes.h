// Test-only node types (upper, fail, spin); see test_nodes.cc.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace refinery::testing {
extern std::atomic<int64_t> g_upper_calls;  // real executions of `upper` (not cache hits)

// `gather` (accepts batches): every batch it ran, as the item ids in the order it got them.
std::vector<std::vector<std::string>> GatherBatches();
void GatherReset();  // clears the log and closes the gate
void GatherOpen();   // lets `gather` nodes with hold: true go on
int GatherHeld();    // batches waiting at the closed gate now
}  // namespace refinery::testing
