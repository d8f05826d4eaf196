// PipelineSpec: a validated pipeline, ready to compile. Produced only by LoadPipeline
// (pipeline_loader.h), which reports every problem of the file first.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/node.h"
#include "graph/options.h"
#include "graph/spec/condition.h"
#include "graph/spec/diagnostics.h"

namespace refinery {

struct CacheSpec {
  bool enabled = true;
  int64_t capacity = 10'000;       // entries
  int64_t max_bytes = 64ll << 20;  // approximate bytes of cached outputs
  double ttl_seconds = 0;          // 0 = entries never expire
};

// A waiting room in front of a node (`queue:` in YAML; graph/runtime/waiting_room.h): items wait
// there rather than in the flow graph's FIFO, so the room decides who runs next (priority), fails
// requests whose deadline passes while they wait, and hands the node batches.
struct BatchSpec {
  int max_items = 1;        // flush a batch at this many items (1: no batching)
  int64_t max_tokens = 0;   // ... or at this total size (0: no limit); needs size_field
  double max_delay_ms = 5;  // ... or when its oldest item has waited this long
  std::string size_field;   // an item's size: token ids -> count, number -> value, text -> bytes
  std::vector<int64_t> buckets;  // ascending size bounds; a batch holds items of one bucket
  // Adaptation: grow max_items / max_delay_ms while the p95 time items spend at this node
  // (waiting + running) stays under the target, shrink them when it does not.
  bool adapt = false;
  double target_p95_ms = 0;
  int min_items = 1, adapt_max_items = 64;
  double min_delay_ms = 0, adapt_max_delay_ms = 50;
};

struct QueueSpec {
  bool enabled = false;
  enum Order { kFifo, kPriority } order = kFifo;
  BatchSpec batch;
  SourceLocation where;
};

// Parallel alternatives (a `parallel:` entry in `nodes:`): every branch runs on its own copy of
// the item at the same time; the copy whose `metric` is best continues as the item.
struct ParallelSpec {
  std::vector<std::string> metrics;  // keep_best, per branch: the numeric field compared
  bool lowest = false;               // keep: lowest (default: highest)
  std::vector<std::string> names;    // branch names, in file order (ties go to the first)
  std::vector<std::vector<size_t>>
      branches;  // each branch's nodes: indices into PipelineSpec::nodes
};

struct NodeSpec {
  std::string id;
  std::string type;
  const NodeContract* contract = nullptr;
  Concurrency concurrency;
  CacheSpec cache;  // cache.enabled is false for non-cacheable types
  QueueSpec queue;  // waiting room in front of the node (off by default)
  std::shared_ptr<const ParallelSpec> parallel;  // set on a parallel group (type "parallel")
  std::string group;     // for a node inside a group's branch: the group's id
  OptionValues options;  // every declared option, defaults filled in
  SourceLocation where;
};

struct EdgeSpec {
  std::string from;
  std::string to;
  SourceLocation where;     // where `from` is written
  SourceLocation to_where;  // where `to` is written
};

// One per-pass change of a node option inside a loop: pass k (0-based) runs the node with
// option = base + k*value (add), base * value^k (mul), clamped to the option's declared range.
struct LoopAdjust {
  std::string node;
  std::string option;
  enum Op { kAdd, kMul } op = kAdd;
  double value = 0;
  SourceLocation where;
};

// A refinement loop: after `from` runs, the item goes back to `to` until `until` holds or a stop
// rule fires. See docs/pipeline-format.md.
struct LoopSpec {
  std::string from, to;
  std::shared_ptr<const Condition> until;
  int max_iterations = 3;     // passes, including the first
  std::string metric;         // the score to keep the best pass by (and for min_delta)
  double min_delta = 0;       // stop when the metric improved less than this (0: off)
  std::string budget_field;   // numeric field summed over passes (e.g. tokens spent)
  double budget = 0;          // stop when the sum reaches this (0: off)
  double time_budget_ms = 0;  // stop when the request is this old (0: off)
  enum OnExhausted { kBest, kLast, kError } on_exhausted = kBest;
  bool adapt = false;  // learn a starting pass per request type (graph/runtime/loop_adaptation.h)
  std::vector<LoopAdjust> adjust;
  SourceLocation where;
  // Where `until`, `metric` and `budget_field` are written: errors about the fields they name
  // point there.
  SourceLocation until_where, metric_where, budget_field_where;
};

struct PipelineSpec {
  std::string file;      // path, or a name for pipelines loaded from a string
  std::string base_dir;  // for relative paths in node options
  std::string name;
  std::string version;
  std::string description;
  int64_t max_in_flight = 64;
  std::vector<NodeSpec> nodes;  // in file order; a group's branch nodes follow the group
  std::vector<EdgeSpec> edges;  // expanded from chains
  std::vector<LoopSpec> loops;  // at most one in this version
  // Execution order: a topological order of the edges, ties broken by node id so that the
  // result never depends on the order nodes are declared in.
  std::vector<size_t> order;

  const NodeSpec* FindNode(const std::string& id) const;
};

}  // namespace refinery
