#include "graph/spec/pipeline_topology.h"

#include <algorithm>
#include <map>
#include <queue>
#include <set>

#include "graph/internal/did_you_mean.h"
#include "graph/internal/yaml_util.h"

namespace refinery::internal {

namespace {

std::string Trim(std::string_view s, size_t* offset) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  *offset = b;
  return std::string(s.substr(b, e - b));
}

void ParseChain(const YAML::Node& node, const std::string& file, Diagnostics& diags,
                std::vector<EdgeSpec>& out) {
  const std::string& text = node.Scalar();
  SourceLocation base = Where(file, node);
  if (IsQuoted(node)) base.column += 1;
  std::vector<std::pair<std::string, SourceLocation>> names;
  size_t start = 0;
  while (true) {
    size_t arrow = text.find("->", start);
    std::string_view part(text.data() + start,
                          (arrow == std::string::npos ? text.size() : arrow) - start);
    size_t offset;
    std::string name = Trim(part, &offset);
    SourceLocation where = base;
    if (where.line > 0 && text.find('\n') == std::string::npos) where.column += start + offset;
    if (name.empty()) {
      diags.Error(where, "edge '" + text + "': missing node id " +
                             (arrow == std::string::npos ? "after '->'" : "before '->'"));
      return;
    }
    names.emplace_back(name, where);
    if (arrow == std::string::npos) break;
    start = arrow + 2;
  }
  if (names.size() < 2) {
    diags.Error(base, "edge '" + text + "' needs at least two node ids joined by '->'");
    return;
  }
  for (size_t i = 0; i + 1 < names.size(); ++i) {
    out.push_back({names[i].first, names[i + 1].first, names[i].second, names[i + 1].second});
  }
}

}  // namespace

std::vector<EdgeSpec> ParseEdges(const YAML::Node& edges, const std::string& file,
                                 Diagnostics& diags) {
  std::vector<EdgeSpec> out;
  if (!edges.IsSequence()) {
    diags.Error(Where(file, edges),
                "'edges' must be a list like [a -> b -> c], found " + Describe(edges));
    return out;
  }
  for (const YAML::Node& e : edges) {
    if (e.IsScalar()) {
      ParseChain(e, file, diags, out);
    } else if (e.IsMap() && e["from"] && e["to"] && e.size() == 2 && e["from"].IsScalar() &&
               e["to"].IsScalar()) {
      out.push_back(
          {e["from"].Scalar(), e["to"].Scalar(), Where(file, e["from"]), Where(file, e["to"])});
    } else {
      diags.Error(Where(file, e),
                  "an edge must be a chain 'a -> b -> c' or {from: a, to: b}, "
                  "found " +
                      Describe(e));
    }
  }
  return out;
}

void CheckTopology(PipelineSpec& spec, Diagnostics& diags) {
  // Vertices are the nodes outside parallel groups, and the groups themselves: a group's branch
  // nodes are wired by the group, not by edges.
  std::map<std::string, size_t> index;
  std::vector<std::string> ids;
  size_t vertices = 0;
  for (size_t i = 0; i < spec.nodes.size(); ++i) {
    if (!spec.nodes[i].group.empty()) continue;
    index.emplace(spec.nodes[i].id, i);
    ids.push_back(spec.nodes[i].id);
    ++vertices;
  }
  const size_t n = spec.nodes.size();
  std::vector<std::set<size_t>> succ(n);
  std::vector<int> indegree(n, 0);
  bool endpoints_ok = true;
  for (const EdgeSpec& e : spec.edges) {
    bool ok = true;
    for (const std::string* id : {&e.from, &e.to}) {
      if (const NodeSpec* inner = spec.FindNode(*id); inner && !inner->group.empty()) {
        diags.Error(id == &e.from ? e.where : e.to_where,
                    "edge " + e.from + " -> " + e.to + ": node '" + *id +
                        "' is inside parallel group '" + inner->group +
                        "'; edges connect the group");
        ok = false;
      } else if (!index.count(*id)) {
        diags.Error(id == &e.from ? e.where : e.to_where,
                    "edge " + e.from + " -> " + e.to + ": no node with id '" + *id + "'" +
                        DidYouMean(*id, ids) + " (nodes: " + JoinNames(ids) + ")");
        ok = false;
      }
    }
    if (!ok) {
      endpoints_ok = false;
      continue;
    }
    size_t a = index[e.from], b = index[e.to];
    if (a == b) {
      diags.Error(e.where, "node '" + e.from + "' (" + spec.nodes[a].type +
                               "): edge to itself is a cycle that is not a declared loop");
      endpoints_ok = false;
      continue;
    }
    if (succ[a].insert(b).second) ++indegree[b];
  }
  if (!endpoints_ok || n == 0) return;

  // Kahn's algorithm; the ready set is ordered by id so declaration order never matters.
  std::vector<int> remaining = indegree;
  std::priority_queue<std::pair<std::string, size_t>, std::vector<std::pair<std::string, size_t>>,
                      std::greater<>>
      ready;
  for (size_t i = 0; i < n; ++i) {
    if (remaining[i] == 0 && spec.nodes[i].group.empty()) ready.push({spec.nodes[i].id, i});
  }
  std::vector<size_t> order;
  while (!ready.empty()) {
    size_t i = ready.top().second;
    ready.pop();
    order.push_back(i);
    for (size_t j : succ[i]) {
      if (--remaining[j] == 0) ready.push({spec.nodes[j].id, j});
    }
  }
  if (order.size() != vertices) {
    // Report each cycle once: walk from a node left over until a node repeats.
    std::set<size_t> reported;
    for (size_t start = 0; start < n; ++start) {
      if (remaining[start] == 0 || reported.count(start) || !spec.nodes[start].group.empty())
        continue;
      std::vector<size_t> path;
      std::map<size_t, size_t> pos;
      size_t cur = start;
      while (!pos.count(cur)) {
        pos[cur] = path.size();
        path.push_back(cur);
        size_t next = cur;
        for (size_t j : succ[cur]) {
          if (remaining[j] > 0) {
            next = j;
            break;
          }
        }
        if (next == cur) break;
        cur = next;
      }
      if (!pos.count(cur) || path.size() < 2) continue;
      std::string text;
      bool seen = false;
      for (size_t k = pos[cur]; k < path.size(); ++k) {
        seen = seen || reported.count(path[k]);
        text += spec.nodes[path[k]].id + " -> ";
      }
      if (seen) continue;
      for (size_t k = pos[cur]; k < path.size(); ++k) reported.insert(path[k]);
      text += spec.nodes[cur].id;
      const NodeSpec& first = spec.nodes[cur];
      diags.Error(first.where, "node '" + first.id + "' (" + first.type + "): cycle " + text +
                                   " is not a declared loop (refinement loops are declared "
                                   "under 'loops:'; see docs/pipeline-format.md)");
    }
    return;
  }
  // Reachability: with edges given, every node must be on one (an isolated node never runs).
  if (vertices > 1) {
    for (size_t i = 0; i < n; ++i) {
      if (indegree[i] == 0 && succ[i].empty() && spec.nodes[i].group.empty()) {
        const NodeSpec& node = spec.nodes[i];
        diags.Error(node.where, "node '" + node.id + "' (" + node.type +
                                    "): unreachable: no edge leads to or from it");
      }
    }
  }
  spec.order = order;
}

}  // namespace refinery::internal
