#include "nodes/summarize/document_model.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>

#include "nodes/text/ascii_words.h"
#include "nodes/text/porter_stemmer.h"
#include "nodes/text/stopwords.h"

namespace refinery::summarize {

float Dot(const SparseVector& a, const SparseVector& b) {
  float sum = 0;
  size_t i = 0, j = 0;
  while (i < a.terms.size() && j < b.terms.size()) {
    if (a.terms[i] < b.terms[j])
      ++i;
    else if (a.terms[i] > b.terms[j])
      ++j;
    else
      sum += a.weights[i++] * b.weights[j++];
  }
  return sum;
}

DocumentModel DocumentModel::Build(std::string_view text, text::LineBreaks line_breaks,
                                   IdfMode idf_mode, bool stem_terms) {
  DocumentModel doc;
  doc.sentences = text::SplitSentences(text, line_breaks);
  const size_t n = doc.sentences.size();
  doc.words.resize(n);

  // word -> (word id, content term id or -1 for a stopword); each distinct word stemmed once.
  struct WordInfo {
    uint32_t word_id;
    int32_t term_id;
  };
  // Looked up by string_view: a word is copied only the first time it is seen.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, WordInfo, Hash, std::equal_to<>> lexicon;
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> stems;
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> tf(n);  // (term, count) per sentence
  std::vector<uint32_t> df;
  std::vector<uint32_t> sentence_terms;
  for (size_t s = 0; s < n; ++s) {
    const text::Sentence& span = doc.sentences[s];
    sentence_terms.clear();
    text::ForEachAsciiWord(text.substr(span.begin, span.end - span.begin), [&](std::string_view w) {
      auto it = lexicon.find(w);
      const bool inserted = it == lexicon.end();
      if (inserted)
        it = lexicon.emplace(std::string(w), WordInfo{uint32_t(lexicon.size()), -1}).first;
      if (inserted && !text::IsEnglishStopword(w)) {
        std::string stem =
            stem_terms && w.size() > 3 ? text::PorterStemmer::Stem(w) : std::string(w);
        auto [st, fresh] = stems.try_emplace(std::move(stem), uint32_t(stems.size()));
        if (fresh) df.push_back(0);
        it->second.term_id = int32_t(st->second);
      }
      doc.words[s].push_back(it->second.word_id);
      if (it->second.term_id >= 0) sentence_terms.push_back(uint32_t(it->second.term_id));
    });
    std::sort(sentence_terms.begin(), sentence_terms.end());
    for (size_t i = 0; i < sentence_terms.size();) {
      size_t j = i;
      while (j < sentence_terms.size() && sentence_terms[j] == sentence_terms[i]) ++j;
      tf[s].emplace_back(sentence_terms[i], uint32_t(j - i));
      ++df[sentence_terms[i]];
      i = j;
    }
  }
  doc.term_count = df.size();

  // Smoothed idf, as scikit-learn's: log((1 + N) / (1 + df)) + 1 (every term counts a little),
  // its square root (terms the document repeats keep more weight), or none (plain tf).
  std::vector<float> idf(df.size());
  for (size_t t = 0; t < df.size(); ++t) {
    const double full = std::log((1.0 + n) / (1.0 + df[t])) + 1.0;
    idf[t] = float(idf_mode == IdfMode::kFull   ? full
                   : idf_mode == IdfMode::kSqrt ? std::sqrt(full)
                                                : 1.0);
  }
  doc.vectors.resize(n);
  for (size_t s = 0; s < n; ++s) {
    SparseVector& v = doc.vectors[s];
    double norm = 0;
    for (auto [term, count] : tf[s]) {
      const float w = float(count) * idf[term];
      v.terms.push_back(term);
      v.weights.push_back(w);
      norm += double(w) * w;
    }
    if (norm > 0) {
      const float inv = float(1.0 / std::sqrt(norm));
      for (float& w : v.weights) w *= inv;
    }
  }
  return doc;
}

}  // namespace refinery::summarize
