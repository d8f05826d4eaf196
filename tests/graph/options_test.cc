// OptionBinding and BoundContract (graph/options.h, graph/node.h): each option declared once fills
// the node's struct, defaults included, and validation uses the same declarations.
#include <gtest/gtest.h>

#include "graph/engine.h"
#include "graph/registry.h"

namespace refinery {
namespace {

enum class Shape { kRound, kSquare };

struct Inner {
  int count = -1;
  float scale = -1;
};

struct Bound {
  std::string name;
  int64_t big;
  bool flag;
  Shape shape;
  Inner inner;
  std::vector<std::string> tags;
};

void BindCount(OptionBinding<Inner>& b) { b.Int("count", &Inner::count, 3, 0, 100, "count"); }
void BindScale(OptionBinding<Inner>& b) { b.Double("scale", &Inner::scale, 0.5, 0, 1, "scale"); }

TEST(OptionBinding, FillsEveryBoundMemberFromTheValues) {
  OptionSchema schema;
  OptionBinding<Bound> bind(schema);
  bind.String("name", &Bound::name, "n", "name")
      .Int("big", &Bound::big, 7, 0, 1'000'000, "big")
      .Group(&Bound::inner, BindCount)
      .Bool("flag", &Bound::flag, true, "flag")
      .Group(&Bound::inner, BindScale)  // a second group into the same member keeps the first
      .Enum("shape", &Bound::shape, "round", {{"round", Shape::kRound}, {"square", Shape::kSquare}},
            "shape")
      .StringList("tags", &Bound::tags, {"a"}, {}, "tags");
  // The schema holds the declarations in order, with their defaults.
  std::vector<std::string> names;
  for (const OptionDef& d : schema.defs()) names.push_back(d.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"name", "big", "count", "flag", "scale", "shape", "tags"}));
  EXPECT_EQ(schema.Find("shape")->choices, (std::vector<std::string>{"round", "square"}));

  OptionValues values;
  for (const OptionDef& d : schema.defs()) values.Set(d.name, d.default_value);
  values.Set("big", int64_t{900'000});
  values.Set("shape", std::string("square"));
  values.Set("count", int64_t{42});
  const Bound b = bind.filler().Fill(values);
  EXPECT_EQ(b.name, "n");
  EXPECT_EQ(b.big, 900'000);
  EXPECT_TRUE(b.flag);
  EXPECT_EQ(b.shape, Shape::kSquare);
  EXPECT_EQ(b.inner.count, 42);
  EXPECT_FLOAT_EQ(b.inner.scale, 0.5f);
  EXPECT_EQ(b.tags, (std::vector<std::string>{"a"}));
}

struct Probe {
  std::string field;
  int64_t times;
};
std::atomic<int64_t> g_probe_times{-1};

class ProbeNode : public Node {
 public:
  explicit ProbeNode(const Probe& o) : o_(o) { g_probe_times = o.times; }
  void Process(Item& item) const override {
    item.set_text(o_.field, std::string(size_t(o_.times), 'x'));
  }

 private:
  Probe o_;
};

TEST(BoundContract, TheFactoryAndTheFieldsSeeTheFilledStructAndValidationUsesTheRanges) {
  BoundContract<Probe> c;
  c.type = "options_test_probe";
  c.summary = "test";
  c.bind.String("field", &Probe::field, "out", "field to write")
      .Int("times", &Probe::times, 2, 1, 5, "repeat count");
  c.fields = [](const NodeConfig&, const Probe& o) { return FieldIo{{}, {}, {o.field}}; };
  c.make = Construct<ProbeNode, Probe>();
  c.check_options = [](const Probe& o) {
    return o.field == "text" ? std::vector<std::string>{"field must not be text"}
                             : std::vector<std::string>{};
  };
  ASSERT_TRUE(NodeRegistry::Global().Register(c.Finish()).ok());

  auto engine = Engine::FromString(
      "pipeline: p\nnodes:\n  - {id: a, type: options_test_probe, field: got, times: 4}\n");
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  EXPECT_EQ(g_probe_times.load(), 4);
  Result r = (*engine)->Submit(Request{.id = "1"}).get();
  ASSERT_TRUE(r.ok) << r.error_message;
  EXPECT_EQ(std::get<std::string>(r.fields.at("got")), "xxxx");

  auto out_of_range =
      Engine::FromString("pipeline: p\nnodes:\n  - {id: a, type: options_test_probe, times: 9}\n");
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_NE(out_of_range.status().message().find("times"), std::string::npos)
      << out_of_range.status().message();
  auto rule = Engine::FromString(
      "pipeline: p\nnodes:\n  - {id: a, type: options_test_probe, field: text}\n");
  ASSERT_FALSE(rule.ok());
  EXPECT_NE(rule.status().message().find("field must not be text"), std::string::npos)
      << rule.status().message();
}

}  // namespace
}  // namespace refinery
