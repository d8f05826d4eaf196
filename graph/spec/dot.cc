#include "graph/spec/dot.h"

namespace refinery {

namespace {

// Text inside a quoted DOT string: quotes and backslashes escaped.
std::string Escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string Quoted(const std::string& s) { return "\"" + Escaped(s) + "\""; }

}  // namespace

std::string PipelineToDot(const PipelineSpec& spec) {
  std::string out =
      "digraph " + Quoted(spec.name) + " {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n";
  for (const NodeSpec& n : spec.nodes) {
    // Label "id<line break>type, concurrency": the break is DOT's own \n escape.
    out += "  " + Quoted(n.id) + " [label=\"" + Escaped(n.id) + "\\n" +
           Escaped(n.type + ", " + n.concurrency.ToString()) + "\"];\n";
  }
  for (const EdgeSpec& e : spec.edges) out += "  " + Quoted(e.from) + " -> " + Quoted(e.to) + ";\n";
  for (const NodeSpec& n : spec.nodes) {  // a group fans out to its branches (dashed)
    if (!n.parallel) continue;
    for (const std::vector<size_t>& branch : n.parallel->branches) {
      std::string prev = n.id;
      for (size_t m : branch) {
        out += "  " + Quoted(prev) + " -> " + Quoted(spec.nodes[m].id) + " [style=dashed];\n";
        prev = spec.nodes[m].id;
      }
    }
  }
  return out + "}\n";
}

}  // namespace refinery
