// Graph checks on a pipeline's edges: missing endpoints, cycles that are not declared loops,
// unreachable nodes, and the execution order.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "graph/spec/diagnostics.h"
#include "graph/spec/pipeline_spec.h"

namespace refinery::internal {

// Expands `edges:` entries ("a -> b -> c" chains or {from: a, to: b}) into EdgeSpecs with the
// location of each endpoint name.
std::vector<EdgeSpec> ParseEdges(const YAML::Node& edges, const std::string& file,
                                 Diagnostics& diags);

// Checks endpoints, cycles and reachability over spec.nodes/spec.edges and fills spec.order.
void CheckTopology(PipelineSpec& spec, Diagnostics& diags);

}  // namespace refinery::internal
