// ROUGE and the Porter stemmer against their references: NLTK 3.8's stems of ~24k words
// (tests/data/stemmer, committed) and every rouge-score test vector in shared/data/rouge
// (skipped when ../shared is absent).
#include "nodes/rouge/rouge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "nodes/rouge/summary_measures.h"
#include "nodes/text/porter_stemmer.h"
#include "tests/support/set_up_material.h"

namespace refinery::rouge {
namespace {

const std::string kVectors = refinery::testing::SharedPath("data/rouge/rouge-score-vectors.json");

TEST(PorterStemmer, MatchesNltkOnEveryGoldenWord) {
  std::ifstream in(std::string(PROJECT_DIR) + "/tests/data/stemmer/porter-nltk.tsv");
  ASSERT_TRUE(in) << "tests/data/stemmer/porter-nltk.tsv missing";
  std::string line;
  size_t checked = 0, wrong = 0;
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    const std::string word = line.substr(0, tab), stem = line.substr(tab + 1);
    const std::string got = text::PorterStemmer::Stem(word);
    if (got != stem && ++wrong <= 20)
      ADD_FAILURE() << word << ": NLTK " << stem << ", ours " << got;
    ++checked;
  }
  EXPECT_GT(checked, 20000u);
  EXPECT_EQ(wrong, 0u) << "of " << checked;
}

TEST(PorterStemmer, NltkExtensionsDifferFromTheOriginalAlgorithm) {
  EXPECT_EQ(text::PorterStemmer::Stem("dying"), "die");
  EXPECT_EQ(text::PorterStemmer::Stem("skies"), "sky");
  EXPECT_EQ(text::PorterStemmer::Stem("news"), "news");
  EXPECT_EQ(text::PorterStemmer::Stem("generalizations"), "gener");
}

TEST(RougeTokenize, FollowsRougeScore) {
  EXPECT_THAT(Tokenize("The quick-brown FOX, 2nd!", false),
              ::testing::ElementsAre("the", "quick", "brown", "fox", "2nd"));
  // Only tokens longer than three characters are stemmed.
  EXPECT_THAT(Tokenize("dying cats running", true), ::testing::ElementsAre("die", "cat", "run"));
  // Non-ASCII letters vanish; Python's lower() turns the Kelvin sign into k and dotted I into i.
  EXPECT_THAT(Tokenize("café \u212Aelvin \u0130stanbul", false),
              ::testing::ElementsAre("caf", "kelvin", "i", "stanbul"));
  EXPECT_TRUE(Tokenize("!!! ... ---", true).empty());
}

TEST(RougeType, ValidatesNames) {
  for (const char* ok : {"rouge1", "rouge9", "rougeL", "rougeLsum"})
    EXPECT_TRUE(ParseRougeType(ok).ok()) << ok;
  for (const char* bad : {"rougen", "rouge0", "rouge10", "rougel", ""}) {
    EXPECT_FALSE(ParseRougeType(bad).ok()) << bad;
  }
}

std::string ReadShared(const std::string& name) {
  std::ifstream in(refinery::testing::SharedPath("data/rouge/") + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ExpectNear(const YAML::Node& expected, const char* field, double got, double tolerance,
                const std::string& test) {
  if (!expected[field] || expected[field].IsNull()) return;  // the source test does not assert it
  EXPECT_NEAR(got, expected[field].as<double>(), std::max(tolerance, 1e-5) + 1e-12)
      << test << " " << field;
}

TEST(RougeVectors, EveryCaseWithinTolerance) {
  REFINERY_SKIP_WITHOUT_SHARED(kVectors);
  const YAML::Node root = YAML::LoadFile(kVectors);
  size_t cases = 0;
  for (const YAML::Node& c : root["cases"]) {
    const std::string test = c["test"].as<std::string>();
    auto type = ParseRougeType(c["metric"].as<std::string>());
    ASSERT_TRUE(type.ok()) << test;
    const bool split = c["split_summaries"] && c["split_summaries"].as<bool>();
    RougeScorer scorer({*type}, c["use_stemmer"].as<bool>(), split);
    const std::string prediction = c["prediction"].as<std::string>();
    std::vector<RougeScore> got;
    if (c["kind"].as<std::string>() == "score_multi") {
      got = scorer.ScoreMulti(c["targets"].as<std::vector<std::string>>(), prediction);
    } else {
      got = scorer.Score(c["target"].as<std::string>(), prediction);
    }
    ASSERT_EQ(got.size(), 1u);
    const double tol = c["tolerance"].as<double>();
    ExpectNear(c["expected"], "precision", got[0].precision, tol, test);
    ExpectNear(c["expected"], "recall", got[0].recall, tol, test);
    ExpectNear(c["expected"], "fmeasure", got[0].fmeasure, tol, test);
    ++cases;
  }
  EXPECT_EQ(cases, 33u);
}

TEST(RougeVectors, LcsCases) {
  REFINERY_SKIP_WITHOUT_SHARED(kVectors);
  const YAML::Node root = YAML::LoadFile(kVectors);
  size_t cases = 0;
  for (const YAML::Node& c : root["lcs_cases"]) {
    auto as_tokens = [](const YAML::Node& n) {
      std::vector<std::string> out;
      for (const YAML::Node& v : n) out.push_back(v.as<std::string>());
      return out;
    };
    const auto ref = as_tokens(c["ref"]), can = as_tokens(c["can"]);
    const YAML::Node& e = c["expected"];
    const std::vector<size_t> idx = LcsIndices(ref, can);
    if (e["lcs_length"]) EXPECT_EQ(idx.size(), e["lcs_length"].as<size_t>()) << c["test"];
    if (e["lcs_ref_indices"])
      EXPECT_EQ(idx, e["lcs_ref_indices"].as<std::vector<size_t>>()) << c["test"];
    ++cases;
  }
  EXPECT_EQ(cases, 6u);
}

TEST(RougeVectors, FilesMatchTheirLineCases) {
  REFINERY_SKIP_WITHOUT_SHARED(kVectors);
  // The multi-line rougeLsum case computed from the files, as rouge-score's test does.
  RougeScorer scorer({*ParseRougeType("rougeLsum")}, true);
  const auto s =
      scorer.Score(ReadShared("target_multi.0.txt"), ReadShared("prediction_multi.0.txt"));
  const YAML::Node root = YAML::LoadFile(kVectors);
  for (const YAML::Node& c : root["cases"]) {
    if (c["target_file"] && c["target_file"].as<std::string>() == "target_multi.0.txt") {
      EXPECT_NEAR(s[0].fmeasure, c["expected"]["fmeasure"].as<double>(), 1e-5);
    }
  }
}

TEST(RougeScore, HandComputedOverlapAndClipping) {
  // "the the the" vs "the cat": clipped unigram overlap is 1.
  const auto r1 = NgramScore(Tokenize("the cat", false), Tokenize("the the the", false), 1);
  EXPECT_DOUBLE_EQ(r1.precision, 1.0 / 3);
  EXPECT_DOUBLE_EQ(r1.recall, 1.0 / 2);
  // Union LCS over two prediction sentences covers the reference sentence in two halves.
  const auto ls = SummaryLcsScore({{"a", "b", "c", "d"}}, {{"a", "b"}, {"c", "d"}});
  EXPECT_DOUBLE_EQ(ls.fmeasure, 1.0);
  EXPECT_DOUBLE_EQ(LcsScore({"a", "b", "c", "d"}, {"c", "d", "a", "b"}).fmeasure, 0.5);
}

TEST(SummaryMeasures, RepeatedNgramsAndKeyTerms) {
  EXPECT_DOUBLE_EQ(RepeatedNgramRate(Tokenize("a b c a b c", false), 3), 0.0 / 4 + 1.0 / 4);
  EXPECT_DOUBLE_EQ(RepeatedNgramRate(Tokenize("one two three four", false), 3), 0.0);
  const std::string source =
      "Volcanoes erupt when magma rises. Magma chambers feed volcanoes. "
      "Scientists watch magma and volcanoes closely. The weather was fine.";
  const auto terms = KeyTerms(source, 2);
  ASSERT_EQ(terms.size(), 2u);
  EXPECT_THAT(terms, ::testing::UnorderedElementsAre("magma", "volcano"));
  EXPECT_DOUBLE_EQ(KeyTermCoverage(terms, "Magma is hot."), 0.5);
  EXPECT_DOUBLE_EQ(KeyTermCoverage(terms, "Volcanoes hold magma."), 1.0);
}

}  // namespace
}  // namespace refinery::rouge
