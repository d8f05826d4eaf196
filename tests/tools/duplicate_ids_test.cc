// DuplicateIds (graph-runner run): repeats found exactly, memory bounded by max_ids.
#include "tools/graph-runner/duplicate_ids.h"

#include <gtest/gtest.h>

#include <string>

namespace refinery::cli {
namespace {

TEST(DuplicateIds, FindsEveryRepeatAcrossGrowth) {
  DuplicateIds ids;
  for (int i = 0; i < 100000; ++i) EXPECT_FALSE(ids.Seen("id-" + std::to_string(i))) << i;
  for (int i = 0; i < 100000; i += 7) EXPECT_TRUE(ids.Seen("id-" + std::to_string(i))) << i;
  EXPECT_EQ(ids.duplicates(), size_t((100000 + 6) / 7));
  EXPECT_EQ(ids.tracked(), 100000u);
  EXPECT_FALSE(ids.full());
  EXPECT_FALSE(ids.Seen(""));
  EXPECT_TRUE(ids.Seen(""));
  EXPECT_FALSE(ids.Seen("1")) << "ids are compared whole: '1' is not 'id-1'";
}

TEST(DuplicateIds, StopsGrowingAtItsBoundAndSaysSo) {
  DuplicateIds ids(1000);
  for (int i = 0; i < 5000; ++i) ids.Seen(std::to_string(i));
  EXPECT_TRUE(ids.full());
  EXPECT_EQ(ids.tracked(), 1000u);
  EXPECT_TRUE(ids.Seen("5")) << "ids kept before the bound are still checked";
  EXPECT_FALSE(ids.Seen("4999")) << "ids after the bound are not remembered";
}

}  // namespace
}  // namespace refinery::cli
