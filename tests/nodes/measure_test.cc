#include <gtest/gtest.h>

#include "tests/support/node_runner.h"

namespace refinery::testing {
namespace {

TEST(Measure, CountsBytesCharsWordsLines) {
  NodeRunner n("{id: m, type: measure}");
  Result r = n.Run({{"text", "héllo wörld\n🚀 x"}});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(Number(r, "m.bytes"), 20);
  EXPECT_EQ(Number(r, "m.chars"), 15);
  EXPECT_EQ(Number(r, "m.words"), 4);
  EXPECT_EQ(Number(r, "m.lines"), 2);
}

TEST(Measure, RatioAgainstAnotherField) {
  NodeRunner n("{id: m, type: measure, compare_to: original}");
  Result r = n.Run({{"text", "abcd"}, {"original", "abcdefgh"}});
  EXPECT_DOUBLE_EQ(Number(r, "m.ratio"), 0.5);
  Result missing = n.Run({{"text", "abcd"}});
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.error_message, "missing required field 'original'");
}

TEST(Copy, CopiesAField) {
  NodeRunner n("{id: c, type: copy, to: original}");
  Result r = n.Run({{"text", "x"}});
  EXPECT_EQ(Text(r, "original"), "x");
}

}  // namespace
}  // namespace refinery::testing
