// The last validation step: the fields that loops (until, metric, budget_field) and parallel
// groups (keep_best) name must be written by nodes of the pipeline. What a node writes comes from
// its contract (NodeContract::io, a function of its id and options), so no node is built: this is
// why `validate` reports everything `run` would.
#pragma once

#include "graph/spec/diagnostics.h"
#include "graph/spec/pipeline_spec.h"

namespace refinery::internal {

void CheckFieldsWritten(const PipelineSpec& spec, Diagnostics& diags);

}  // namespace refinery::internal
