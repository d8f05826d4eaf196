#include "nodes/summarize/mmr_selection.h"

#include <algorithm>
#include <queue>

namespace refinery::summarize {

std::vector<size_t> SelectSentences(const SelectionRequest& r) {
  const size_t n = r.relevance.size();
  std::vector<float> max_sim(n, 0.0f);
  auto mmr = [&](size_t i) { return r.lambda * r.relevance[i] - (1 - r.lambda) * max_sim[i]; };
  struct Entry {
    double value;
    size_t index;
    bool operator<(const Entry& o) const {  // max-heap by value; earlier sentence first on ties
      return value != o.value ? value < o.value : index > o.index;
    }
  };
  std::vector<Entry> initial;
  initial.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (i < r.excluded.size() && r.excluded[i]) continue;
    initial.push_back({mmr(i), i});
  }
  std::priority_queue<Entry> heap(std::less<Entry>(), std::move(initial));

  std::vector<size_t> selected;
  size_t used = 0, misfits = 0;
  while (!heap.empty() && selected.size() < r.max_sentences) {
    Entry top = heap.top();
    heap.pop();
    const double current = mmr(top.index);
    if (current < top.value && !heap.empty() && current < heap.top().value) {
      heap.push({current, top.index});  // stale: wait for its turn with the fresh value
      continue;
    }
    const size_t tokens = r.tokens(top.index);
    if (tokens > r.token_budget - used) {
      const bool filled_enough =
          !selected.empty() && double(used) >= r.fill_until * double(r.token_budget);
      if (r.stop_at_first_misfit || filled_enough || ++misfits > r.max_consecutive_misfits) break;
      continue;  // does not fit; a shorter one may
    }
    misfits = 0;
    used += tokens;
    if (used >= r.token_budget) {
      selected.push_back(top.index);
      break;
    }
    selected.push_back(top.index);
    if (r.graph && r.lambda < 1) {
      for (const Edge& e : r.graph->edges[top.index])
        max_sim[e.to] = std::max(max_sim[e.to], e.weight);
    }
  }
  std::sort(selected.begin(), selected.end());
  return selected;
}

}  // namespace refinery::summarize
