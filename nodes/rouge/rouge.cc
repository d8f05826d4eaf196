#include "nodes/rouge/rouge.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "nodes/text/ascii_words.h"
#include "nodes/text/porter_stemmer.h"
#include "nodes/text/sentence_splitter.h"

namespace refinery::rouge {
namespace {

using Tokens = std::vector<std::string>;

std::unordered_map<std::string, int> Ngrams(const Tokens& tokens, int n) {
  std::unordered_map<std::string, int> counts;
  if (tokens.size() < size_t(n)) return counts;
  counts.reserve(tokens.size());
  std::string key;
  for (size_t i = 0; i + n <= tokens.size(); ++i) {
    key.clear();
    for (int k = 0; k < n; ++k) {
      if (k) key.push_back(' ');  // tokens never hold spaces
      key += tokens[i + k];
    }
    ++counts[key];
  }
  return counts;
}

// Full LCS table, (|ref|+1) x (|can|+1), row-major.
std::vector<uint32_t> LcsTable(const Tokens& ref, const Tokens& can) {
  const size_t cols = can.size() + 1;
  std::vector<uint32_t> t((ref.size() + 1) * cols, 0);
  for (size_t i = 1; i <= ref.size(); ++i) {
    for (size_t j = 1; j <= can.size(); ++j) {
      t[i * cols + j] = ref[i - 1] == can[j - 1]
                            ? t[(i - 1) * cols + j - 1] + 1
                            : std::max(t[(i - 1) * cols + j], t[i * cols + j - 1]);
    }
  }
  return t;
}

// LCS length in O(|can|) memory: rougeL needs only the length.
size_t LcsLength(const Tokens& ref, const Tokens& can) {
  std::vector<uint32_t> prev(can.size() + 1, 0), cur(can.size() + 1, 0);
  for (size_t i = 1; i <= ref.size(); ++i) {
    for (size_t j = 1; j <= can.size(); ++j) {
      cur[j] = ref[i - 1] == can[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    }
    std::swap(prev, cur);
  }
  return prev[can.size()];
}

RougeScore FromCounts(double hits, double prediction_count, double target_count) {
  RougeScore s;
  s.precision = hits / prediction_count;
  s.recall = hits / target_count;
  s.fmeasure = FMeasure(s.precision, s.recall);
  return s;
}

}  // namespace

StatusOr<RougeType> ParseRougeType(std::string_view name) {
  if (name == "rougeL") return RougeType{"rougeL", RougeType::kLcs, 0};
  if (name == "rougeLsum") return RougeType{"rougeLsum", RougeType::kLsum, 0};
  if (name.size() == 6 && name.substr(0, 5) == "rouge" && name[5] >= '1' && name[5] <= '9') {
    return RougeType{std::string(name), RougeType::kNgram, name[5] - '0'};
  }
  return Status::InvalidArgument("unknown ROUGE type '" + std::string(name) +
                                 "' (rouge1 .. rouge9, rougeL, rougeLsum)");
}

StatusOr<std::vector<RougeType>> ParseRougeTypes(const std::vector<std::string>& names) {
  std::vector<RougeType> types;
  for (const std::string& n : names) {
    auto t = ParseRougeType(n);
    if (!t.ok()) return t.status();
    types.push_back(*t);
  }
  return types;
}

Tokens Tokenize(std::string_view text, bool stem) {
  Tokens tokens;
  text::ForEachAsciiWord(text, [&](std::string_view w) {
    tokens.push_back(stem && w.size() > 3 ? text::PorterStemmer::Stem(w) : std::string(w));
  });
  return tokens;
}

double FMeasure(double precision, double recall) {
  return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
}

RougeScore NgramScore(const Tokens& target, const Tokens& prediction, int n) {
  const auto t = Ngrams(target, n);
  const auto p = Ngrams(prediction, n);
  double overlap = 0, t_count = 0, p_count = 0;
  for (const auto& [gram, count] : t) {
    t_count += count;
    if (auto it = p.find(gram); it != p.end()) overlap += std::min(count, it->second);
  }
  for (const auto& [gram, count] : p) p_count += count;
  return FromCounts(overlap, std::max(p_count, 1.0), std::max(t_count, 1.0));
}

RougeScore LcsScore(const Tokens& target, const Tokens& prediction) {
  if (target.empty() || prediction.empty()) return {};
  return FromCounts(double(LcsLength(target, prediction)), double(prediction.size()),
                    double(target.size()));
}

std::vector<size_t> LcsIndices(const Tokens& ref, const Tokens& can) {
  const std::vector<uint32_t> t = LcsTable(ref, can);
  const size_t cols = can.size() + 1;
  std::vector<size_t> lcs;
  size_t i = ref.size(), j = can.size();
  while (i > 0 && j > 0) {
    if (ref[i - 1] == can[j - 1]) {
      lcs.push_back(i - 1);
      --i;
      --j;
    } else if (t[i * cols + j - 1] > t[(i - 1) * cols + j]) {
      --j;
    } else {
      --i;
    }
  }
  std::reverse(lcs.begin(), lcs.end());
  return lcs;
}

RougeScore SummaryLcsScore(const std::vector<Tokens>& ref_sents,
                           const std::vector<Tokens>& can_sents) {
  if (ref_sents.empty() || can_sents.empty()) return {};
  size_t m = 0, n = 0;
  std::unordered_map<std::string, int> ref_counts, can_counts;
  for (const Tokens& s : ref_sents) {
    m += s.size();
    for (const std::string& t : s) ++ref_counts[t];
  }
  for (const Tokens& s : can_sents) {
    n += s.size();
    for (const std::string& t : s) ++can_counts[t];
  }
  if (m == 0 || n == 0) return {};
  double hits = 0;
  for (const Tokens& r : ref_sents) {
    std::set<size_t> lcs_union;  // sorted, as rouge-score's sorted(set().union(...))
    for (const Tokens& c : can_sents) {
      for (size_t idx : LcsIndices(r, c)) lcs_union.insert(idx);
    }
    for (size_t idx : lcs_union) {
      const std::string& token = r[idx];
      int& cc = can_counts[token];
      int& rc = ref_counts[token];
      if (cc > 0 && rc > 0) {
        ++hits;
        --cc;
        --rc;
      }
    }
  }
  return FromCounts(hits, double(n), double(m));
}

RougeScorer::RougeScorer(std::vector<RougeType> types, bool stem, bool split_summaries)
    : types_(std::move(types)), stem_(stem), split_summaries_(split_summaries) {}

std::vector<Tokens> RougeScorer::SentenceTokens(std::string_view text) const {
  std::vector<Tokens> out;
  if (split_summaries_) {
    for (const text::Sentence& s : text::SplitSentences(text, text::LineBreaks::kSentence)) {
      out.push_back(Tokenize(text.substr(s.begin, s.end - s.begin), stem_));
    }
    return out;
  }
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start)
      out.push_back(Tokenize(text.substr(start, end - start), stem_));  // non-empty lines
    start = end + 1;
  }
  return out;
}

std::vector<RougeScore> RougeScorer::Score(std::string_view target,
                                           std::string_view prediction) const {
  std::vector<RougeScore> scores;
  bool tokenized = false;
  Tokens t, p;
  for (const RougeType& type : types_) {
    if (type.kind == RougeType::kLsum) {
      scores.push_back(SummaryLcsScore(SentenceTokens(target), SentenceTokens(prediction)));
      continue;
    }
    if (!tokenized) {
      t = Tokenize(target, stem_);
      p = Tokenize(prediction, stem_);
      tokenized = true;
    }
    scores.push_back(type.kind == RougeType::kLcs ? LcsScore(t, p) : NgramScore(t, p, type.n));
  }
  return scores;
}

std::vector<RougeScore> RougeScorer::ScoreMulti(const std::vector<std::string>& targets,
                                                std::string_view prediction) const {
  std::vector<RougeScore> best(types_.size());
  bool first = true;
  for (const std::string& target : targets) {
    std::vector<RougeScore> s = Score(target, prediction);
    for (size_t k = 0; k < s.size(); ++k) {
      if (first || s[k].fmeasure > best[k].fmeasure) best[k] = s[k];
    }
    first = false;
  }
  return best;
}

}  // namespace refinery::rouge
