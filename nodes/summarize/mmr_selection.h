// Sentence selection under a budget with Maximal Marginal Relevance (Carbonell and Goldstein):
// repeatedly take argmax [lambda * relevance(s) - (1 - lambda) * max sim(s, selected)].
//
// Lazy greedy: a sentence's MMR value only falls as more are selected, so candidates wait in a
// max-heap with a possibly stale value and are re-scored only when they reach the top:
// O(n log n + edges) instead of O(n * selected). Similarities come from the sparse graph.
// Sentences that do not fit the remaining budget are skipped (a shorter one may), until the
// budget cannot hold another token or `max_consecutive_misfits` in a row did not fit.
#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <vector>

#include "nodes/summarize/similarity_graph.h"

namespace refinery::summarize {

struct SelectionRequest {
  std::vector<double> relevance;          // per sentence, in [0, 1]
  // Tokens of sentence i including its joiner; called once per sentence that reaches the top,
  // so sentences never considered are never counted.
  std::function<size_t(size_t)> tokens;
  std::vector<bool> excluded;             // near-duplicates: never selected
  const SimilarityGraph* graph = nullptr; // redundancy; nullptr: relevance only
  double lambda = 0.7;                    // 1: relevance only
  size_t token_budget = std::numeric_limits<size_t>::max();
  size_t max_sentences = std::numeric_limits<size_t>::max();
  bool stop_at_first_misfit = false;      // lead: a prefix, not a knapsack
  // Filling the last room with shorter sentences gives up after this many misfits in a row.
  size_t max_consecutive_misfits = 200;
};

// Selected sentence indices in document order.
std::vector<size_t> SelectSentences(const SelectionRequest& request);

}  // namespace refinery::summarize
