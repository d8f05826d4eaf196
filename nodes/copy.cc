// copy: copies a text field to another name, e.g. to keep the original before cleaning so a
// later node can compare against it.
//
//   - {id: keep, type: copy, from: text, to: original}
#include <string>

#include "graph/registry.h"

namespace refinery::nodes {
namespace {

struct CopyOptions {
  std::string from;
  std::string to;
};

class Copy : public Node {
 public:
  explicit Copy(const CopyOptions& o) : from_(o.from), to_(o.to) {}
  void Process(Item& item) const override { item.set_text(to_, *item.text(from_)); }

 private:
  std::string from_;
  std::string to_;
};

FieldIo CopyIo(const NodeConfig&, const CopyOptions& o) { return {{o.from}, {}, {o.to}}; }

}  // namespace

REFINERY_REGISTER_NODE(copy) {
  BoundContract<CopyOptions> c;
  c.type = "copy";
  c.summary = "copies a text field to another field";
  c.bind.String("from", &CopyOptions::from, "text", "field to read")
      .NonEmpty()
      .String("to", &CopyOptions::to, "", "field to write")
      .Required()
      .NonEmpty();
  c.reads = "`from`";
  c.writes = "`to`";
  c.cacheable = false;  // a copy is cheaper than a cache lookup
  c.fields = CopyIo;
  c.make = Construct<Copy, CopyOptions>();
  return c.Finish();
}

}  // namespace refinery::nodes
