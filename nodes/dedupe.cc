// dedupe: drops repeated lines or paragraphs from a text field (exact repeats after
// case-folding ASCII and collapsing whitespace), keeping the first occurrence and the original
// order. Boilerplate repeated across a document (headers, signatures, quoted replies) costs
// tokens every time it is sent; this removes it before anything is counted.
//
//   - {id: dedup, type: dedupe, unit: paragraph, min_chars: 20}
//
// Writes the text to `output` (default: the same field) and `<id>.removed` (units dropped).
#include <string>
#include <unordered_set>
#include <vector>

#include "graph/registry.h"

namespace refinery::nodes {
namespace {

struct DedupeOptions {
  std::string field;
  std::string output;
  std::string unit;
  size_t min_chars;
};

class Dedupe : public Node {
 public:
  Dedupe(const NodeConfig& c, const DedupeOptions& o)
      : id_(c.id),
        field_(o.field),
        output_(o.output.empty() ? o.field : o.output),
        paragraphs_(o.unit == "paragraph"),
        min_chars_(o.min_chars) {}

  void Process(Item& item) const override {
    const std::string& in = *item.text(field_);
    std::vector<std::string_view> units = Split(in);
    std::unordered_set<std::string> seen;
    std::string out;
    out.reserve(in.size());
    int64_t removed = 0;
    const std::string_view sep = paragraphs_ ? "\n\n" : "\n";
    for (std::string_view unit : units) {
      std::string key = Key(unit);
      if (key.size() >= min_chars_ && !seen.insert(std::move(key)).second) {
        ++removed;
        continue;
      }
      if (!out.empty()) out += sep;
      out += unit;
    }
    item.set_number(id_ + ".removed", double(removed));
    item.set_text(output_, std::move(out));
  }

 private:
  std::vector<std::string_view> Split(std::string_view s) const {
    std::vector<std::string_view> units;
    size_t start = 0;
    while (start <= s.size()) {
      size_t end = paragraphs_ ? s.find("\n\n", start) : s.find('\n', start);
      if (end == std::string_view::npos) end = s.size();
      std::string_view unit = s.substr(start, end - start);
      if (!paragraphs_ || !unit.empty()) units.push_back(unit);
      start = end + (paragraphs_ ? 2 : 1);
      // Paragraph breaks of more than one blank line: skip the extra newlines.
      while (paragraphs_ && start < s.size() && s[start] == '\n') ++start;
    }
    return units;
  }

  static std::string Key(std::string_view unit) {
    std::string key;
    key.reserve(unit.size());
    bool space = false;
    for (char ch : unit) {
      if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
        space = !key.empty();
        continue;
      }
      if (space) key += ' ';
      space = false;
      key += (ch >= 'A' && ch <= 'Z') ? char(ch - 'A' + 'a') : ch;
    }
    return key;
  }

  std::string id_;
  std::string field_;
  std::string output_;
  bool paragraphs_;
  size_t min_chars_;
};

FieldIo DedupeIo(const NodeConfig& c, const DedupeOptions& o) {
  return {{o.field}, {}, {o.output.empty() ? o.field : o.output, c.id + ".removed"}};
}

}  // namespace

REFINERY_REGISTER_NODE(dedupe) {
  BoundContract<DedupeOptions> c;
  c.type = "dedupe";
  c.summary = "drops repeated lines or paragraphs, keeping the first of each";
  using O = DedupeOptions;
  c.bind.String("field", &O::field, "text", "text field to read")
      .NonEmpty()
      .String("output", &O::output, "", "field to write (empty: overwrite `field`)")
      .Enum("unit", &O::unit, "paragraph", {"line", "paragraph"}, "what counts as one unit")
      .Int("min_chars", &O::min_chars, 20, 0, 1'000'000,
           "shorter units are always kept (blank lines, bullets)");
  c.reads = "`field`";
  c.writes = "`output` (or `field`), `<id>.removed`";
  c.fields = DedupeIo;
  c.make = Construct<Dedupe, DedupeOptions>();
  return c.Finish();
}

}  // namespace refinery::nodes
