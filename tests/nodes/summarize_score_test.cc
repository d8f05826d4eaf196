// summarize and score nodes through the engine (NodeRunner). Skipped without rank files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "graph/request.h"
#include "nodes/summarize/mmr_selection.h"
#include "nodes/summarize/near_duplicates.h"
#include "nodes/text/tiktoken_encoding.h"
#include "tests/support/cl100k.h"
#include "tests/support/node_runner.h"

namespace refinery::testing {
namespace {

using ::testing::HasSubstr;

using refinery::testing::Tokens;

const char* kTopics[] = {"volcano",   "glacier", "harbour", "orchard",
                         "satellite", "library", "engine",  "market"};

// Sentences about a few topics, each one distinct.
std::string Article(int sentences, int seed = 0) {
  std::string doc;
  for (int i = 0; i < sentences; ++i) {
    const char* topic = kTopics[(i * 3 + seed) % 8];
    doc += "The " + std::string(topic) + " report number " + std::to_string(i) + " mentions the " +
           kTopics[(i + seed) % 8] + " and item " + std::to_string(i * 7 + seed) + ".\n";
  }
  return doc;
}

// Sentences of `summary` appear in `doc`, in the document's order.
void ExpectInDocumentOrder(const std::string& doc, const std::string& summary) {
  size_t pos = 0, start = 0;
  while (start < summary.size()) {
    size_t end = summary.find('\n', start);
    if (end == std::string::npos) end = summary.size();
    const std::string sentence = summary.substr(start, end - start);
    const size_t at = doc.find(sentence, pos);
    ASSERT_NE(at, std::string::npos) << "out of order or not from the document: " << sentence;
    pos = at + sentence.size();
    start = end + 1;
  }
}

TEST(Summarize, NeverExceedsTheTokenBudgetAndKeepsOrder) {
  REQUIRE_VOCAB();
  const std::string doc = Article(80);
  for (const char* method : {"lead", "textrank", "lexrank", "centroid"}) {
    for (int budget : {1, 15, 40, 100, 333, 5000}) {
      NodeRunner run(std::string("{id: s, type: summarize, method: ") + method +
                     ", max_tokens: " + std::to_string(budget) + "}");
      Result r = run.Run({{"text", doc}});
      ASSERT_TRUE(r.ok) << r.error_message;
      const std::string summary = Text(r, "summary");
      EXPECT_LE(Tokens(summary), size_t(budget)) << method << " " << budget;
      EXPECT_EQ(Number(r, "s.tokens_after"), double(Tokens(summary)));
      EXPECT_EQ(Number(r, "s.tokens_before"), double(Tokens(doc)));
      EXPECT_EQ(Text(r, "s.method"), method);
      ExpectInDocumentOrder(doc, summary);
      if (budget >= 40) {
        EXPECT_GT(Number(r, "s.sentences_after"), 0) << method << " " << budget;
      }
    }
  }
}

// Sentences ranked 0 > 1 > 2 > 3 with 40, 30, 50 and 5 tokens, budget 100.
summarize::SelectionRequest FillRequest(double fill_until) {
  summarize::SelectionRequest r;
  r.relevance = {1.0, 0.9, 0.8, 0.1};
  const std::vector<size_t> tokens = {40, 30, 50, 5};
  r.tokens = [tokens](size_t i) { return tokens[i]; };
  r.lambda = 1;
  r.token_budget = 100;
  r.fill_until = fill_until;
  return r;
}

TEST(Summarize, AMisfitEndsTheSummaryOnceTheBudgetIsFilledEnough) {
  // 70 of 100 tokens used when sentence 2 (50) does not fit: past half the budget, so the
  // short, low-ranked sentence 3 is not pulled in to fill the rest.
  EXPECT_EQ(summarize::SelectSentences(FillRequest(0.5)), (std::vector<size_t>{0, 1}));
  // Filling the budget with whatever fits takes it.
  EXPECT_EQ(summarize::SelectSentences(FillRequest(1.0)), (std::vector<size_t>{0, 1, 3}));
  // Under the threshold a misfit is skipped: 70 < 0.8 * 100.
  EXPECT_EQ(summarize::SelectSentences(FillRequest(0.8)), (std::vector<size_t>{0, 1, 3}));
}

TEST(Summarize, AnOversizedTopSentenceNeverLeavesTheSummaryEmpty) {
  summarize::SelectionRequest r = FillRequest(0.0);
  r.token_budget = 35;  // sentence 0 (40) does not fit; nothing is selected yet
  EXPECT_EQ(summarize::SelectSentences(r), (std::vector<size_t>{1}));
}

TEST(Summarize, RatioAndSentenceTargets) {
  REQUIRE_VOCAB();
  const std::string doc = Article(50);
  NodeRunner ratio("{id: s, type: summarize, ratio: 0.25}");
  Result r = ratio.Run({{"text", doc}});
  EXPECT_LE(Number(r, "s.tokens_after"), std::floor(0.25 * Tokens(doc)));
  EXPECT_GT(Number(r, "s.tokens_after"), 0.15 * Tokens(doc));  // it uses the room it has
  NodeRunner lead("{id: s, type: summarize, method: lead, sentences: 3}");
  Result l = lead.Run({{"text", doc}});
  EXPECT_EQ(Text(l, "summary"),
            doc.substr(0, doc.find('\n', doc.find('\n', doc.find('\n') + 1) + 1)));
  EXPECT_EQ(Number(l, "s.sentences_after"), 3);
}

TEST(Summarize, RepeatedParagraphsComeOutOnce) {
  REQUIRE_VOCAB();
  const std::string para =
      "Storms closed the harbour for two days. Fishing boats stayed tied up at the quay. "
      "The council promised repairs to the sea wall.\n\n";
  std::string doc;
  for (int i = 0; i < 4; ++i)
    doc += para + "Day " + std::to_string(i) + " brought new arrivals to the market square.\n\n";
  NodeRunner run("{id: s, type: summarize, ratio: 0.9, lambda: 1}");
  Result r = run.Run({{"text", doc}});
  const std::string summary = Text(r, "summary");
  for (const char* s :
       {"Storms closed the harbour", "Fishing boats stayed", "The council promised"}) {
    const size_t first = summary.find(s);
    if (first != std::string::npos) {
      EXPECT_EQ(summary.find(s, first + 1), std::string::npos) << s << "\n" << summary;
    }
  }
  EXPECT_EQ(Number(r, "s.duplicates_removed"), 9);  // 3 sentences x 3 repeats
  // Without the filter, and with relevance only, repeats do come back: the filter is what works.
  NodeRunner keep("{id: s, type: summarize, ratio: 0.9, lambda: 1, dedupe_threshold: 0}");
  const std::string kept = Text(keep.Run({{"text", doc}}), "summary");
  const size_t first = kept.find("Storms closed");
  EXPECT_NE(kept.find("Storms closed", first + 1), std::string::npos);
}

TEST(Summarize, NearDuplicatesAcrossChunks) {
  std::vector<std::vector<uint32_t>> words;
  for (uint32_t i = 0; i < 3000; ++i)
    words.push_back({i * 5, i * 5 + 1, i * 5 + 2, i * 5 + 3, i * 5 + 4, 7, 8});
  words[2500] = words[3];   // exact repeat, far away
  words[2600] = words[10];  // near repeat: one word of 7 changed at the end
  words[2600].back() = 999999;
  const std::vector<bool> dup = summarize::FindNearDuplicates(words, 0.5);
  EXPECT_TRUE(dup[2500]);
  EXPECT_TRUE(dup[2600]);
  EXPECT_EQ(std::count(dup.begin(), dup.end(), true), 2);
}

TEST(Summarize, FiftyThousandSentencesStayWithinBudget) {
  REQUIRE_VOCAB();
  const std::string doc = Article(50'000, 3);
  NodeRunner run("{id: s, type: summarize, max_tokens: 2000}");
  Result r = run.Run({{"text", doc}});
  ASSERT_TRUE(r.ok) << r.error_message;
  EXPECT_EQ(Number(r, "s.sentences_before"), 50'000);
  EXPECT_LE(Tokens(Text(r, "summary")), 2000u);
  EXPECT_GT(Number(r, "s.sentences_after"), 10);
}

TEST(Summarize, EmptyAndTinyInputs) {
  REQUIRE_VOCAB();
  NodeRunner run("{id: s, type: summarize, ratio: 0.5}");
  for (const std::string text : {"", "   \n\n ", "One.", "\xff\xfe broken bytes. More."}) {
    Result r = run.Run({{"text", text}});
    ASSERT_TRUE(r.ok) << r.error_message;
    EXPECT_LE(Tokens(Text(r, "summary")), size_t(std::floor(0.5 * Tokens(text))));
  }
}

TEST(Summarize, ValidationNamesTheProblem) {
  auto none = Engine::FromString("pipeline: p\nnodes:\n  - {id: s, type: summarize}\n", "p.yaml");
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(),
              HasSubstr("set exactly one target: ratio, max_tokens or sentences"));
  EXPECT_THAT(none.status().message(), HasSubstr("p.yaml:3"));
  auto two = Engine::FromString(
      "pipeline: p\nnodes:\n  - {id: s, type: summarize, ratio: 0.2, sentences: 3}\n");
  EXPECT_FALSE(two.ok());
  auto method = Engine::FromString(
      "pipeline: p\nnodes:\n  - {id: s, type: summarize, ratio: 0.2, method: textrnk}\n");
  ASSERT_FALSE(method.ok());
  EXPECT_THAT(method.status().message(), HasSubstr("did you mean 'textrank'"));
}

TEST(Score, AgainstReferenceReferencesAndSource) {
  REQUIRE_VOCAB();
  NodeRunner run(
      "{id: score, type: score, metrics: [rouge1, rougeL], weights: {rouge1: 1}, threshold: 0.5}");
  Result ref = run.Run({{"summary", "the cat sat"}, {"reference", "the cat sat on the mat"}});
  ASSERT_TRUE(ref.ok) << ref.error_message;
  EXPECT_EQ(Text(ref, "score.against"), "reference");
  EXPECT_DOUBLE_EQ(Number(ref, "score.rouge1.p"), 1.0);
  EXPECT_DOUBLE_EQ(Number(ref, "score.rouge1.r"), 0.5);
  EXPECT_NEAR(Number(ref, "score.total"), 2.0 / 3, 1e-12);
  EXPECT_EQ(Number(ref, "score.pass"), 1);

  std::string refs = std::string("a dog barked") + kMultiTextSeparator + "the cat sat on the mat";
  Result multi = run.Run({{"summary", "the cat sat"}, {"references", refs}});
  EXPECT_EQ(Text(multi, "score.against"), "references");
  EXPECT_DOUBLE_EQ(Number(multi, "score.rouge1.f"), 2.0 / 3);  // the better reference wins

  Result src =
      run.Run({{"summary", "the cat sat"}, {"text", "the cat sat on the mat. the dog ran."}});
  EXPECT_EQ(Text(src, "score.against"), "source");
  EXPECT_GT(Number(src, "score.tokens_saved"), 0);
  EXPECT_LT(Number(src, "score.compression"), 1);
  EXPECT_DOUBLE_EQ(Number(src, "score.rouge1.r"), 3.0 / 9);
  EXPECT_DOUBLE_EQ(Number(src, "score.total"), 0.5);
  EXPECT_EQ(Number(src, "score.pass"), 1);  // at the threshold passes

  Result low = run.Run({{"summary", "the dog"}, {"reference", "the cat sat on the mat"}});
  EXPECT_LT(Number(low, "score.total"), 0.5);
  EXPECT_EQ(Number(low, "score.pass"), 0);

  Result none = run.Run({{"summary", "the cat sat"}});
  EXPECT_FALSE(none.ok);
  EXPECT_THAT(none.error_message, HasSubstr("to score against"));
}

TEST(Score, CompositeUsesCoverageCompressionAndRedundancy) {
  REQUIRE_VOCAB();
  NodeRunner run(
      "{id: q, type: score, weights: {coverage: 1, compression: 1, non_redundancy: 2}, threshold: "
      "0.9}");
  const std::string source =
      "Magma rises in volcanoes. Volcanoes erupt magma. The weather was fine today.";
  Result r = run.Run({{"summary", "Volcanoes erupt magma."}, {"text", source}});
  ASSERT_TRUE(r.ok) << r.error_message;
  const double expected = (Number(r, "q.coverage") + (1 - Number(r, "q.compression")) +
                           2 * (1 - Number(r, "q.redundancy"))) /
                          4;
  EXPECT_NEAR(Number(r, "q.total"), expected, 1e-12);
  EXPECT_EQ(Number(r, "q.redundancy"), 0);
  Result repeated =
      run.Run({{"summary", "erupt magma now erupt magma now erupt magma now"}, {"text", source}});
  EXPECT_GT(Number(repeated, "q.redundancy"), 0.5);
  // Coverage and compression need the source: an item without it fails with the reason.
  Result missing = run.Run({{"summary", "x"}, {"reference", "x"}});
  EXPECT_FALSE(missing.ok);
  EXPECT_THAT(missing.error_message, HasSubstr("needs the source field 'text'"));
}

TEST(Score, WeightsAreValidatedAtLoad) {
  auto bad_key = Engine::FromString(
      "pipeline: p\nnodes:\n  - {id: s, type: score, weights: {rouge_1: 1}}\n", "p.yaml");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_THAT(bad_key.status().message(), HasSubstr("unknown key 'rouge_1'"));
  EXPECT_THAT(bad_key.status().message(), HasSubstr("did you mean 'rouge1'"));
  auto not_metric =
      Engine::FromString("pipeline: p\nnodes:\n  - {id: s, type: score, weights: {rougeL: 1}}\n");
  ASSERT_FALSE(not_metric.ok());
  EXPECT_THAT(not_metric.status().message(),
              HasSubstr("weights names 'rougeL', which is not in metrics"));
  auto negative =
      Engine::FromString("pipeline: p\nnodes:\n  - {id: s, type: score, weights: {rouge1: -1}}\n");
  ASSERT_FALSE(negative.ok());
  EXPECT_THAT(negative.status().message(), HasSubstr("must be a number from 0"));
}

TEST(Score, RunReportAggregatesMetrics) {
  REQUIRE_VOCAB();
  NodeRunner run("{id: score, type: score, metrics: [rouge1], weights: {rouge1: 1}}");
  for (int i = 0; i < 20; ++i) {
    run.Run({{"summary", i % 2 ? "a b" : "a"}, {"reference", "a b"}}, "r" + std::to_string(i));
  }
  const EngineStats stats = run.engine().Stats();
  auto it = std::find_if(stats.metrics.begin(), stats.metrics.end(),
                         [](const MetricSummary& m) { return m.name == "score.rouge1.f"; });
  ASSERT_NE(it, stats.metrics.end());
  EXPECT_EQ(it->count, 20);
  EXPECT_NEAR(it->mean, (1.0 + 2.0 / 3) / 2, 1e-12);
  EXPECT_LE(it->low, it->mean);
  EXPECT_GE(it->high, it->mean);
  EXPECT_LT(it->low, it->high);
}

}  // namespace
}  // namespace refinery::testing
