#include "graph/spec/node_spec_parser.h"

#include <algorithm>
#include <regex>
#include <set>

#include "graph/internal/did_you_mean.h"
#include "graph/internal/yaml_util.h"
#include "graph/registry.h"
#include "graph/runtime/parallel_group.h"
#include "graph/spec/cache_spec_parser.h"
#include "graph/spec/option_parser.h"
#include "graph/spec/queue_spec_parser.h"
#include "graph/spec/runtime_config.h"

namespace refinery::internal {

namespace {
const std::vector<std::string> kEngineNodeKeys = {"id",    "type",  "concurrency",
                                                  "cache", "queue", "description"};
}  // namespace

std::string NodeContext(const NodeSpec& node) {
  return "node '" + node.id + "' (" + node.type + ")";
}

std::optional<Concurrency> ParseConcurrency(const YAML::Node& v, const std::string& file,
                                            const std::string& context, Diagnostics& diags) {
  if (v.IsScalar()) {
    const std::string& s = v.Scalar();
    int64_t n;
    if (s == "serial") return Concurrency::Serial();
    if (s == "unlimited") return Concurrency::Unlimited();
    if (internal::ParseInt(s, &n) && n >= 1 && n <= 1024) return Concurrency::Limited(int(n));
  }
  diags.Error(Where(file, v), context + ": 'concurrency' must be serial, unlimited or an " +
                                  "integer from 1 to 1024, found " + Describe(v));
  return std::nullopt;
}

NodeSpecParser::NodeSpecParser(std::string file, const Overrides& overrides,
                               const RuntimeConfig& config, PipelineSpec& spec, Diagnostics& diags)
    : file_(std::move(file)), overrides_(overrides), config_(config), spec_(spec), diags_(diags) {}

void NodeSpecParser::ReadDefaults(const YAML::Node& defaults) {
  if (!defaults) return;
  if (!defaults.IsMap()) {
    diags_.Error(Where(file_, defaults),
                 "'defaults' must be a mapping, found " + Describe(defaults));
    return;
  }
  for (const auto& kv : defaults) {
    const std::string key = kv.first.Scalar();
    if (key == "concurrency") {
      default_concurrency_ = ParseConcurrency(kv.second, file_, "defaults", diags_);
    } else if (key == "cache") {
      default_cache_ = internal::ParseCacheOverride(kv.second, file_, "defaults", diags_);
    } else {
      default_options_.emplace(key, kv);  // checked against the node types once they are known
    }
  }
}

void NodeSpecParser::ReadNodes(const YAML::Node& root) {
  const YAML::Node nodes = root["nodes"];
  if (!nodes) {
    diags_.Error(Where(file_, root), "missing 'nodes:': a pipeline needs at least one node");
    return;
  }
  if (!nodes.IsSequence() || nodes.size() == 0) {
    diags_.Error(Where(file_, nodes),
                 "empty pipeline: 'nodes' must be a non-empty list, found " + Describe(nodes));
    return;
  }
  for (const YAML::Node& n : nodes) {
    if (n.IsMap() && n["parallel"])
      ReadParallel(n);
    else
      ReadNodeEntry(n, "");
  }
  CheckDefaultOptions();
}

// One entry of `nodes:` (or of a parallel branch, `group` naming the group). Returns whether
// a node was added.
bool NodeSpecParser::ReadNodeEntry(const YAML::Node& n, const std::string& group) {
  if (!n.IsMap()) {
    diags_.Error(Where(file_, n),
                 "a node must be a mapping with 'id' and 'type', found " + Describe(n));
    return false;
  }
  NodeSpec node;
  node.where = Where(file_, n);
  const YAML::Node id = n["id"];
  const YAML::Node type = n["type"];
  static const std::regex kId("[A-Za-z_][A-Za-z0-9_-]*");
  if (!id) {
    diags_.Error(node.where, "node without an 'id'");
    return false;
  }
  if (!id.IsScalar() || !std::regex_match(id.Scalar(), kId)) {
    diags_.Error(Where(file_, id),
                 "node id must be a name like 'summarize_1' (letters, digits, "
                 "'_' and '-'), found " +
                     Describe(id));
    return false;
  }
  node.id = id.Scalar();
  const std::string ctx = "node '" + node.id + "'";
  if (auto it = seen_.find(node.id); it != seen_.end()) {
    diags_.Error(Where(file_, id),
                 ctx + ": duplicate id; first defined at line " + std::to_string(it->second.line));
    return false;
  }
  seen_.emplace(node.id, Where(file_, id));
  if (!type || !type.IsScalar()) {
    diags_.Error(node.where, ctx + ": missing 'type' (registered types: " +
                                 JoinNames(NodeRegistry::Global().Types()) + ")");
    return false;
  }
  node.type = type.Scalar();
  node.contract = NodeRegistry::Global().Find(node.type);
  if (node.contract == nullptr) {
    auto types = NodeRegistry::Global().Types();
    diags_.Error(Where(file_, type), ctx + ": unknown node type '" + node.type + "'" +
                                         DidYouMean(node.type, types) +
                                         " (registered types: " + JoinNames(types) + ")");
    return false;
  }
  node.group = group;
  ReadNode(n, node);
  spec_.nodes.push_back(std::move(node));
  return true;
}

// A parallel group: {id, parallel: {keep_best: FIELD, keep: highest|lowest, branches: {name:
// [nodes]}}}.
void NodeSpecParser::ReadParallel(const YAML::Node& n) {
  static const std::vector<std::string> kKeys = {"id", "parallel", "description"};
  static const std::vector<std::string> kGroupKeys = {"keep_best", "keep", "branches"};
  NodeSpec group;
  group.where = Where(file_, n);
  const YAML::Node id = n["id"];
  static const std::regex kId("[A-Za-z_][A-Za-z0-9_-]*");
  if (!id || !id.IsScalar() || !std::regex_match(id.Scalar(), kId)) {
    diags_.Error(id ? Where(file_, id) : group.where,
                 "a parallel group needs an 'id' like 'best_summary'");
    return;
  }
  group.id = id.Scalar();
  group.type = "parallel";
  group.contract = &ParallelContract();
  group.concurrency = Concurrency::Unlimited();
  group.cache.enabled = false;
  const std::string ctx = "parallel group '" + group.id + "'";
  if (auto it = seen_.find(group.id); it != seen_.end()) {
    diags_.Error(Where(file_, id),
                 ctx + ": duplicate id; first defined at line " + std::to_string(it->second.line));
    return;
  }
  seen_.emplace(group.id, Where(file_, id));
  CheckKeys(n, kKeys, file_, ctx + ": unknown key", diags_, "; a group has no type");
  const YAML::Node p = n["parallel"];
  if (!p.IsMap()) {
    diags_.Error(
        Where(file_, p),
        ctx + ": 'parallel' must be a mapping with keep_best and branches, found " + Describe(p));
    return;
  }
  CheckKeys(p, kGroupKeys, file_, ctx + ": unknown key", diags_);
  auto parallel = std::make_shared<ParallelSpec>();
  // keep_best: one field for every branch, or {branch: field} (fields carry their node's id).
  const YAML::Node keep_best = p["keep_best"];
  const bool keep_ok =
      keep_best && ((keep_best.IsScalar() && !keep_best.Scalar().empty()) || keep_best.IsMap());
  if (!keep_ok) {
    diags_.Error(keep_best ? Where(file_, keep_best) : Where(file_, p),
                 ctx +
                     ": 'keep_best' must name the numeric field the branches are compared by "
                     "(e.g. score.total), "
                     "or map each branch to its field ({lead: score_lead.total, textrank: "
                     "score_rank.total})");
  }
  if (const YAML::Node k = p["keep"]) {
    const std::string v = k.IsScalar() ? k.Scalar() : "";
    if (v == "lowest")
      parallel->lowest = true;
    else if (v != "highest")
      diags_.Error(Where(file_, k),
                   ctx + ": 'keep' must be highest or lowest, found " + Describe(k));
  }
  const YAML::Node branches = p["branches"];
  if (!branches || !branches.IsMap() || branches.size() < 2) {
    diags_.Error(branches ? Where(file_, branches) : Where(file_, p),
                 ctx + ": 'branches' must map two or more branch names to lists of nodes, found " +
                     (branches ? Describe(branches) : std::string("nothing")));
    return;
  }
  const size_t group_index = spec_.nodes.size();
  spec_.nodes.push_back(group);
  for (const auto& kv : branches) {
    const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "";
    const YAML::Node list = kv.second;
    if (!list.IsSequence() || list.size() == 0) {
      diags_.Error(Where(file_, list), ctx + ": branch '" + name +
                                           "' must be a non-empty list of nodes, found " +
                                           Describe(list));
      continue;
    }
    std::vector<size_t> members;
    for (const YAML::Node& m : list) {
      if (m.IsMap() && m["parallel"]) {
        diags_.Error(Where(file_, m), ctx + ": branch '" + name + "': parallel groups do not nest");
        continue;
      }
      if (m.IsMap() && m["queue"]) {
        diags_.Error(Where(file_, m["queue"]),
                     ctx + ": branch '" + name + "': nodes inside a branch cannot have a queue");
        continue;
      }
      if (ReadNodeEntry(m, group.id)) members.push_back(spec_.nodes.size() - 1);
    }
    parallel->names.push_back(name);
    parallel->branches.push_back(std::move(members));
    std::string metric;
    if (keep_ok && keep_best.IsScalar())
      metric = keep_best.Scalar();
    else if (keep_ok && keep_best[name] && keep_best[name].IsScalar())
      metric = keep_best[name].Scalar();
    else if (keep_ok)
      diags_.Error(Where(file_, keep_best),
                   ctx + ": keep_best names no field for branch '" + name + "'");
    parallel->metrics.push_back(metric);
  }
  if (keep_ok && keep_best.IsMap()) {
    for (const auto& kv : keep_best) {
      const std::string b = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (std::find(parallel->names.begin(), parallel->names.end(), b) == parallel->names.end()) {
        diags_.Error(Where(file_, kv.first), ctx + ": keep_best names branch '" + b +
                                                 "', which the group does not have" +
                                                 DidYouMean(b, parallel->names));
      }
    }
  }
  spec_.nodes[group_index].parallel = std::move(parallel);
}

void NodeSpecParser::ReadNode(const YAML::Node& n, NodeSpec& node) {
  const NodeContract& c = *node.contract;
  const std::string ctx = NodeContext(node);
  // Options: declared defaults, then pipeline defaults, then the node's own keys.
  for (const OptionDef& def : c.options.defs()) node.options.Set(def.name, def.default_value);
  std::set<std::string> given;
  for (const auto& [key, kv] : default_options_) {
    if (const OptionDef* def = c.options.Find(key)) {
      if (auto v = ParseOptionValue(*def, kv.second, file_, "defaults (for " + ctx + ")", diags_)) {
        node.options.Set(key, *v);
        given.insert(key);
      }
    }
  }
  node.concurrency = default_concurrency_.value_or(c.default_concurrency);
  node.cache.enabled = c.cacheable;
  if (c.cacheable && default_cache_) ApplyCacheOverride(*default_cache_, node.cache);
  std::vector<std::string> allowed = kEngineNodeKeys;
  for (const std::string& o : c.options.Names()) allowed.push_back(o);
  for (const auto& kv : n) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (key == "id" || key == "type") continue;
    if (key == "description") continue;
    if (key == "concurrency") {
      if (auto cc = ParseConcurrency(kv.second, file_, ctx, diags_)) node.concurrency = *cc;
    } else if (key == "cache") {
      CacheOverride o = internal::ParseCacheOverride(kv.second, file_, ctx, diags_);
      if (!c.cacheable && o.enabled.value_or(true)) {
        diags_.Error(Where(file_, kv.first), ctx + ": node type '" + c.type +
                                                 "' is not cacheable (its output is not a "
                                                 "function of its inputs)");
      } else {
        ApplyCacheOverride(o, node.cache);
      }
    } else if (key == "queue") {
      internal::ParseQueueSpec(kv.second, file_, ctx, c.accepts_batches, node.queue, diags_);
    } else if (const OptionDef* def = c.options.Find(key)) {
      if (auto v = ParseOptionValue(*def, kv.second, file_, ctx, diags_)) {
        node.options.Set(key, *v);
      }
      given.insert(key);
    } else {
      ReportUnknownKey(kv.first, allowed, file_, ctx + ": unknown key", diags_);
    }
  }
  // configs/ settings win over the file: they are the operator's word.
  if (c.cacheable) {
    ApplyCacheOverride(config_.cache_defaults, node.cache);
    if (auto it = config_.cache_nodes.find(node.id); it != config_.cache_nodes.end()) {
      ApplyCacheOverride(it->second, node.cache);
    }
  }
  for (const OptionDef& def : c.options.defs()) {
    if (def.required && !given.count(def.name) && !HasOverride(node.id, def.name)) {
      diags_.Error(node.where, ctx + ": missing required option '" + def.name + "' (" + def.doc +
                                   "; " + def.AllowedText() + ")");
    }
  }
}

bool NodeSpecParser::HasOverride(const std::string& node, const std::string& key) const {
  for (const Override& o : overrides_) {
    if (o.node == node && o.key == key) return true;
  }
  return false;
}

void NodeSpecParser::CheckDefaultOptions() {
  std::vector<std::string> known = {"concurrency", "cache"};
  for (const NodeSpec& node : spec_.nodes) {
    for (const std::string& o : node.contract->options.Names()) known.push_back(o);
  }
  for (const auto& [key, kv] : default_options_) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      diags_.Error(Where(file_, kv.first), "defaults: unknown key '" + key + "'" +
                                               DidYouMean(key, known) +
                                               ": no node in this pipeline has such an option");
    }
  }
}

}  // namespace refinery::internal
