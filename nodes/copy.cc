// copy: copies a text field to another name, e.g. to keep the original before cleaning so a
// later node can compare against it.
//
//   - {id: keep, type: copy, from: text, to: original}
#include <string>

#include "graph/registry.h"

namespace refinery::nodes {
namespace {

class Copy : public Node {
 public:
  explicit Copy(const NodeConfig& c)
      : from_(c.options.String("from")), to_(c.options.String("to")) {}
  void Process(Item& item) const override { item.set_text(to_, *item.text(from_)); }

 private:
  std::string from_;
  std::string to_;
};

FieldIo CopyIo(const NodeConfig& c) {
  return {{c.options.String("from")}, {}, {c.options.String("to")}};
}

}  // namespace

REFINERY_REGISTER_NODE(copy) {
  NodeContract c;
  c.type = "copy";
  c.summary = "copies a text field to another field";
  c.options.String("from", "text", "field to read").String("to", "", "field to write").Required();
  c.reads = "`from`";
  c.writes = "`to`";
  c.cacheable = false;  // a copy is cheaper than a cache lookup
  c.io = CopyIo;
  c.factory = MakeFactory<Copy>();
  return c;
}

}  // namespace refinery::nodes
