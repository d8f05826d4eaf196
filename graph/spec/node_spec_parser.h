// The `defaults:` and `nodes:` sections of a pipeline file: each node's id, type, options (declared
// defaults, then pipeline defaults, then its own keys), concurrency, cache and queue, and the
// parallel groups with their branches. Every problem is a located diagnostic; parsing carries on.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "graph/runtime_config.h"
#include "graph/spec/diagnostics.h"
#include "graph/spec/pipeline_spec.h"

namespace refinery::internal {

// "node 'cut' (truncate)": how messages name a node.
std::string NodeContext(const NodeSpec& node);

// serial | unlimited | 1..1024.
std::optional<Concurrency> ParseConcurrency(const YAML::Node& v, const std::string& file,
                                            const std::string& context, Diagnostics& diags);

class NodeSpecParser {
 public:
  NodeSpecParser(std::string file, const Overrides& overrides, const RuntimeConfig& config,
                 PipelineSpec& spec, Diagnostics& diags);

  void ReadDefaults(const YAML::Node& defaults);
  // Appends every node (and parallel group) of `nodes:` to the spec.
  void ReadNodes(const YAML::Node& root);

 private:
  bool ReadNodeEntry(const YAML::Node& n, const std::string& group);
  void ReadParallel(const YAML::Node& n);
  void ReadNode(const YAML::Node& n, NodeSpec& node);
  bool HasOverride(const std::string& node, const std::string& key) const;
  void CheckDefaultOptions();

  std::string file_;
  const Overrides& overrides_;
  const RuntimeConfig& config_;
  PipelineSpec& spec_;
  Diagnostics& diags_;
  std::optional<Concurrency> default_concurrency_;
  std::optional<CacheOverride> default_cache_;
  std::map<std::string, std::pair<YAML::Node, YAML::Node>> default_options_;
  std::map<std::string, SourceLocation> seen_;  // node ids so far, for duplicates
};

}  // namespace refinery::internal
