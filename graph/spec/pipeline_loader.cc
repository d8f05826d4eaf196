#include "graph/spec/pipeline_loader.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "graph/internal/did_you_mean.h"
#include "graph/internal/yaml_guard.h"
#include "graph/internal/yaml_util.h"
#include "graph/registry.h"
#include "graph/spec/field_checks.h"
#include "graph/spec/loop_spec_parser.h"
#include "graph/spec/node_spec_parser.h"
#include "graph/spec/option_parser.h"
#include "graph/spec/pipeline_topology.h"
#include "graph/spec/runtime_config.h"

namespace refinery {

using internal::Describe;
using internal::DidYouMean;
using internal::JoinNames;
using internal::Where;

const NodeSpec* PipelineSpec::FindNode(const std::string& id) const {
  for (const NodeSpec& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

namespace {

const std::vector<std::string> kTopKeys = {"pipeline", "version", "description", "max_in_flight",
                                           "defaults", "nodes",   "edges",       "loops"};

// Validates one pipeline document; every check adds to `diags` and carries on.
class PipelineValidator {
 public:
  PipelineValidator(std::string file, std::string base_dir, const Overrides& overrides,
                    const RuntimeConfig& config)
      : file_(std::move(file)),
        base_dir_(std::move(base_dir)),
        overrides_(overrides),
        config_(config) {}

  StatusOr<PipelineSpec> Run(const YAML::Node& root) {
    spec_.file = file_;
    spec_.base_dir = base_dir_;
    if (!root.IsDefined() || root.IsNull()) {
      diags_.Error({file_, 1, 1}, "empty pipeline: expected 'pipeline:' and 'nodes:'");
      return diags_.ToStatus();
    }
    if (!root.IsMap()) {
      diags_.Error(Where(file_, root), "a pipeline file is a mapping with 'pipeline:' and " +
                                           std::string("'nodes:', found ") + Describe(root));
      return diags_.ToStatus();
    }
    CheckTopKeys(root);
    ReadHeader(root);
    internal::NodeSpecParser nodes(file_, overrides_, config_, spec_, diags_);
    nodes.ReadDefaults(root["defaults"]);
    nodes.ReadNodes(root);
    ApplyOverrides();
    CheckOptionRules();
    ReadEdges(root);
    if (diags_.empty()) internal::CheckTopology(spec_, diags_);
    if (diags_.empty() && root["loops"]) {
      internal::LoopSpecParser(file_, spec_, diags_).ReadLoops(root["loops"]);
    }
    if (diags_.empty()) internal::CheckFieldsWritten(spec_, diags_);
    if (!diags_.empty()) return diags_.ToStatus();
    return std::move(spec_);
  }

 private:
  void CheckTopKeys(const YAML::Node& root) {
    internal::CheckKeys(root, kTopKeys, file_, "unknown top-level key", diags_);
  }

  void ReadHeader(const YAML::Node& root) {
    const YAML::Node name = root["pipeline"];
    if (!name) {
      diags_.Error(Where(file_, root), "missing 'pipeline:' (the pipeline's name)");
    } else if (!name.IsScalar() || name.Scalar().empty()) {
      diags_.Error(Where(file_, name),
                   "'pipeline' must be a non-empty name, found " + Describe(name));
    } else {
      spec_.name = name.Scalar();
    }
    for (const char* key : {"version", "description"}) {
      const YAML::Node v = root[key];
      if (!v) continue;
      if (!v.IsScalar()) {
        diags_.Error(Where(file_, v),
                     std::string("'") + key + "' must be text, found " + Describe(v));
      } else {
        (std::string(key) == "version" ? spec_.version : spec_.description) = v.Scalar();
      }
    }
    if (const YAML::Node m = root["max_in_flight"]) ReadMaxInFlight(m, Where(file_, m));
  }

  void ReadMaxInFlight(const YAML::Node& m, const SourceLocation& where) {
    int64_t n;
    if (!m.IsScalar() || !internal::ParseInt(m.Scalar(), &n) || n < 1 || n > 1'000'000) {
      diags_.Error(where,
                   "'max_in_flight' must be an integer from 1 to 1000000, found " + Describe(m));
    } else {
      spec_.max_in_flight = n;
    }
  }

  void ApplyOverrides() {
    std::vector<std::string> ids;
    for (const NodeSpec& n : spec_.nodes) ids.push_back(n.id);
    for (const Override& o : overrides_) {
      SourceLocation where{"--set " + o.text, 0, 0};
      const YAML::Node value = OverrideYaml(o);
      if (o.node.empty()) {
        if (o.key == "max_in_flight") {
          ReadMaxInFlight(value, where);
        } else {
          diags_.Error(where, "unknown pipeline key '" + o.key + "'" +
                                  DidYouMean(o.key, {"max_in_flight"}) +
                                  " (node options are set as node.key=value)");
        }
        continue;
      }
      auto it = std::find_if(spec_.nodes.begin(), spec_.nodes.end(),
                             [&](const NodeSpec& n) { return n.id == o.node; });
      if (it == spec_.nodes.end()) {
        diags_.Error(where, "no node with id '" + o.node + "'" + DidYouMean(o.node, ids) +
                                " (nodes: " + JoinNames(ids) + ")");
        continue;
      }
      NodeSpec& node = *it;
      const std::string ctx = internal::NodeContext(node);
      Diagnostics local;
      if (o.key == "concurrency") {
        if (auto cc = internal::ParseConcurrency(value, "", ctx, local)) node.concurrency = *cc;
      } else if (const OptionDef* def = node.contract->options.Find(o.key)) {
        if (auto v = ParseOptionValue(*def, value, "", ctx, local)) {
          node.options.Set(o.key, *v);
        }
      } else {
        std::vector<std::string> allowed = node.contract->options.Names();
        allowed.push_back("concurrency");
        local.Error({}, ctx + ": unknown option '" + o.key + "'" + DidYouMean(o.key, allowed) +
                            " (allowed: " + JoinNames(allowed) + ")");
      }
      for (const Diagnostic& d : local.items()) diags_.Error(where, d.message);
    }
  }

  void CheckOptionRules() {
    for (const NodeSpec& node : spec_.nodes) {
      if (!node.contract->check) continue;
      for (const std::string& problem : node.contract->check(node.options)) {
        diags_.Error(node.where, internal::NodeContext(node) + ": " + problem);
      }
    }
  }

  void ReadEdges(const YAML::Node& root) {
    const YAML::Node edges = root["edges"];
    if (!edges) {
      // No edges: the nodes form a chain in the order they are listed (a parallel group is one
      // link of the chain; its branch nodes are not).
      const NodeSpec* prev = nullptr;
      for (const NodeSpec& node : spec_.nodes) {
        if (!node.group.empty()) continue;
        if (prev) spec_.edges.push_back({prev->id, node.id, prev->where, node.where});
        prev = &node;
      }
      return;
    }
    spec_.edges = internal::ParseEdges(edges, file_, diags_);
  }

  std::string file_;
  std::string base_dir_;
  const Overrides& overrides_;
  const RuntimeConfig& config_;
  Diagnostics diags_;
  PipelineSpec spec_;
};

StatusOr<PipelineSpec> LoadFromText(const std::string& text, const std::string& file,
                                    const std::string& base_dir, const Overrides& overrides,
                                    const RuntimeConfig& config) {
  StatusOr<YAML::Node> root =
      internal::SafeLoadYaml(text, file, kMaxPipelineFileBytes, kMaxYamlDepth);
  if (!root.ok()) return root.status();
  try {
    return PipelineValidator(file, base_dir, overrides, config).Run(*root);
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws on some malformed trees (e.g. a map key that is itself a map).
    return Status::InvalidArgument(Where(file, e.mark).ToString() + ": error: " + e.msg);
  }
}

}  // namespace

StatusOr<PipelineSpec> LoadPipelineFile(const std::string& path, const Overrides& overrides,
                                        const RuntimeConfig& config) {
  StatusOr<std::string> text = internal::ReadTextFile(path, kMaxPipelineFileBytes);
  if (!text.ok()) return text.status();
  std::string base = std::filesystem::path(path).parent_path().string();
  return LoadFromText(*text, path, base.empty() ? "." : base, overrides, config);
}

StatusOr<PipelineSpec> LoadPipelineString(const std::string& yaml, const std::string& name,
                                          const Overrides& overrides, const RuntimeConfig& config) {
  return LoadFromText(yaml, name, ".", overrides, config);
}

}  // namespace refinery
