// Sentence selection under a budget with Maximal Marginal Relevance (Carbonell and Goldstein):
// repeatedly take argmax [lambda * relevance(s) - (1 - lambda) * max sim(s, selected)].
//
// Lazy greedy: a sentence's MMR value only falls as more are selected, so candidates wait in a
// max-heap with a possibly stale value and are re-scored only when they reach the top:
// O(n log n + edges) instead of O(n * selected). Similarities come from the sparse graph.
// A sentence that does not fit the remaining budget ends the selection once `fill_until` of the
// budget is used; before that it is skipped (a shorter one may fit), until the budget cannot hold
// another token or `max_consecutive_misfits` in a row did not fit. Why not always fill: the
// sentences that fit a nearly spent budget are the short ones, which carry little (bbc-100: 14%
// of sentences under 8 words are in the reference summary, 42% of all sentences), so filling
// spends tokens for little meaning; measured in docs/benchmarks.md.
#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <vector>

#include "nodes/summarize/similarity_graph.h"

namespace refinery::summarize {

struct SelectionRequest {
  std::vector<double> relevance;  // per sentence, in [0, 1]
  // Tokens of sentence i including its joiner; called once per sentence that reaches the top,
  // so sentences never considered are never counted.
  std::function<size_t(size_t)> tokens;
  std::vector<bool> excluded;              // near-duplicates: never selected
  const SimilarityGraph* graph = nullptr;  // redundancy; nullptr: relevance only
  double lambda = 0.7;                     // 1: relevance only
  size_t token_budget = std::numeric_limits<size_t>::max();
  size_t max_sentences = std::numeric_limits<size_t>::max();
  bool stop_at_first_misfit = false;  // lead: a prefix, not a knapsack
  // Share of the budget after which the first misfit ends the selection (1: fill the budget
  // with whatever fits; 0: stop at the first misfit once a sentence is selected).
  double fill_until = 1.0;
  // Filling the last room with shorter sentences gives up after this many misfits in a row.
  size_t max_consecutive_misfits = 200;
};

// Selected sentence indices in document order.
std::vector<size_t> SelectSentences(const SelectionRequest& request);

}  // namespace refinery::summarize
