// The `loops:` section of a pipeline file: from/to (nodes in the execution order), the `until`
// condition, limits and budgets, on_exhausted, per-pass option adjustments, adaptation. Needs the
// nodes and their order, so it runs after topology. Every problem is a located diagnostic.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "graph/spec/diagnostics.h"
#include "graph/spec/pipeline_spec.h"

namespace refinery::internal {

class LoopSpecParser {
 public:
  LoopSpecParser(std::string file, PipelineSpec& spec, Diagnostics& diags);
  // Appends the loop (one per pipeline in this version) to the spec.
  void ReadLoops(const YAML::Node& loops);

 private:
  void ReadLoop(const YAML::Node& l);
  void ReadAdjust(const YAML::Node& adjust, LoopSpec& loop);
  int OrderOf(const std::string& id) const;  // position in the execution order, or -1
  std::vector<std::string> NodeIds() const;

  std::string file_;
  PipelineSpec& spec_;
  Diagnostics& diags_;
};

}  // namespace refinery::internal
