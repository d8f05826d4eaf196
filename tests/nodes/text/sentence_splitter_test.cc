// Sentence boundaries: ICU plus our fixes (lines, list markers, wrapped prose).
#include "nodes/text/sentence_splitter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace refinery::text {
namespace {

std::vector<std::string> Split(const std::string& text, LineBreaks mode = LineBreaks::kAuto) {
  std::vector<std::string> out;
  for (const Sentence& s : SplitSentences(text, mode))
    out.push_back(text.substr(s.begin, s.end - s.begin));
  return out;
}

using ::testing::ElementsAre;

TEST(SentenceSplitter, AbbreviationsDecimalsAndQuotes) {
  EXPECT_THAT(
      Split("Mr. Smith paid $3.50 for it. \"Too much!\" he said. Then he left."),
      ElementsAre("Mr. Smith paid $3.50 for it.", "\"Too much!\" he said.", "Then he left."));
  EXPECT_THAT(Split("It rose 2.5% in the U.S. market, e.g. in Texas. Prices fell."),
              ElementsAre("It rose 2.5% in the U.S. market, e.g. in Texas.", "Prices fell."));
}

TEST(SentenceSplitter, LinesHeadingsAndListMarkers) {
  EXPECT_THAT(Split("Results\nThe model won.\n1.\nFirst item here\n- second item"),
              ElementsAre("Results", "The model won.", "1.\nFirst item here", "- second item"));
  EXPECT_THAT(Split("1. Install it. 2. Run it."), ElementsAre("1. Install it.", "2. Run it."));
}

TEST(SentenceSplitter, WrappedProseJoinsSingleNewlines) {
  const std::string text =
      "This paragraph was wrapped by an editor at a fixed width so that\n"
      "its sentences run across line ends without any punctuation at the\n"
      "end of the line. It has two sentences in it and nothing else to\n"
      "say about the matter at all, which is fine for this test case.\n\n"
      "A second paragraph starts here.";
  EXPECT_EQ(DetectLineBreaks(text), LineBreaks::kWrap);
  const auto s = Split(text);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].substr(0, 14), "This paragraph");
  EXPECT_EQ(s[1].substr(0, 6), "It has");
  EXPECT_EQ(s[2], "A second paragraph starts here.");
  EXPECT_EQ(Split(text, LineBreaks::kSentence).size(), 6u);
}

TEST(SentenceSplitter, OffsetsAreBytesAndInvalidUtf8IsSafe) {
  const std::string text = "Ünïcödé wörks. 日本語の文です。 Next one.";
  const auto s = Split(text);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], "Ünïcödé wörks.");
  EXPECT_EQ(s[1], "日本語の文です。");
  const std::string bad = "Bad \xff\xfe bytes. Still \xc3 splits.";
  const auto b = SplitSentences(bad);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1].end, bad.size());
  EXPECT_TRUE(SplitSentences("").empty());
  EXPECT_TRUE(SplitSentences(" \n\n \t").empty());
}

}  // namespace
}  // namespace refinery::text
