#include "nodes/summarize/similarity_graph.h"

#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_for.h>

#include <algorithm>
#include <cmath>

namespace refinery::summarize {

namespace {
constexpr size_t kScanWindow = 256;
}  // namespace

SimilarityGraph SimilarityGraph::Build(const DocumentModel& doc, size_t chunk_sentences,
                                       float min_similarity, size_t max_neighbours) {
  SimilarityGraph g;
  const size_t n = doc.size();
  g.edges.resize(n);
  chunk_sentences = std::max<size_t>(chunk_sentences, 1);
  // Equal-sized chunks: the last one is never a stub with too few sentences to rank.
  const size_t chunk_count = std::max<size_t>(1, (n + chunk_sentences - 1) / chunk_sentences);
  for (size_t c = 0; c < chunk_count; ++c) {
    g.chunks.emplace_back(n * c / chunk_count, n * (c + 1) / chunk_count);
  }

  // Chunks are independent: each task has its own postings and accumulator.
  struct Scratch {
    std::vector<std::vector<std::pair<uint32_t, float>>> postings;
    std::vector<float> acc;
    std::vector<uint32_t> touched;
  };
  tbb::enumerable_thread_specific<Scratch> scratch;
  tbb::parallel_for(size_t(0), g.chunks.size(), [&](size_t chunk) {
    auto [lo, hi] = g.chunks[chunk];
    Scratch& sc = scratch.local();
    auto& postings = sc.postings;
    auto& acc = sc.acc;
    auto& touched = sc.touched;
    if (postings.size() < doc.term_count) postings.resize(doc.term_count);
    for (size_t i = lo; i < hi; ++i) {
      const SparseVector& v = doc.vectors[i];
      for (size_t k = 0; k < v.terms.size(); ++k)
        postings[v.terms[k]].emplace_back(uint32_t(i), v.weights[k]);
    }
    acc.assign(hi - lo, 0.0f);
    for (size_t i = lo; i < hi; ++i) {
      // Dot products with every sentence of the chunk that shares a term.
      const SparseVector& v = doc.vectors[i];
      for (size_t k = 0; k < v.terms.size(); ++k) {
        const auto& list = postings[v.terms[k]];
        // A term in more than kScanWindow sentences of the chunk contributes only through the
        // kScanWindow nearest of them: exact for all but the most common terms, and it bounds the
        // work per sentence (otherwise quadratic in the chunk on boilerplate).
        size_t from = 0, to = list.size();
        if (list.size() > kScanWindow) {
          const size_t at =
              size_t(std::lower_bound(list.begin(), list.end(), std::make_pair(uint32_t(i), 0.0f)) -
                     list.begin());
          from =
              at > kScanWindow / 2 ? std::min(at - kScanWindow / 2, list.size() - kScanWindow) : 0;
          to = from + kScanWindow;
        }
        for (size_t p = from; p < to; ++p) {
          const auto [j, w] = list[p];
          if (acc[j - lo] == 0.0f) touched.push_back(j);
          acc[j - lo] += w * v.weights[k];
        }
      }
      std::vector<Edge>& out = g.edges[i];
      for (uint32_t j : touched) {
        const float sim = acc[j - lo];
        acc[j - lo] = 0.0f;
        if (j != i && sim >= min_similarity) out.push_back({j, sim});
      }
      touched.clear();
      if (out.size() > max_neighbours) {  // strongest first, ties by position: deterministic
        auto stronger = [](const Edge& a, const Edge& b) {
          return a.weight != b.weight ? a.weight > b.weight : a.to < b.to;
        };
        std::nth_element(out.begin(), out.begin() + max_neighbours, out.end(), stronger);
        out.resize(max_neighbours);
      }
      out.shrink_to_fit();
    }
    for (size_t i = lo; i < hi; ++i) {
      for (uint32_t t : doc.vectors[i].terms) postings[t].clear();
    }
  });
  return g;
}

std::vector<double> PageRank(const SimilarityGraph& graph, const std::vector<double>& prior,
                             const PageRankOptions& options) {
  const size_t n = graph.edges.size();
  std::vector<double> score(n, 1.0), next(n), out_weight(n, 0.0), teleport(n);
  for (size_t i = 0; i < n; ++i) {
    for (const Edge& e : graph.edges[i]) out_weight[i] += options.weighted ? e.weight : 1.0;
  }
  // Chunks do not share edges: each runs its own iterations, in parallel.
  tbb::parallel_for(size_t(0), graph.chunks.size(), [&](size_t chunk) {
    auto [lo, hi] = graph.chunks[chunk];
    const size_t m = hi - lo;
    double prior_sum = 0;
    for (size_t i = lo; i < hi; ++i) prior_sum += prior[i];
    // Teleport mass per sentence, scaled so that scores have mean 1 in the chunk.
    for (size_t i = lo; i < hi; ++i) teleport[i] = prior_sum > 0 ? prior[i] * m / prior_sum : 1.0;
    for (int iter = 0; iter < options.max_iterations; ++iter) {
      // Sentences without edges hand their score back through the teleport distribution.
      double dangling = 0;
      for (size_t i = lo; i < hi; ++i) {
        if (out_weight[i] == 0) dangling += score[i];
      }
      for (size_t i = lo; i < hi; ++i)
        next[i] = (1 - options.damping) * teleport[i] +
                  options.damping * dangling * teleport[i] / double(m);
      // Each sentence hands its score to its neighbours in proportion to the edge weights.
      for (size_t i = lo; i < hi; ++i) {
        if (out_weight[i] == 0) continue;
        const double share = options.damping * score[i] / out_weight[i];
        for (const Edge& e : graph.edges[i])
          next[e.to] += share * (options.weighted ? e.weight : 1.0);
      }
      double delta = 0;
      for (size_t i = lo; i < hi; ++i) delta = std::max(delta, std::abs(next[i] - score[i]));
      std::copy(next.begin() + lo, next.begin() + hi, score.begin() + lo);
      if (delta < options.tolerance) break;
    }
  });
  return score;
}

}  // namespace refinery::summarize
