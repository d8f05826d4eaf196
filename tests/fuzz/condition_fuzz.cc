// The loop condition language: parse, then evaluate on an item with text, number and token
// fields (depth limits, numbers, comparisons of every kind).
#include "graph/item.h"
#include "graph/spec/condition.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto condition = refinery::Condition::Parse(refinery::fuzz::Input(data, size));
  if (!condition.ok()) return 0;
  refinery::Item item("fuzz", "t");
  item.set_text("text", "some text");
  item.set_number("score.total", 0.5);
  item.set_number("n", -3);
  item.set_tokens("ids", {1, 2, 3});
  (void)(*condition)->Evaluate(item);
  return 0;
}
