// SimilarityGraph: sparse sentence-similarity edges (cosine of tf-idf vectors) and PageRank over
// them. Never an n x n matrix: pairs are found through an inverted index (only sentences that
// share a content term are compared; a term found in more than 256 sentences of a chunk links
// each sentence only to the 256 nearest of them), each sentence keeps its strongest neighbours, and
// long documents are cut into chunks of consecutive sentences, each ranked on its own; edges never
// cross a chunk. Cross-chunk redundancy is the
// near-duplicate filter's job (near_duplicates.h).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "nodes/summarize/document_model.h"

namespace refinery::summarize {

struct Edge {
  uint32_t to;
  float weight;
};

struct SimilarityGraph {
  std::vector<std::vector<Edge>> edges;           // per sentence: its strongest neighbours
  std::vector<std::pair<size_t, size_t>> chunks;  // [begin, end) sentence ranges

  // Each sentence's `max_neighbours` most similar sentences of its chunk with similarity >=
  // min_similarity (> 0): a k-nearest-neighbour graph, exact when a chunk has no more sentences
  // than that, and bounded in edges (and PageRank time) on boilerplate where all pairs match.
  static SimilarityGraph Build(const DocumentModel& doc, size_t chunk_sentences,
                               float min_similarity, size_t max_neighbours);
};

struct PageRankOptions {
  double damping = 0.85;
  bool weighted = true;     // false: every edge counts 1 (LexRank)
  double tolerance = 1e-4;  // stop when no score moves more than this (scores have mean 1)
  int max_iterations = 200;
};

// Personalised PageRank per chunk (`prior` is the teleport distribution, any positive values;
// normalised per chunk). Scores have mean 1 within each chunk, so chunks compare.
std::vector<double> PageRank(const SimilarityGraph& graph, const std::vector<double>& prior,
                             const PageRankOptions& options);

}  // namespace refinery::summarize
