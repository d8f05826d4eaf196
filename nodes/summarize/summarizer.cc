#include "nodes/summarize/summarizer.h"

#include <oneapi/tbb/parallel_invoke.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "nodes/summarize/document_model.h"
#include "nodes/summarize/mmr_selection.h"
#include "nodes/summarize/near_duplicates.h"
#include "nodes/summarize/similarity_graph.h"

namespace refinery::summarize {
namespace {

// "Earlier is more important" as a distribution over positions: 1 / sqrt(position + 1), blended
// with uniform by `bias`.
std::vector<double> PositionPrior(size_t n, double bias) {
  std::vector<double> prior(n);
  for (size_t i = 0; i < n; ++i) prior[i] = (1 - bias) + bias * 2.0 / std::sqrt(double(i) + 1.0);
  return prior;
}

std::vector<double> CentroidScores(const DocumentModel& doc, const std::vector<double>& prior) {
  std::vector<double> centroid(doc.term_count, 0.0);
  for (const SparseVector& v : doc.vectors) {
    for (size_t k = 0; k < v.terms.size(); ++k) centroid[v.terms[k]] += v.weights[k];
  }
  std::vector<double> scores(doc.size(), 0.0);
  for (size_t i = 0; i < doc.size(); ++i) {
    const SparseVector& v = doc.vectors[i];
    double s = 0;
    for (size_t k = 0; k < v.terms.size(); ++k) s += v.weights[k] * centroid[v.terms[k]];
    scores[i] = s * prior[i];
  }
  return scores;
}

std::vector<double> Rank(const DocumentModel& doc, const SummarizerOptions& o,
                         const SimilarityGraph& graph) {
  const std::vector<double> prior = PositionPrior(doc.size(), o.position_bias);
  switch (o.method) {
    case Method::kLead: {
      std::vector<double> scores(doc.size());
      for (size_t i = 0; i < doc.size(); ++i) scores[i] = 1.0 / double(i + 1);
      return scores;
    }
    case Method::kCentroid:
      return CentroidScores(doc, prior);
    case Method::kLexRank:
      return PageRank(graph, prior, {o.damping, /*weighted=*/false});
    case Method::kTextRank:
      break;
  }
  return PageRank(graph, prior, {o.damping, /*weighted=*/true});
}

// One encode of the whole document gives its exact token count and, by attributing each token to
// the sentence its first byte falls in (or the next one, for tokens in the space between), a
// close estimate of each sentence's tokens: a token at a sentence edge may differ by one from
// counting the sentence alone. Selection works on the estimates; the joined summary is always
// re-counted exactly. Empty when the text is not valid UTF-8 (the encoder then sees U+FFFD and
// byte offsets no longer line up): callers count sentences one by one instead.
std::vector<size_t> SentenceTokenEstimates(std::string_view text, const DocumentModel& doc,
                                           const text::TiktokenEncoding& encoding,
                                           const std::vector<uint32_t>& ids) {
  std::vector<size_t> estimates(doc.size(), 0);
  size_t pos = 0, s = 0;
  for (uint32_t id : ids) {
    while (s < doc.size() && pos >= doc.sentences[s].end) ++s;
    if (s < doc.size()) ++estimates[s];
    pos += encoding.vocabulary().Bytes(id).size();
  }
  if (pos != text.size()) return {};
  return estimates;
}

std::string Join(std::string_view text, const DocumentModel& doc, const std::vector<size_t>& picked,
                 const std::string& joiner) {
  std::string out;
  for (size_t k = 0; k < picked.size(); ++k) {
    if (k) out += joiner;
    const text::Sentence& s = doc.sentences[picked[k]];
    out.append(text.substr(s.begin, s.end - s.begin));
  }
  return out;
}

}  // namespace

const char* MethodName(Method m) {
  switch (m) {
    case Method::kLead:
      return "lead";
    case Method::kTextRank:
      return "textrank";
    case Method::kLexRank:
      return "lexrank";
    case Method::kCentroid:
      return "centroid";
  }
  return "?";
}

Summary Summarize(std::string_view text, const SummarizerOptions& o,
                  const text::TiktokenEncoding& encoding) {
  Summary result;
  // Independent stages run side by side (oneTBB: on an idle engine a long document uses every
  // core; on a busy one the tasks simply queue behind other items).
  DocumentModel doc;
  std::vector<uint32_t> ids;
  tbb::parallel_invoke([&] { doc = DocumentModel::Build(text, o.line_breaks, o.idf, o.stem); },
                       [&] { encoding.EncodeOrdinary(text, &ids); });
  const size_t n = doc.size();
  result.sentences_before = n;
  result.tokens_before = ids.size();
  const std::vector<size_t> estimates = SentenceTokenEstimates(text, doc, encoding, ids);

  SelectionRequest request;
  const size_t joiner_tokens = o.joiner.empty() ? 0 : encoding.CountOrdinary(o.joiner);
  std::vector<size_t> sentence_tokens(n, SIZE_MAX);
  auto count = [&](size_t i) {
    if (sentence_tokens[i] == SIZE_MAX) {
      const text::Sentence& s = doc.sentences[i];
      sentence_tokens[i] =
          (estimates.empty() ? encoding.CountOrdinary(text.substr(s.begin, s.end - s.begin))
                             : estimates[i]) +
          joiner_tokens;
    }
    return sentence_tokens[i];
  };
  request.tokens = count;
  if (o.sentences > 0) {
    request.max_sentences = o.sentences;
  } else {
    const size_t budget = o.max_tokens > 0
                              ? o.max_tokens
                              : size_t(std::floor(o.ratio * double(result.tokens_before)));
    result.budget = budget;
    // The last sentence carries no joiner, so the sum of `tokens` may exceed the text by one.
    request.token_budget = budget + joiner_tokens;
  }
  // Lead needs no graph; every other method ranks on it or uses it for the MMR penalty.
  SimilarityGraph graph;
  tbb::parallel_invoke(
      [&] {
        if (o.dedupe_threshold <= 0) return;
        request.excluded = FindNearDuplicates(doc.words, o.dedupe_threshold);
        result.duplicates_removed =
            size_t(std::count(request.excluded.begin(), request.excluded.end(), true));
      },
      [&] {
        if (o.method == Method::kLead) return;
        const float min_similarity =
            o.method == Method::kLexRank ? float(o.lexrank_threshold) : 1e-6f;
        graph = SimilarityGraph::Build(doc, o.chunk_sentences, min_similarity, o.max_neighbours);
      });

  const std::vector<double> scores = Rank(doc, o, graph);
  const double top = n ? *std::max_element(scores.begin(), scores.end()) : 0.0;
  request.relevance.resize(n);
  for (size_t i = 0; i < n; ++i) request.relevance[i] = top > 0 ? scores[i] / top : 0.0;
  request.graph = o.method == Method::kLead ? nullptr : &graph;
  request.lambda = o.method == Method::kLead ? 1.0 : o.lambda;
  request.stop_at_first_misfit = o.method == Method::kLead;
  request.fill_until = o.fill_until;

  std::vector<size_t> picked = SelectSentences(request);
  result.text = Join(text, doc, picked, o.joiner);
  result.tokens_after = encoding.CountOrdinary(result.text);
  // BPE is not additive across the joins: if the whole re-counts over budget, drop the least
  // relevant sentences worth the excess and count again (rarely more than once).
  while (result.budget > 0 && result.tokens_after > result.budget && !picked.empty()) {
    std::vector<size_t> by_relevance = picked;
    std::sort(by_relevance.begin(), by_relevance.end(), [&](size_t a, size_t b) {
      return request.relevance[a] != request.relevance[b]
                 ? request.relevance[a] < request.relevance[b]
                 : a > b;
    });
    size_t excess = result.tokens_after - result.budget, dropped = 0;
    std::vector<bool> drop(n, false);
    for (size_t i : by_relevance) {
      if (dropped >= excess) break;
      drop[i] = true;
      dropped += count(i);
    }
    std::erase_if(picked, [&](size_t i) { return drop[i]; });
    result.text = Join(text, doc, picked, o.joiner);
    result.tokens_after = encoding.CountOrdinary(result.text);
  }
  result.sentences_after = picked.size();
  return result;
}

}  // namespace refinery::summarize
