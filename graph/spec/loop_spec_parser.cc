#include "graph/spec/loop_spec_parser.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "graph/internal/did_you_mean.h"
#include "graph/internal/yaml_util.h"

namespace refinery::internal {

LoopSpecParser::LoopSpecParser(std::string file, PipelineSpec& spec, Diagnostics& diags)
    : file_(std::move(file)), spec_(spec), diags_(diags) {}

// Position of a node in the execution order, or -1.
int LoopSpecParser::OrderOf(const std::string& id) const {
  for (size_t k = 0; k < spec_.order.size(); ++k) {
    if (spec_.nodes[spec_.order[k]].id == id) return int(k);
  }
  return -1;
}

std::vector<std::string> LoopSpecParser::NodeIds() const {
  std::vector<std::string> ids;
  for (const NodeSpec& n : spec_.nodes) ids.push_back(n.id);
  return ids;
}

void LoopSpecParser::ReadLoops(const YAML::Node& loops) {
  if (!loops.IsSequence()) {
    diags_.Error(Where(file_, loops), "'loops' must be a list of loops, found " + Describe(loops));
    return;
  }
  if (loops.size() > 1) {
    diags_.Error(Where(file_, loops[1]), "only one loop per pipeline is supported in this version");
    return;
  }
  for (const YAML::Node& l : loops) ReadLoop(l);
}

void LoopSpecParser::ReadLoop(const YAML::Node& l) {
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
  CheckKeys(l, kKeys, file_, "loop: unknown key", diags_);
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
      diags_.Error(Where(file_, v), std::string("loop: '") + key + "' names no node: '" + id + "'" +
                                        DidYouMean(id, NodeIds()));
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
                   "loop: 'until': " + c.status().message() + " in " + Describe(u));
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
  for (auto [key, out, where] : {std::tuple{"metric", &loop.metric, &loop.metric_where},
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

void LoopSpecParser::ReadAdjust(const YAML::Node& adjust, LoopSpec& loop) {
  if (!adjust.IsSequence()) {
    diags_.Error(Where(file_, adjust), "loop: 'adjust' must be a list of {node, option, add|mul}");
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
                       adj.option + "'" + DidYouMean(adj.option, node->contract->options.Names()));
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
      diags_.Error(Where(file_, v), "loop: the adjustment must be a number, found " + Describe(v));
      continue;
    }
    loop.adjust.push_back(std::move(adj));
  }
}

}  // namespace refinery::internal
