#include <gtest/gtest.h>

#include "tests/support/node_runner.h"

namespace refinery::testing {
namespace {

TEST(Dedupe, DropsRepeatedParagraphsKeepingFirstAndOrder) {
  NodeRunner n("{id: d, type: dedupe, min_chars: 5}");
  Result r =
      n.Run({{"text",
              "Intro para.\n\nRepeated block here\n\nMiddle.\n\nrepeated  BLOCK here\n\n\nEnd."}});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(Text(r, "text"), "Intro para.\n\nRepeated block here\n\nMiddle.\n\nEnd.");
  EXPECT_EQ(Number(r, "d.removed"), 1);
}

TEST(Dedupe, ShortUnitsAreKept) {
  NodeRunner n("{id: d, type: dedupe, unit: line, min_chars: 4}");
  Result r = n.Run({{"text", "- a\n- a\nsame line\nsame line"}});
  EXPECT_EQ(Text(r, "text"), "- a\n- a\nsame line");
  EXPECT_EQ(Number(r, "d.removed"), 1);
}

TEST(Dedupe, EmptyText) {
  NodeRunner n("{id: d, type: dedupe}");
  Result r = n.Run({{"text", ""}});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(Text(r, "text"), "");
}

}  // namespace
}  // namespace refinery::testing
