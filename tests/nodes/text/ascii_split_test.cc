// The ASCII fast path of the pre-tokenizer (nodes/text/ascii_split) must cut exactly where PCRE2
// alone cuts, for each tiktoken pattern: random mixes of the fragments the patterns treat
// specially (contractions in both cases, digit runs, CR/LF, whitespace runs, and non-ASCII
// letters, digits, marks, spaces and case-folding characters next to ASCII), and the shared
// benchmark texts when ../shared is present.
#include "nodes/text/ascii_split.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "nodes/text/pretokenizer.h"
#include "nodes/text/split_patterns.h"
#include "tests/support/set_up_material.h"

namespace refinery::text {
namespace {

std::vector<std::string_view> Pieces(const Pretokenizer& split, std::string_view text) {
  std::vector<std::string_view> pieces;
  split.Split(text, [&](std::string_view p) { pieces.push_back(p); });
  return pieces;
}

struct Pair {
  std::unique_ptr<Pretokenizer> fast, reference;
};

Pair Compile(const char* pattern) {
  Pair p;
  p.fast = std::move(Pretokenizer::Compile(pattern, true)).value();
  p.reference = std::move(Pretokenizer::Compile(pattern, false)).value();
  return p;
}

// The first difference, as a readable message ("" when the splits agree).
std::string Difference(const Pair& p, std::string_view text) {
  const auto a = Pieces(*p.fast, text);
  const auto b = Pieces(*p.reference, text);
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (a[i] != b[i]) {
      return "piece " + std::to_string(i) + " at byte " +
             std::to_string(a[i].data() - text.data()) + ": fast '" + std::string(a[i]) +
             "' vs PCRE2 '" + std::string(b[i]) + "'";
    }
  }
  if (a.size() != b.size()) return "piece counts differ";
  return "";
}

class AsciiSplit : public ::testing::TestWithParam<const char*> {};

TEST_P(AsciiSplit, CutsExactlyWherePcre2CutsOnRandomMixes) {
  const Pair p = Compile(GetParam());
  const std::vector<std::string> fragments = {
      "a",
      "Z",
      "word",
      "WORD",
      "Word",
      "wORD",
      "'",
      "'s",
      "'S",
      "'t",
      "'ll",
      "'LL",
      "'Re",
      "'ve",
      "'m",
      "'d",
      "'x",
      "1",
      "23",
      "4567",
      " ",
      "  ",
      "   ",
      "\t",
      "\n",
      "\r\n",
      "\r",
      "\n\n",
      "\v",
      "\f",
      " \n ",
      "/",
      ".",
      "!?",
      "-",
      "(",
      "\"",
      "_",
      std::string(1, '\0'),
      "\x7f",
      "\xc3\xa9",          // e acute (letter)
      "\xc5\xbf",          // long s: folds to s
      "\xe2\x84\xaa",      // Kelvin sign: folds to k
      "\xc2\xa0",          // no-break space
      "\xe3\x80\x80",      // ideographic space
      "\xd9\xa3",          // Arabic-Indic digit three
      "\xcc\x81",          // combining acute (mark)
      "\xe4\xb8\xad",      // CJK letter
      "\xc3\x89",          // E acute (upper)
      "\xe2\x80\x94",      // em dash (punctuation)
      "\xf0\x9f\x98\x80",  // emoji
  };
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick(0, fragments.size() - 1), length(1, 24);
  for (int round = 0; round < 30000; ++round) {
    std::string text;
    for (size_t n = length(rng); n > 0; --n) text += fragments[pick(rng)];
    const std::string diff = Difference(p, text);
    ASSERT_EQ(diff, "") << "text: '" << text << "'";
  }
}

TEST_P(AsciiSplit, CutsExactlyWherePcre2CutsOnTheSharedTexts) {
  const std::string dir = refinery::testing::SharedPath("data/text");
  REFINERY_SKIP_WITHOUT_SHARED(dir);
  const Pair p = Compile(GetParam());
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".txt") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string text(1 << 20, '\0');  // the first MiB of each keeps the sanitizer build quick
    in.read(text.data(), std::streamsize(text.size()));
    text.resize(size_t(in.gcount()));
    EXPECT_EQ(Difference(p, text), "") << entry.path();
    ++files;
  }
  EXPECT_GT(files, 0);
}

INSTANTIATE_TEST_SUITE_P(Patterns, AsciiSplit,
                         ::testing::Values(kR50kPattern, kCl100kPattern, kO200kPattern));

TEST(AsciiSplitter, AnswersPlainEnglishWithoutTheRegexEngine) {
  const std::string text = "He said: \"It's 2024, and we'll ship v1.2 today!\"\r\n  Really?  ";
  for (const char* pattern : {kR50kPattern, kCl100kPattern, kO200kPattern}) {
    std::optional<AsciiSplitter> s = AsciiSplitter::ForPattern(pattern);
    ASSERT_TRUE(s.has_value()) << pattern;
    for (size_t pos = 0; pos < text.size();) {
      const size_t end = s->End(text, pos);
      ASSERT_GT(end, pos) << pattern << " at " << pos;
      pos = end;
    }
  }
}

TEST(AsciiSplitter, LeavesNonAsciiDecisionsAndOtherPatternsToTheRegexEngine) {
  std::optional<AsciiSplitter> s = AsciiSplitter::ForPattern(kCl100kPattern);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->End("caf\xc3\xa9", 0), 0u);  // the letter run might go on
  EXPECT_EQ(s->End("'\xc5\xbf", 0), 0u);    // ' + long s is a contraction, case-folded
  EXPECT_EQ(s->End("  \xc2\xa0x", 0), 0u);  // the space run might go on
  EXPECT_EQ(s->End("12\xd9\xa3", 0), 0u);   // a third digit?
  EXPECT_EQ(s->End("123\xd9\xa3", 0), 3u);  // no: three digits already
  EXPECT_FALSE(AsciiSplitter::ForPattern(R"(\w+|\s+)").has_value());
}

}  // namespace
}  // namespace refinery::text
