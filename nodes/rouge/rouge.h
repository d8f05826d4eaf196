// ROUGE exactly as Google's rouge-score (rouge_scorer.py) computes it: its tokenizer, NLTK's
// Porter stemmer, ROUGE-N, ROUGE-L, ROUGE-Lsum, multi-reference max. Checked against every vector
// in shared/data/rouge (tests/nodes/rouge/rouge_test.cc).
//
//   RougeScorer scorer(*ParseRougeTypes({"rouge1", "rouge2", "rougeLsum"}), /*stem=*/true);
//   std::vector<RougeScore> s = scorer.Score(reference, summary);   // one per type, in order
//
// Semantics (rouge-score):
//   - tokens: lowercase (Python str.lower), every run of [^a-z0-9] becomes a space, split; with
//     stemming, tokens longer than 3 characters are stemmed. Non-ASCII letters vanish.
//   - rougeN: clipped n-gram overlap; P = overlap / max(#prediction n-grams, 1), R likewise.
//   - rougeL: one LCS over the whole texts. rougeLsum: lines are sentences ("\n"), union-LCS per
//     reference sentence with counts clipped (what papers call ROUGE-L); split_summaries splits
//     on sentence boundaries instead of lines (rouge-score uses NLTK punkt; here ICU).
//   - several references: the score with the highest F1 per type (the first on ties).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "graph/status.h"

namespace refinery::rouge {

struct RougeScore {
  double precision = 0;
  double recall = 0;
  double fmeasure = 0;
};

struct RougeType {
  enum Kind { kNgram, kLcs, kLsum };
  std::string name;  // "rouge1" .. "rouge9", "rougeL", "rougeLsum"
  Kind kind = kNgram;
  int n = 1;
};

StatusOr<RougeType> ParseRougeType(std::string_view name);
StatusOr<std::vector<RougeType>> ParseRougeTypes(const std::vector<std::string>& names);

// rouge-score's DefaultTokenizer.
std::vector<std::string> Tokenize(std::string_view text, bool stem);

double FMeasure(double precision, double recall);
RougeScore NgramScore(const std::vector<std::string>& target,
                      const std::vector<std::string>& prediction, int n);
RougeScore LcsScore(const std::vector<std::string>& target,
                    const std::vector<std::string>& prediction);
RougeScore SummaryLcsScore(const std::vector<std::vector<std::string>>& target_sentences,
                           const std::vector<std::vector<std::string>>& prediction_sentences);
// Indices into `ref` of one LCS of ref and can (rouge-score's _backtrack_norec).
std::vector<size_t> LcsIndices(const std::vector<std::string>& ref,
                               const std::vector<std::string>& can);

class RougeScorer {
 public:
  RougeScorer(std::vector<RougeType> types, bool stem, bool split_summaries = false);
  std::vector<RougeScore> Score(std::string_view target, std::string_view prediction) const;
  std::vector<RougeScore> ScoreMulti(const std::vector<std::string>& targets,
                                     std::string_view prediction) const;
  const std::vector<RougeType>& types() const { return types_; }

 private:
  std::vector<std::vector<std::string>> SentenceTokens(std::string_view text) const;
  std::vector<RougeType> types_;
  bool stem_;
  bool split_summaries_;
};

}  // namespace refinery::rouge
