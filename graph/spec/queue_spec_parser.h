// Parsing a node's `queue:` (its waiting room; graph/runtime/waiting_room.h):
//   queue: {order: priority}
//   queue:
//     order: fifo                    # fifo | priority
//     batch: {max_items: 8, max_delay_ms: 5, max_tokens: 4096, size_field: text.tokens,
//             buckets: [64, 256], adapt: {target_p95_ms: 200, min_items: 1, max_items: 32}}
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "graph/spec/diagnostics.h"
#include "graph/spec/pipeline_spec.h"

namespace refinery::internal {

// Fills `out` (enabled) or adds located errors to `diags`. `context` names the node, e.g.
// "node 'llm' (infer)"; `accepts_batches` is the node type's contract.
void ParseQueueSpec(const YAML::Node& node, const std::string& file, const std::string& context,
                    bool accepts_batches, QueueSpec& out, Diagnostics& diags);

}  // namespace refinery::internal
