#include <gtest/gtest.h>

#include "tests/support/node_runner.h"

namespace refinery::testing {
namespace {

TEST(Normalize, CollapsesSpacesTrimsLinesAndCapsBlankLines) {
  NodeRunner n("{id: n, type: normalize}");
  Result r = n.Run({{"text", "  a \t b  \n\n\n\nc\r\nd\r\n\r\n"}});
  ASSERT_TRUE(r.ok) << r.error_message;
  EXPECT_EQ(Text(r, "text"), "a b\n\nc\nd");
  EXPECT_EQ(Number(r, "n.chars_removed"), 21 - 8);
}

TEST(Normalize, ReplacesInvalidUtf8AndDropsControls) {
  NodeRunner n("{id: n, type: normalize, output: clean}");
  Result r = n.Run({{"text", std::string("ok\x07 \xC3(\xFF end\xE2\x82")}});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(Text(r, "clean"), "ok \xEF\xBF\xBD(\xEF\xBF\xBD end\xEF\xBF\xBD");
  EXPECT_EQ(Text(r, "text"), std::string("ok\x07 \xC3(\xFF end\xE2\x82"));  // input untouched
}

TEST(Normalize, KeepsMultibyteText) {
  NodeRunner n("{id: n, type: normalize, max_blank_lines: 0}");
  Result r = n.Run({{"text", "日本語\n\n🚀  naïve"}});
  EXPECT_EQ(Text(r, "text"), "日本語\n🚀 naïve");
}

TEST(Normalize, OptionsCanTurnStepsOff) {
  NodeRunner n("{id: n, type: normalize, collapse_spaces: false, trim_lines: false}");
  EXPECT_EQ(Text(n.Run({{"text", " a  b "}}), "text"), " a  b ");
}

}  // namespace
}  // namespace refinery::testing
