// UTF-8 replacement, whole and streamed: pieces cut at StableReplacementPrefix convert to exactly
// the whole text's ToValidUtf8, whatever bytes (broken runs, truncated leads) the pieces split.
#include "graph/io/utf8.h"

#include <gtest/gtest.h>

#include <random>

namespace refinery::utf8 {
namespace {

TEST(Utf8, BrokenRunIsOneReplacementAndValidTextIsKept) {
  EXPECT_EQ(ToValidUtf8("a\xF8\x80\x80\x80"
                        "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(ToValidUtf8("\xC3\xA9t\xC3\xA9"), "\xC3\xA9t\xC3\xA9");
  EXPECT_EQ(ToValidUtf8("x\xE2\x82"), "x\xEF\xBF\xBD");  // truncated at the end
}

TEST(Utf8, StablePrefixStopsBeforeWhatLaterBytesCouldExtend) {
  EXPECT_EQ(StableReplacementPrefix("abc"), 3u);
  EXPECT_EQ(StableReplacementPrefix("ab\xC3"), 2u);          // a lead waiting for its byte
  EXPECT_EQ(StableReplacementPrefix("ab\xC3\xA9"), 4u);      // whole
  EXPECT_EQ(StableReplacementPrefix("ab\xF8\x80\x80"), 2u);  // a broken run that may go on
  EXPECT_EQ(StableReplacementPrefix("ab\xF8\x80x"), 5u);     // ended by 'x'
  EXPECT_EQ(StableReplacementPrefix("\x80\x80"), 0u);
  EXPECT_EQ(StableReplacementPrefix(""), 0u);
}

// Text made of pieces the way a generator streams it (tokens of one to three bytes, biased
// towards the bytes that make UTF-8 break), converted piece by piece and as a whole.
TEST(Utf8, StreamedPiecesJoinToTheWholeConversion) {
  std::mt19937 rng(7);
  const unsigned char bytes[] = {'a',  ' ',  0x80, 0x9F, 0xBF, 0xC3, 0xA9, 0xE2, 0x82, 0xAC,
                                 0xF0, 0x9F, 0x98, 0x80, 0xF8, 0xFF, 0xED, 0xA0, 0xC0};
  int cut_inside = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text, streamed_out;
    size_t streamed = 0;
    const int tokens = 1 + int(rng() % 12);
    for (int t = 0; t < tokens; ++t) {
      const int len = 1 + int(rng() % 3);
      for (int k = 0; k < len; ++k) text += char(bytes[rng() % sizeof bytes]);
      const size_t end =
          streamed + StableReplacementPrefix(std::string_view(text).substr(streamed));
      if (end > streamed) {
        streamed_out += ToValidUtf8(text.substr(streamed, end - streamed));
        cut_inside += end < text.size();
        streamed = end;
      }
    }
    streamed_out += ToValidUtf8(text.substr(streamed));
    ASSERT_EQ(streamed_out, ToValidUtf8(text)) << "round " << round;
  }
  EXPECT_GT(cut_inside, 1000) << "the pieces should often be cut before the text's end";
}

}  // namespace
}  // namespace refinery::utf8
