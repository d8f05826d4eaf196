// PipelineToDot: a validated pipeline as a Graphviz digraph, for `graph-runner describe --dot`
// and any service that shows pipelines (DescribePipeline).
//
//   std::string dot = refinery::PipelineToDot(*spec);   // pipe to `dot -Tsvg`
//
// Nodes are boxes labelled with id, type and concurrency; edges are solid; a parallel group fans
// out to each branch's chain with dashed edges.
#pragma once

#include <string>

#include "graph/spec/pipeline_spec.h"

namespace refinery {

std::string PipelineToDot(const PipelineSpec& spec);

}  // namespace refinery
