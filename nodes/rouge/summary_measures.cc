#include "nodes/rouge/summary_measures.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "nodes/text/ascii_words.h"
#include "nodes/text/porter_stemmer.h"
#include "nodes/text/sentence_splitter.h"
#include "nodes/text/stopwords.h"

namespace refinery::rouge {
namespace {

// Stemmed content terms of a text, stemming each distinct word once.
template <typename Fn>
void ForEachTerm(std::string_view text, std::unordered_map<std::string, std::string>& stems,
                 Fn&& fn) {
  text::ForEachAsciiWord(text, [&](std::string_view w) {
    if (text::IsEnglishStopword(w)) return;
    auto [it, inserted] = stems.try_emplace(std::string(w));
    if (inserted) it->second = w.size() > 3 ? text::PorterStemmer::Stem(w) : std::string(w);
    fn(it->second);
  });
}

}  // namespace

double RepeatedNgramRate(const std::vector<std::string>& tokens, int n) {
  if (tokens.size() < size_t(n)) return 0;
  std::unordered_set<std::string> seen;
  size_t total = 0, repeated = 0;
  std::string key;
  for (size_t i = 0; i + n <= tokens.size(); ++i) {
    key.clear();
    for (int k = 0; k < n; ++k) (key += tokens[i + k]) += ' ';
    ++total;
    if (!seen.insert(key).second) ++repeated;
  }
  return double(repeated) / double(total);
}

std::vector<std::string> KeyTerms(std::string_view source, size_t k) {
  std::unordered_map<std::string, std::string> stems;
  std::unordered_map<std::string, std::pair<size_t, size_t>> stats;  // term -> (tf, df)
  const auto sentences = text::SplitSentences(source);
  for (const text::Sentence& s : sentences) {
    std::unordered_set<std::string> in_sentence;
    ForEachTerm(source.substr(s.begin, s.end - s.begin), stems, [&](const std::string& term) {
      auto& st = stats[term];
      ++st.first;
      if (in_sentence.insert(term).second) ++st.second;
    });
  }
  std::vector<std::pair<double, std::string>> ranked;
  const double n = double(sentences.size());
  for (const auto& [term, st] : stats) {
    ranked.emplace_back(double(st.first) * (std::log((1 + n) / (1 + double(st.second))) + 1), term);
  }
  // Highest weight first; ties by term so the choice is deterministic.
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<std::string> out;
  for (size_t i = 0; i < ranked.size() && i < k; ++i) out.push_back(ranked[i].second);
  return out;
}

double KeyTermCoverage(const std::vector<std::string>& key_terms, std::string_view summary) {
  if (key_terms.empty()) return 1.0;
  std::unordered_map<std::string, std::string> stems;
  std::unordered_set<std::string> present;
  ForEachTerm(summary, stems, [&](const std::string& term) { present.insert(term); });
  size_t kept = 0;
  for (const std::string& t : key_terms) kept += present.count(t);
  return double(kept) / double(key_terms.size());
}

}  // namespace refinery::rouge
