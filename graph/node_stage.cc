#include "graph/node_stage.h"

#include <exception>

#include "graph/internal/cycle_clock.h"

namespace refinery {

NodeStage::NodeStage(const NodeSpec& spec)
    : spec_(spec), nanos_per_tick_(internal::CycleClock::NanosPerTick()) {}

StatusOr<std::unique_ptr<NodeStage>> NodeStage::Create(const NodeSpec& spec,
                                                       const std::string& base_dir) {
  std::unique_ptr<NodeStage> stage(new NodeStage(spec));
  NodeConfig config{spec.id, spec.type, stage->spec_.options, base_dir};
  StatusOr<std::unique_ptr<Node>> node = Status::Internal("factory did not run");
  try {
    node = spec.contract->factory(config);
  } catch (const std::exception& e) {
    node = Status::InvalidArgument(e.what());
  }
  if (!node.ok()) {
    return Status(node.status().code(), spec.where.ToString() + ": error: node '" + spec.id +
                                            "' (" + spec.type + "): " + node.status().message());
  }
  stage->node_ = std::move(node).value();
  stage->io_ = stage->node_->Io();
  if (spec.cache.enabled && spec.contract->cacheable) {
    stage->cache_ = std::make_unique<NodeCache>(spec.cache);
    std::vector<std::string> reads = stage->io_.reads;
    reads.insert(reads.end(), stage->io_.optional_reads.begin(), stage->io_.optional_reads.end());
    stage->key_builder_ = std::make_unique<CacheKeyBuilder>(
        spec.type, spec.contract->version, spec.options.Canonical(), std::move(reads));
  }
  return stage;
}

bool NodeStage::Execute(Item& item, bool* cache_hit) {
  for (const std::string& field : io_.reads) {
    if (item.field(field) == nullptr) {
      item.Fail(spec_.id, "missing required field '" + field + "'");
      return false;
    }
  }
  CacheKey key;
  if (cache_) {
    key = key_builder_->Key(item);
    if (auto hit = cache_->Get(key)) {
      for (const auto& [name, value] : hit->fields) item.set_field(name, value);
      *cache_hit = true;
      return true;
    }
  }
  node_->Process(item);
  if (cache_ && !item.failed()) {
    auto out = std::make_shared<CachedOutputs>();
    for (const std::string& name : io_.writes) {
      if (const FieldValue* v = item.field(name)) {
        out->bytes += name.size() + FieldBytes(*v);
        out->fields.emplace_back(name, *v);
      }
    }
    cache_->Put(key, std::move(out));
  }
  return !item.failed();
}

bool NodeStage::Run(Item& item) {
  const uint64_t t0 = internal::CycleClock::Now();
  bool cache_hit = false;
  bool ok = false;
  try {
    ok = Execute(item, &cache_hit);
  } catch (const std::exception& e) {
    item.Fail(spec_.id, e.what());
  } catch (...) {
    item.Fail(spec_.id, "unknown exception");
  }
  if (!ok && !item.failed()) item.Fail(spec_.id, "node failed without a message");
  const uint64_t t1 = internal::CycleClock::Now();
  const int64_t ns = t1 > t0 ? int64_t(double(t1 - t0) * nanos_per_tick_) : 0;
  if (!ok) stats_.errors.Add();
  stats_.latency.Record(ns);
  item.trace().emplace_back(NodeTiming{spec_.id, ns / 1e3, cache_hit});
  return ok;
}

}  // namespace refinery
