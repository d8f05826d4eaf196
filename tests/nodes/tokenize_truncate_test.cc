// tokenize and truncate nodes through the engine (NodeRunner). Skipped without rank files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "graph/io/utf8.h"
#include "graph/spec/pipeline_loader.h"
#include "nodes/text/tiktoken_encoding.h"
#include "tests/support/cl100k.h"
#include "tests/support/node_runner.h"

namespace refinery::testing {
namespace {

using ::testing::HasSubstr;

using refinery::testing::Tokens;

std::string Document() {
  std::string doc;
  for (int i = 0; i < 60; ++i) {
    doc += "Sentence number " + std::to_string(i) +
           " talks about caches, naïve café owners and 日本語. ";
    if (i % 7 == 6) doc += "\n";
  }
  return doc;
}

TEST(TokenizeNode, WritesIdsAndCounts) {
  REQUIRE_VOCAB();
  NodeRunner n("{id: tok, type: tokenize, fields: [text, reference]}");
  Result r = n.Run({{"text", "hello world"}, {"reference", "hi"}});
  ASSERT_TRUE(r.ok) << r.error_message;
  EXPECT_EQ(std::get<TokenIds>(r.fields.at("text.tokens")), (TokenIds{15339, 1917}));
  EXPECT_EQ(Number(r, "text.token_count"), 2);
  EXPECT_EQ(Number(r, "reference.token_count"), 1);
}

TEST(TokenizeNode, SpecialTokensFailTheItemUnlessAllowed) {
  REQUIRE_VOCAB();
  NodeRunner strict("{id: tok, type: tokenize}");
  Result r = strict.Run({{"text", "x <|endoftext|>"}});
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error_message, HasSubstr("special token <|endoftext|>"));
  NodeRunner allow("{id: tok, type: tokenize, special: allow, ids: false}");
  Result a = allow.Run({{"text", "x <|endoftext|>"}});
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(Number(a, "text.token_count"), 3);
  EXPECT_EQ(a.fields.count("text.tokens"), 0u);
}

class TruncateStrategy : public ::testing::TestWithParam<std::string> {};

TEST_P(TruncateStrategy, OutputRetokenizesWithinTheBudgetAndKeepsUtf8) {
  REQUIRE_VOCAB();
  const std::string doc = Document();
  for (int budget : {1, 7, 50, 123, 400}) {
    NodeRunner n("{id: cut, type: truncate, max_tokens: " + std::to_string(budget) +
                 ", strategy: " + GetParam() + "}");
    Result r = n.Run({{"text", doc}});
    ASSERT_TRUE(r.ok) << r.error_message;
    const std::string out = Text(r, "text");
    EXPECT_LE(Tokens(out), size_t(budget)) << GetParam() << " budget " << budget;
    EXPECT_TRUE(utf8::IsValidUtf8(out));
    EXPECT_EQ(Number(r, "cut.tokens_before"), double(Tokens(doc)));
    EXPECT_EQ(Number(r, "cut.tokens_after"), double(Tokens(out)));
    EXPECT_EQ(Number(r, "cut.tokens_dropped"), double(Tokens(doc) - Tokens(out)));
    if (GetParam() == "head" && budget >= 50) {
      EXPECT_EQ(doc.rfind(out, 0), 0u);
    }
    if (GetParam() == "tail" && budget >= 50) {
      EXPECT_TRUE(doc.ends_with(out));
    }
    if (GetParam() == "middle" && budget >= 50) {
      EXPECT_THAT(out, HasSubstr("[...]"));
      EXPECT_EQ(doc.rfind(out.substr(0, 20), 0), 0u);
    }
    if (GetParam() == "sentences") {
      // Whole sentences from the start, and as many as fit: one more would not.
      if (!out.empty()) {
        EXPECT_TRUE(out.ends_with(".")) << out.substr(out.size() - 20);
        EXPECT_EQ(doc.rfind(out, 0), 0u);
      }
      const size_t next = doc.find(". ", out.size() + 1);
      EXPECT_GT(Tokens(doc.substr(0, next + 1)), size_t(budget));
    } else if (budget >= 50) {
      EXPECT_GE(Tokens(out), size_t(budget * 0.8)) << "should use the budget";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Strategies, TruncateStrategy,
                         ::testing::Values("head", "tail", "middle", "sentences"));

TEST(TruncateNode, CutInsideMultibyteTextNeverSplitsACharacter) {
  REQUIRE_VOCAB();
  std::string cjk;
  for (int i = 0; i < 200; ++i) cjk += "語🚀é";
  for (int budget = 1; budget < 40; ++budget) {
    for (const char* strategy : {"head", "tail", "middle"}) {
      NodeRunner n("{id: cut, type: truncate, max_tokens: " + std::to_string(budget) +
                   ", strategy: " + strategy + "}");
      Result r = n.Run({{"text", cjk}});
      const std::string out = Text(r, "text");
      ASSERT_TRUE(utf8::IsValidUtf8(out)) << strategy << " " << budget;
      ASSERT_LE(Tokens(out), size_t(budget)) << strategy << " " << budget;
    }
  }
}

TEST(TruncateNode, PinnedFieldsAreKeptAndComeOffTheBudget) {
  REQUIRE_VOCAB();
  NodeRunner n(
      "{id: cut, type: truncate, context_window: 120, reserve_output: 20, pinned: [question]}");
  const std::string question = "What do the sentences say about caches?";
  Result r = n.Run({{"text", Document()}, {"question", question}});
  ASSERT_TRUE(r.ok) << r.error_message;
  EXPECT_EQ(Text(r, "question"), question);
  EXPECT_EQ(Number(r, "cut.tokens_pinned"), double(Tokens(question)));
  EXPECT_LE(Tokens(Text(r, "text")) + Tokens(question), 100u);
  NodeRunner tight("{id: cut, type: truncate, max_tokens: 3, pinned: [question]}");
  Result over = tight.Run({{"text", "x"}, {"question", question}});
  EXPECT_FALSE(over.ok);
  EXPECT_THAT(over.error_message, HasSubstr("more than the budget of 3"));
}

TEST(TruncateNode, ShortTextIsUnchanged) {
  REQUIRE_VOCAB();
  NodeRunner n("{id: cut, type: truncate, max_tokens: 100, output: short}");
  Result r = n.Run({{"text", "already short"}});
  EXPECT_EQ(Text(r, "short"), "already short");
  EXPECT_EQ(Number(r, "cut.tokens_dropped"), 0);
}

TEST(TruncateNode, BudgetOptionsAreValidatedBeforeRunning) {
  auto both = LoadPipelineString(
      "pipeline: p\nnodes:\n  - {id: cut, type: truncate, max_tokens: 5, context_window: 9}\n",
      "p.yaml");
  ASSERT_FALSE(both.ok());
  EXPECT_THAT(both.status().message(),
              HasSubstr("p.yaml:3:5: error: node 'cut' (truncate): set exactly one of max_tokens"));
  auto none = LoadPipelineString("pipeline: p\nnodes:\n  - {id: cut, type: truncate}\n", "p.yaml");
  EXPECT_FALSE(none.ok());
  auto reserve = LoadPipelineString(
      "pipeline: p\nnodes:\n  - {id: cut, type: truncate, context_window: 10, reserve_output: "
      "10}\n",
      "p.yaml");
  ASSERT_FALSE(reserve.ok());
  EXPECT_THAT(reserve.status().message(), HasSubstr("leaves no room"));
}

}  // namespace
}  // namespace refinery::testing
