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
#include "graph/runtime/parallel_group.h"
#include "graph/spec/cache_spec_parser.h"
#include "graph/spec/option_parser.h"
#include "graph/spec/pipeline_topology.h"
#include "graph/spec/queue_spec_parser.h"
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
const std::vector<std::string> kEngineNodeKeys = {"id",    "type",  "concurrency",
                                                  "cache", "queue", "description"};

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
    ReadDefaults(root["defaults"]);
    ReadNodes(root);
    ApplyOverrides();
    CheckOptionRules();
    ReadEdges(root);
    if (diags_.empty()) internal::CheckTopology(spec_, diags_);
    if (diags_.empty() && root["loops"]) ReadLoops(root["loops"]);
    if (diags_.empty()) CheckFieldsWritten();
    if (!diags_.empty()) return diags_.ToStatus();
    return std::move(spec_);
  }

 private:
  void CheckTopKeys(const YAML::Node& root) {
    for (const auto& kv : root) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (std::find(kTopKeys.begin(), kTopKeys.end(), key) == kTopKeys.end()) {
        diags_.Error(Where(file_, kv.first), "unknown top-level key '" + key + "'" +
                                                 DidYouMean(key, kTopKeys) +
                                                 " (allowed: " + JoinNames(kTopKeys) + ")");
      }
    }
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

  std::optional<Concurrency> ParseConcurrency(const YAML::Node& v, const std::string& context) {
    if (v.IsScalar()) {
      const std::string& s = v.Scalar();
      int64_t n;
      if (s == "serial") return Concurrency::Serial();
      if (s == "unlimited") return Concurrency::Unlimited();
      if (internal::ParseInt(s, &n) && n >= 1 && n <= 1024) return Concurrency::Limited(int(n));
    }
    diags_.Error(Where(file_, v), context + ": 'concurrency' must be serial, unlimited or an " +
                                      "integer from 1 to 1024, found " + Describe(v));
    return std::nullopt;
  }

  void ReadDefaults(const YAML::Node& defaults) {
    if (!defaults) return;
    if (!defaults.IsMap()) {
      diags_.Error(Where(file_, defaults),
                   "'defaults' must be a mapping, found " + Describe(defaults));
      return;
    }
    for (const auto& kv : defaults) {
      const std::string key = kv.first.Scalar();
      if (key == "concurrency") {
        default_concurrency_ = ParseConcurrency(kv.second, "defaults");
      } else if (key == "cache") {
        default_cache_ = internal::ParseCacheOverride(kv.second, file_, "defaults", diags_);
      } else {
        default_options_.emplace(key, kv);  // checked against the node types once they are known
      }
    }
  }

  void ReadNodes(const YAML::Node& root) {
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
  bool ReadNodeEntry(const YAML::Node& n, const std::string& group) {
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
      diags_.Error(Where(file_, id), ctx + ": duplicate id; first defined at line " +
                                         std::to_string(it->second.line));
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
  void ReadParallel(const YAML::Node& n) {
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
      diags_.Error(Where(file_, id), ctx + ": duplicate id; first defined at line " +
                                         std::to_string(it->second.line));
      return;
    }
    seen_.emplace(group.id, Where(file_, id));
    for (const auto& kv : n) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
        diags_.Error(Where(file_, kv.first),
                     ctx + ": unknown key '" + key + "'" + DidYouMean(key, kKeys) +
                         " (allowed: " + JoinNames(kKeys) + "; a group has no type)");
      }
    }
    const YAML::Node p = n["parallel"];
    if (!p.IsMap()) {
      diags_.Error(
          Where(file_, p),
          ctx + ": 'parallel' must be a mapping with keep_best and branches, found " + Describe(p));
      return;
    }
    for (const auto& kv : p) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (std::find(kGroupKeys.begin(), kGroupKeys.end(), key) == kGroupKeys.end()) {
        diags_.Error(Where(file_, kv.first), ctx + ": unknown key '" + key + "'" +
                                                 DidYouMean(key, kGroupKeys) +
                                                 " (allowed: " + JoinNames(kGroupKeys) + ")");
      }
    }
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
                   ctx +
                       ": 'branches' must map two or more branch names to lists of nodes, found " +
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
          diags_.Error(Where(file_, m),
                       ctx + ": branch '" + name + "': parallel groups do not nest");
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

  std::string Context(const NodeSpec& node) const {
    return "node '" + node.id + "' (" + node.type + ")";
  }

  void ReadNode(const YAML::Node& n, NodeSpec& node) {
    const NodeContract& c = *node.contract;
    const std::string ctx = Context(node);
    // Options: declared defaults, then pipeline defaults, then the node's own keys.
    for (const OptionDef& def : c.options.defs()) node.options.Set(def.name, def.default_value);
    std::set<std::string> given;
    for (const auto& [key, kv] : default_options_) {
      if (const OptionDef* def = c.options.Find(key)) {
        if (auto v =
                ParseOptionValue(*def, kv.second, file_, "defaults (for " + ctx + ")", diags_)) {
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
        if (auto cc = ParseConcurrency(kv.second, ctx)) node.concurrency = *cc;
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
        diags_.Error(Where(file_, kv.first), ctx + ": unknown key '" + key + "'" +
                                                 DidYouMean(key, allowed) +
                                                 " (allowed: " + JoinNames(allowed) + ")");
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

  bool HasOverride(const std::string& node, const std::string& key) const {
    for (const Override& o : overrides_) {
      if (o.node == node && o.key == key) return true;
    }
    return false;
  }

  void CheckDefaultOptions() {
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
      const std::string ctx = Context(node);
      Diagnostics local;
      if (o.key == "concurrency") {
        if (auto cc = ParseConcurrency(value, ctx)) node.concurrency = *cc;
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
        diags_.Error(node.where, Context(node) + ": " + problem);
      }
    }
  }

  // Position of a node in the execution order, or -1.
  int OrderOf(const std::string& id) const {
    for (size_t k = 0; k < spec_.order.size(); ++k) {
      if (spec_.nodes[spec_.order[k]].id == id) return int(k);
    }
    return -1;
  }

  std::vector<std::string> NodeIds() const {
    std::vector<std::string> ids;
    for (const NodeSpec& n : spec_.nodes) ids.push_back(n.id);
    return ids;
  }

  void ReadLoops(const YAML::Node& loops) {
    if (!loops.IsSequence()) {
      diags_.Error(Where(file_, loops),
                   "'loops' must be a list of loops, found " + Describe(loops));
      return;
    }
    if (loops.size() > 1) {
      diags_.Error(Where(file_, loops[1]),
                   "only one loop per pipeline is supported in this version");
      return;
    }
    for (const YAML::Node& l : loops) ReadLoop(l);
  }

  void ReadLoop(const YAML::Node& l) {
    static const std::vector<std::string> kKeys = {
        "from",         "to",     "until",          "max_iterations", "metric", "min_delta",
        "budget_field", "budget", "time_budget_ms", "on_exhausted",   "adjust", "adapt"};
    if (!l.IsMap()) {
      diags_.Error(Where(file_, l),
                   "a loop is a mapping with from, to, until, ...; found " + Describe(l));
      return;
    }
    LoopSpec loop;
    loop.where = Where(file_, l);
    for (const auto& kv : l) {
      const std::string key = kv.first.Scalar();
      if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
        diags_.Error(Where(file_, kv.first), "loop: unknown key '" + key + "'" +
                                                 DidYouMean(key, kKeys) +
                                                 " (allowed: " + JoinNames(kKeys) + ")");
      }
    }
    auto node_ref = [&](const char* key, std::string* out) {
      const YAML::Node v = l[key];
      if (!v) {
        diags_.Error(loop.where, std::string("loop: missing '") + key + "' (a node id)");
        return;
      }
      if (const NodeSpec* inner = v.IsScalar() ? spec_.FindNode(v.Scalar()) : nullptr;
          inner && !inner->group.empty()) {
        diags_.Error(Where(file_, v),
                     std::string("loop: '") + key + "' names node '" + inner->id +
                         "' inside parallel group '" + inner->group +
                         "'; a loop goes from and to nodes outside groups, or to a whole group");
        return;
      }
      if (!v.IsScalar() || OrderOf(v.Scalar()) < 0) {
        const std::string id = v.IsScalar() ? v.Scalar() : "";
        diags_.Error(Where(file_, v), std::string("loop: '") + key + "' names no node: '" + id +
                                          "'" + DidYouMean(id, NodeIds()));
        return;
      }
      *out = v.Scalar();
    };
    node_ref("from", &loop.from);
    node_ref("to", &loop.to);
    if (!loop.from.empty() && !loop.to.empty() && OrderOf(loop.to) > OrderOf(loop.from)) {
      diags_.Error(Where(file_, l["to"]),
                   "loop: '" + loop.to + "' runs after '" + loop.from +
                       "'; a loop goes back from 'from' to an earlier (or the same) node");
    }
    if (const YAML::Node u = l["until"]) {
      loop.until_where = Where(file_, u);
      if (!u.IsScalar()) {
        diags_.Error(Where(file_, u),
                     "loop: 'until' must be a condition, e.g. \"score.total >= 0.8\"");
      } else if (auto c = Condition::Parse(u.Scalar()); !c.ok()) {
        diags_.Error(Where(file_, u),
                     "loop: 'until': " + c.status().message() + " in \"" + u.Scalar() + "\"");
      } else {
        loop.until = *c;
      }
    } else {
      diags_.Error(loop.where, "loop: missing 'until' (the condition that ends the loop)");
    }
    auto number = [&](const char* key, double min, double max, double* out) {
      const YAML::Node v = l[key];
      if (!v) return;
      double d;
      if (!v.IsScalar() || !internal::ParseDouble(v.Scalar(), &d) || d < min || d > max) {
        diags_.Error(Where(file_, v), std::string("loop: '") + key + "' must be a number from " +
                                          std::to_string(int64_t(min)) + " to " +
                                          std::to_string(int64_t(max)) + ", found " + Describe(v));
        return;
      }
      *out = d;
    };
    double max_iterations = loop.max_iterations;
    number("max_iterations", 1, 1000, &max_iterations);
    if (max_iterations != std::floor(max_iterations)) {
      diags_.Error(Where(file_, l["max_iterations"]),
                   "loop: 'max_iterations' must be a whole number");
    }
    loop.max_iterations = int(max_iterations);
    number("min_delta", 0, 1e12, &loop.min_delta);
    number("budget", 0, 1e15, &loop.budget);
    number("time_budget_ms", 0, 1e12, &loop.time_budget_ms);
    for (auto [key, out, where] :
         {std::tuple{"metric", &loop.metric, &loop.metric_where},
          {"budget_field", &loop.budget_field, &loop.budget_field_where}}) {
      if (const YAML::Node v = l[key]) {
        *where = Where(file_, v);
        if (!v.IsScalar() || v.Scalar().empty())
          diags_.Error(Where(file_, v), std::string("loop: '") + key + "' must be a field name");
        else
          *out = v.Scalar();
      }
    }
    if (loop.budget > 0 && loop.budget_field.empty()) {
      diags_.Error(Where(file_, l["budget"]),
                   "loop: 'budget' needs 'budget_field' (the numeric field to sum, e.g. "
                   "summarize.tokens_after)");
    }
    if (const YAML::Node v = l["on_exhausted"]) {
      const std::string s = v.IsScalar() ? v.Scalar() : "";
      if (s == "best")
        loop.on_exhausted = LoopSpec::kBest;
      else if (s == "last")
        loop.on_exhausted = LoopSpec::kLast;
      else if (s == "error")
        loop.on_exhausted = LoopSpec::kError;
      else
        diags_.Error(Where(file_, v), "loop: 'on_exhausted' must be best, last or error, found '" +
                                          s + "'" + DidYouMean(s, {"best", "last", "error"}));
    }
    if ((loop.on_exhausted == LoopSpec::kBest || loop.min_delta > 0) && loop.metric.empty()) {
      diags_.Error(loop.where,
                   "loop: set 'metric' (the score to compare passes by, e.g. score.total) for "
                   "on_exhausted: best and min_delta");
    }
    if (const YAML::Node adjust = l["adjust"]) ReadAdjust(adjust, loop);
    if (const YAML::Node v = l["adapt"]) {
      if (!v.IsScalar() || !internal::ParseBool(v.Scalar(), &loop.adapt)) {
        diags_.Error(Where(file_, v), "loop: 'adapt' must be true or false, found " + Describe(v));
      } else if (loop.adapt && loop.adjust.empty()) {
        diags_.Error(Where(file_, v),
                     "loop: 'adapt: true' needs 'adjust' (adaptation picks which pass's adjusted "
                     "options a request starts with)");
      }
    }
    spec_.loops.push_back(std::move(loop));
  }

  void ReadAdjust(const YAML::Node& adjust, LoopSpec& loop) {
    if (!adjust.IsSequence()) {
      diags_.Error(Where(file_, adjust),
                   "loop: 'adjust' must be a list of {node, option, add|mul}");
      return;
    }
    for (const YAML::Node& a : adjust) {
      LoopAdjust adj;
      adj.where = Where(file_, a);
      if (!a.IsMap() || !a["node"] || !a["option"] || (!a["add"] == !a["mul"])) {
        diags_.Error(adj.where,
                     "loop: each adjustment is {node: ID, option: NAME, add: N} or {..., mul: N}");
        continue;
      }
      adj.node = a["node"].Scalar();
      adj.option = a["option"].Scalar();
      const NodeSpec* node = spec_.FindNode(adj.node);
      if (!node) {
        diags_.Error(Where(file_, a["node"]), "loop: adjust names no node: '" + adj.node + "'" +
                                                  DidYouMean(adj.node, NodeIds()));
        continue;
      }
      const OptionDef* def = node->contract->options.Find(adj.option);
      if (!def) {
        diags_.Error(Where(file_, a["option"]),
                     "loop: node '" + adj.node + "' (" + node->type + ") has no option '" +
                         adj.option + "'" +
                         DidYouMean(adj.option, node->contract->options.Names()));
        continue;
      }
      if (def->type != OptionType::kInt && def->type != OptionType::kDouble) {
        diags_.Error(Where(file_, a["option"]),
                     "loop: option '" + adj.option + "' of '" + adj.node +
                         "' is not a number; only numeric options can be adjusted");
        continue;
      }
      const YAML::Node v = a["add"] ? a["add"] : a["mul"];
      adj.op = a["add"] ? LoopAdjust::kAdd : LoopAdjust::kMul;
      if (!v.IsScalar() || !internal::ParseDouble(v.Scalar(), &adj.value)) {
        diags_.Error(Where(file_, v),
                     "loop: the adjustment must be a number, found " + Describe(v));
        continue;
      }
      loop.adjust.push_back(std::move(adj));
    }
  }

  // The fields loops and parallel groups name must be written by nodes of the pipeline. What a
  // node writes is a function of its id and options (NodeContract::io), so this needs no node
  // built: `validate` reports every such problem, as `run` would.
  void CheckFieldsWritten() {
    std::vector<FieldIo> io(spec_.nodes.size());
    for (size_t i = 0; i < spec_.nodes.size(); ++i) {
      const NodeSpec& node = spec_.nodes[i];
      try {
        io[i] = node.contract->io(NodeConfig{node.id, node.type, node.options, spec_.base_dir});
      } catch (const std::exception& e) {
        diags_.Error(
            node.where,
            Context(node) + ": its fields cannot be worked out from its options: " + e.what());
      }
    }
    for (size_t i = 0; i < spec_.nodes.size(); ++i) {
      if (spec_.nodes[i].parallel) CheckGroupMetrics(spec_.nodes[i], io);
    }
    if (!spec_.loops.empty()) CheckLoopFields(spec_.loops.front(), io);
  }

  // Every branch of a group must write the field the group compares branches by.
  void CheckGroupMetrics(const NodeSpec& group, const std::vector<FieldIo>& io) {
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
  void CheckLoopFields(const LoopSpec& loop, const std::vector<FieldIo>& io) {
    std::vector<std::string> written;
    for (const FieldIo& node_io : io)
      written.insert(written.end(), node_io.writes.begin(), node_io.writes.end());
    std::vector<std::tuple<std::string, std::string, SourceLocation>>
        named;  // (what, field, where)
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
  std::optional<Concurrency> default_concurrency_;
  std::optional<CacheOverride> default_cache_;
  std::map<std::string, std::pair<YAML::Node, YAML::Node>> default_options_;
  std::map<std::string, SourceLocation> seen_;  // node ids so far, for duplicates
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
