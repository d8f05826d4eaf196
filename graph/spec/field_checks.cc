#include "graph/spec/field_checks.h"

#include <algorithm>
#include <tuple>

#include "graph/internal/did_you_mean.h"
#include "graph/spec/node_spec_parser.h"

namespace refinery::internal {

namespace {

// Every branch of a group must write the field the group compares branches by.
void CheckGroupMetrics(const NodeSpec& group, const std::vector<FieldIo>& io, Diagnostics& diags_) {
  const ParallelSpec& p = *group.parallel;
  for (size_t b = 0; b < p.branches.size(); ++b) {
    std::vector<std::string> written;
    for (size_t member : p.branches[b]) {
      written.insert(written.end(), io[member].writes.begin(), io[member].writes.end());
    }
    if (std::find(written.begin(), written.end(), p.metrics[b]) == written.end()) {
      diags_.Error(group.where, "parallel group '" + group.id + "': branch '" + p.names[b] +
                                    "' writes no field '" + p.metrics[b] + "' (keep_best)" +
                                    DidYouMean(p.metrics[b], written));
    }
  }
}

// A loop's condition, metric and budget field must be written by some node of the pipeline.
void CheckLoopFields(const LoopSpec& loop, const std::vector<FieldIo>& io, Diagnostics& diags_) {
  std::vector<std::string> written;
  for (const FieldIo& node_io : io)
    written.insert(written.end(), node_io.writes.begin(), node_io.writes.end());
  std::vector<std::tuple<std::string, std::string, SourceLocation>> named;  // (what, field, where)
  for (const std::string& f : loop.until->fields())
    named.emplace_back("condition", f, loop.until_where);
  if (!loop.metric.empty()) named.emplace_back("metric", loop.metric, loop.metric_where);
  if (!loop.budget_field.empty())
    named.emplace_back("budget_field", loop.budget_field, loop.budget_field_where);
  for (const auto& [what, field, where] : named) {
    if (std::find(written.begin(), written.end(), field) == written.end()) {
      diags_.Error(where, "loop " + what + " names field '" + field +
                              "', which no node of the pipeline writes" +
                              DidYouMean(field, written));
    }
  }
}

}  // namespace

// The fields loops and parallel groups name must be written by nodes of the pipeline. What a
// node writes is a function of its id and options (NodeContract::io), so this needs no node
// built: `validate` reports every such problem, as `run` would.
void CheckFieldsWritten(const PipelineSpec& spec_, Diagnostics& diags_) {
  std::vector<FieldIo> io(spec_.nodes.size());
  for (size_t i = 0; i < spec_.nodes.size(); ++i) {
    const NodeSpec& node = spec_.nodes[i];
    try {
      io[i] = node.contract->io(NodeConfig{node.id, node.type, node.options, spec_.base_dir});
    } catch (const std::exception& e) {
      diags_.Error(
          node.where,
          NodeContext(node) + ": its fields cannot be worked out from its options: " + e.what());
    }
  }
  for (size_t i = 0; i < spec_.nodes.size(); ++i) {
    if (spec_.nodes[i].parallel) CheckGroupMetrics(spec_.nodes[i], io, diags_);
  }
  if (!spec_.loops.empty()) CheckLoopFields(spec_.loops.front(), io, diags_);
}

}  // namespace refinery::internal
