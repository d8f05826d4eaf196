// measure: counts a text field (bytes, characters, words, lines) into numeric fields, and its
// size relative to another field, so a pipeline's results say what each request cost and saved.
//
//   - {id: size, type: measure, field: text, compare_to: original}
//
// Writes `<id>.bytes`, `<id>.chars` (Unicode code points), `<id>.words` (runs of non-space),
// `<id>.lines`, and with `compare_to`: `<id>.ratio` (bytes of field / bytes of compare_to).
#include <string>

#include "graph/registry.h"

namespace refinery::nodes {
namespace {

struct MeasureOptions {
  std::string field;
  std::string compare_to;
};

class Measure : public Node {
 public:
  Measure(const NodeConfig& c, const MeasureOptions& o)
      : id_(c.id), field_(o.field), compare_to_(o.compare_to) {}

  void Process(Item& item) const override {
    const std::string& s = *item.text(field_);
    int64_t chars = 0, words = 0, lines = s.empty() ? 0 : 1;
    bool in_word = false;
    for (char ch : s) {
      const unsigned char u = static_cast<unsigned char>(ch);
      if ((u & 0xC0) != 0x80) ++chars;
      if (ch == '\n') ++lines;
      const bool space = ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
      if (!space && !in_word) ++words;
      in_word = !space;
    }
    item.set_number(id_ + ".bytes", double(s.size()));
    item.set_number(id_ + ".chars", double(chars));
    item.set_number(id_ + ".words", double(words));
    item.set_number(id_ + ".lines", double(lines));
    if (!compare_to_.empty()) {
      const std::string* base = item.text(compare_to_);
      if (base == nullptr)
        throw std::runtime_error("compare_to field '" + compare_to_ + "' is missing");
      item.set_number(id_ + ".ratio",
                      base->empty() ? 1.0 : double(s.size()) / double(base->size()));
    }
  }

 private:
  std::string id_;
  std::string field_;
  std::string compare_to_;
};

FieldIo MeasureIo(const NodeConfig& c, const MeasureOptions& o) {
  FieldIo io{{o.field}, {}, {c.id + ".bytes", c.id + ".chars", c.id + ".words", c.id + ".lines"}};
  if (!o.compare_to.empty()) {
    io.reads.push_back(o.compare_to);
    io.writes.push_back(c.id + ".ratio");
  }
  return io;
}

}  // namespace

REFINERY_REGISTER_NODE(measure) {
  BoundContract<MeasureOptions> c;
  c.type = "measure";
  c.summary = "counts bytes, characters, words and lines of a field, and its ratio to another";
  c.bind.String("field", &MeasureOptions::field, "text", "text field to measure")
      .NonEmpty()
      .String("compare_to", &MeasureOptions::compare_to, "",
              "field to compare sizes with (empty: no ratio)");
  c.reads = "`field`, `compare_to`";
  c.writes = "`<id>.bytes`, `<id>.chars`, `<id>.words`, `<id>.lines`, `<id>.ratio`";
  c.fields = MeasureIo;
  c.make = Construct<Measure, MeasureOptions>();
  return c.Finish();
}

}  // namespace refinery::nodes
