// Sentence selection under a budget with Maximal Marginal Relevance (Carbonell and Goldstein):
// repeatedly take argmax [lambda * relevance(s) - (1 - lambda) * max sim(s, selected)].
//
// Lazy greedy: a sentence's MMR value only falls as more are selected, so candidates wait in a
// max-heap with a possibly stale value and are re-scored only when they reach the top:
// O(n log n + edges) instead of O(n * selected). Similarities come from the sparse graph.
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

#include "nodes/summarize/similarity_graph.h"

namespace refinery::summarize {

struct SelectionRequest {
  std::vector<double> relevance;          // per sentence, in [0, 1]
  std::vector<size_t> tokens;             // per sentence, including its joiner
  std::vector<bool> excluded;             // near-duplicates: never selected
  const SimilarityGraph* graph = nullptr; // redundancy; nullptr: relevance only
  double lambda = 0.7;                    // 1: relevance only
  size_t token_budget = std::numeric_limits<size_t>::max();
  size_t max_sentences = std::numeric_limits<size_t>::max();
  bool stop_at_first_misfit = false;      // lead: a prefix, not a knapsack
};

// Selected sentence indices in document order.
std::vector<size_t> SelectSentences(const SelectionRequest& request);

}  // namespace refinery::summarize
