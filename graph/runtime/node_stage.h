// NodeStage: one compiled node's runtime: the Node instance, its cache, its stats, and Run(),
// the wrapper every flow-graph body calls. Shared by all concurrent bodies of that node; the
// Node, the cache and the stats are each safe for concurrent use.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "graph/node.h"
#include "graph/runtime/cache.h"
#include "graph/runtime/cache_key.h"
#include "graph/runtime/tracked_item.h"
#include "graph/runtime/waiting_room.h"
#include "graph/spec/pipeline_spec.h"
#include "graph/stats/node_stats.h"

namespace refinery {

class NodeStage {
 public:
  static StatusOr<std::unique_ptr<NodeStage>> Create(const NodeSpec& spec,
                                                     const std::string& base_dir);

  // Runs the node on the item: checks the fields it requires, serves a cache hit or calls
  // Process and caches its writes, records timing. Never throws: a failure marks the item failed
  // (with this node's id) and returns false.
  bool Run(TrackedItem& item);
  // Runs the node on a batch (from the waiting room): each item is checked and served from the
  // cache on its own; the misses go to the node's ProcessBatch together (grouped by loop pass,
  // since a pass may run differently adjusted options). Each item records the batch's time.
  // Afterwards item->failed() says which items failed. Never throws.
  void RunBatch(const std::vector<TrackedItem*>& items);

  // Fails an item at this node without running it (e.g. its queue could not read its size).
  void FailHere(TrackedItem& item, const std::string& message) {
    item.Fail(spec_.id, message);
    Record(item, 0, false);
  }

  // A parallel group's stage: the item spent `ns` from fan-out to fan-in.
  void RecordGroup(TrackedItem& item, int64_t ns) { Record(item, ns, false); }

  // The node's waiting room (`queue:` in its spec), or null.
  WaitingRoom* room() const { return room_.get(); }

  const NodeSpec& spec() const { return spec_; }
  const FieldIo& io() const { return io_; }
  NodeStats& stats() { return stats_; }
  const NodeStats& stats() const { return stats_; }
  NodeCache* cache() const { return cache_.get(); }

  // A refinement loop adjusts some of this node's options per pass: pass k (the item's
  // iteration) runs an instance built with the adjusted options (made once per pass and kept),
  // whose cache entries are keyed by those options.
  void SetLoopAdjustments(std::vector<LoopAdjust> adjust, int max_passes);

 private:
  struct Instance {
    std::unique_ptr<Node> node;
    std::unique_ptr<CacheKeyBuilder> key_builder;
  };
  explicit NodeStage(const NodeSpec& spec);
  // What Prepare decided for an item that must run: the node (instance) and its cache key.
  struct Prepared {
    Node* node = nullptr;
    CacheKey key;
  };
  // Checks the deadline and required fields, then the cache. Returns false when the item is done
  // here (failed, or served from the cache: *cache_hit).
  bool Prepare(TrackedItem& item, bool* cache_hit, Prepared* out);
  void Store(TrackedItem& item, const Prepared& p);
  void Record(TrackedItem& item, int64_t ns, bool cache_hit);
  const Instance& InstanceFor(int pass);
  StatusOr<Instance> MakeInstance(const OptionValues& options);

  NodeSpec spec_;
  std::string base_dir_;
  std::unique_ptr<Node> node_;
  std::vector<LoopAdjust> adjust_;
  std::vector<std::unique_ptr<Instance>> passes_;  // index = pass; [0] unused (node_)
  std::mutex passes_mu_;
  FieldIo io_;
  std::unique_ptr<NodeCache> cache_;
  std::unique_ptr<WaitingRoom> room_;
  std::unique_ptr<CacheKeyBuilder> key_builder_;
  NodeStats stats_;
  double nanos_per_tick_;
};

}  // namespace refinery
