// normalize: cleans a text field before it is counted, cut or summarised, so equal content
// costs equal tokens and caches hit: invalid UTF-8 becomes U+FFFD, control characters go,
// runs of spaces and tabs become one space, lines are trimmed, and runs of blank lines are
// capped.
//
//   - {id: clean, type: normalize, field: text, max_blank_lines: 1}
//
// Writes the cleaned text to `output` (default: the same field) and `<id>.chars_removed`.
#include <string>

#include "graph/io/utf8.h"
#include "graph/registry.h"

namespace refinery::nodes {
namespace {

struct NormalizeOptions {
  std::string field;
  std::string output;
  bool collapse_spaces;
  bool trim_lines;
  bool strip_control;  // C0 controls other than \n and \t, and DEL
  int64_t max_blank_lines;
};

class Normalize : public Node {
 public:
  Normalize(const NodeConfig& c, const NormalizeOptions& o) : id_(c.id), o_(o) {
    if (o_.output.empty()) o_.output = o_.field;
  }

  void Process(Item& item) const override {
    const std::string& in = *item.text(o_.field);
    std::string valid = utf8::ToValidUtf8(in);
    std::string out;
    out.reserve(valid.size());
    std::string line;
    int64_t blank_run = 0;
    auto flush_line = [&](bool newline) {
      if (o_.trim_lines) {
        size_t b = line.find_first_not_of(" \t");
        size_t e = line.find_last_not_of(" \t");
        line = b == std::string::npos ? "" : line.substr(b, e - b + 1);
      }
      if (line.empty()) {
        if (++blank_run > o_.max_blank_lines) {
          line.clear();
          return;
        }
      } else {
        blank_run = 0;
      }
      out += line;
      if (newline) out += '\n';
      line.clear();
    };
    bool last_space = false;
    for (size_t i = 0; i < valid.size(); ++i) {
      char ch = valid[i];
      if (ch == '\r') {
        if (i + 1 < valid.size() && valid[i + 1] == '\n') continue;  // CRLF -> LF
        ch = '\n';
      }
      if (ch == '\n') {
        flush_line(true);
        last_space = false;
        continue;
      }
      const unsigned char u = static_cast<unsigned char>(ch);
      if (o_.strip_control && ((u < 0x20 && ch != '\t') || u == 0x7F)) continue;
      const bool space = ch == ' ' || ch == '\t';
      if (o_.collapse_spaces && space) {
        if (!last_space) line += ' ';
        last_space = true;
        continue;
      }
      last_space = false;
      line += ch;
    }
    flush_line(false);
    // Blank lines at the very end carry nothing.
    while (!out.empty() && out.back() == '\n') out.pop_back();
    item.set_number(id_ + ".chars_removed", double(in.size()) - double(out.size()));
    item.set_text(o_.output, std::move(out));
  }

 private:
  std::string id_;
  NormalizeOptions o_;
};

FieldIo NormalizeIo(const NodeConfig& c, const NormalizeOptions& o) {
  return {{o.field}, {}, {o.output.empty() ? o.field : o.output, c.id + ".chars_removed"}};
}

}  // namespace

REFINERY_REGISTER_NODE(normalize) {
  BoundContract<NormalizeOptions> c;
  c.type = "normalize";
  c.summary = "cleans text: valid UTF-8, no control characters, collapsed spaces and blank lines";
  c.version = "1";
  using O = NormalizeOptions;
  c.bind.String("field", &O::field, "text", "text field to read")
      .NonEmpty()
      .String("output", &O::output, "", "field to write (empty: overwrite `field`)")
      .Bool("collapse_spaces", &O::collapse_spaces, true,
            "turn runs of spaces and tabs into one space")
      .Bool("trim_lines", &O::trim_lines, true, "strip spaces and tabs at both ends of each line")
      .Bool("strip_control", &O::strip_control, true,
            "drop control characters other than newline and tab")
      .Int("max_blank_lines", &O::max_blank_lines, 1, 0, 1000, "consecutive blank lines to keep");
  c.reads = "`field`";
  c.writes = "`output` (or `field`), `<id>.chars_removed`";
  c.default_concurrency = Concurrency::Unlimited();
  c.cacheable = true;
  c.fields = NormalizeIo;
  c.make = Construct<Normalize, NormalizeOptions>();
  return c.Finish();
}

}  // namespace refinery::nodes
