#include "graph/runtime/node_stage.h"

#include <algorithm>
#include <exception>

#include "graph/internal/cycle_clock.h"
#include "graph/runtime/loop_controller.h"

namespace refinery {

NodeStage::NodeStage(const NodeSpec& spec)
    : spec_(spec), nanos_per_tick_(internal::CycleClock::NanosPerTick()) {}

StatusOr<std::unique_ptr<NodeStage>> NodeStage::Create(const NodeSpec& spec,
                                                       const std::string& base_dir) {
  std::unique_ptr<NodeStage> stage(new NodeStage(spec));
  stage->base_dir_ = base_dir;
  NodeConfig config{spec.id, spec.type, stage->spec_.options, base_dir};
  StatusOr<std::unique_ptr<Node>> node = Status::Internal("factory did not run");
  try {
    node = spec.contract->factory(config);
  } catch (const std::exception& e) {
    node = Status::InvalidArgument(e.what());
  }
  if (!node.ok()) {
    return node.status().WithContext(spec.where.ToString() + ": error: node '" + spec.id + "' (" +
                                     spec.type + ")");
  }
  stage->node_ = std::move(node).value();
  stage->io_ = spec.contract->io(config);
  if (spec.cache.enabled && spec.contract->cacheable && stage->io_.deterministic) {
    stage->cache_ = std::make_unique<NodeCache>(spec.cache);
    std::vector<std::string> reads = stage->io_.reads;
    reads.insert(reads.end(), stage->io_.optional_reads.begin(), stage->io_.optional_reads.end());
    stage->key_builder_ = std::make_unique<CacheKeyBuilder>(
        spec.type, spec.contract->version, spec.options.Canonical(), std::move(reads));
  }
  if (spec.queue.enabled) {
    stage->room_ =
        std::make_unique<WaitingRoom>(spec.queue, spec.concurrency.limit, stage->nanos_per_tick_);
  }
  return stage;
}

void NodeStage::SetLoopAdjustments(std::vector<LoopAdjust> adjust, int max_passes) {
  std::erase_if(adjust, [&](const LoopAdjust& a) { return a.node != spec_.id; });
  adjust_ = std::move(adjust);
  passes_.resize(adjust_.empty() ? 0 : size_t(max_passes));
}

StatusOr<NodeStage::Instance> NodeStage::MakeInstance(const OptionValues& options) {
  NodeConfig config{spec_.id, spec_.type, options, base_dir_};
  StatusOr<std::unique_ptr<Node>> node = spec_.contract->factory(config);
  if (!node.ok()) return node.status();
  Instance inst;
  inst.node = std::move(node).value();
  if (cache_) {
    const FieldIo io = spec_.contract->io(config);
    std::vector<std::string> reads = io.reads;
    reads.insert(reads.end(), io.optional_reads.begin(), io.optional_reads.end());
    inst.key_builder = std::make_unique<CacheKeyBuilder>(spec_.type, spec_.contract->version,
                                                         options.Canonical(), std::move(reads));
  }
  return inst;
}

const NodeStage::Instance& NodeStage::InstanceFor(int pass) {
  std::lock_guard lock(passes_mu_);
  std::unique_ptr<Instance>& slot = passes_[size_t(pass)];
  if (!slot) {
    // The options of this pass; the node was validated with its base options, and adjusted
    // values stay within the declared ranges, so a failure here is a node's own cross-option
    // rule: it fails the items of that pass with the reason.
    StatusOr<Instance> inst = MakeInstance(AdjustedOptions(spec_, adjust_, pass));
    if (!inst.ok())
      throw std::runtime_error("pass " + std::to_string(pass + 1) +
                               " options: " + inst.status().message());
    slot = std::make_unique<Instance>(std::move(inst).value());
  }
  return *slot;
}

bool NodeStage::Prepare(TrackedItem& item, bool* cache_hit, Prepared* out) {
  if (item.deadline_ticks() != 0 && internal::CycleClock::Now() >= item.deadline_ticks()) {
    item.Fail(spec_.id, "deadline passed before the node ran", FailureKind::kDeadline);
    return false;
  }
  if (item.cancelled()) {
    item.Fail(spec_.id, "cancelled by the submitter before the node ran", FailureKind::kCancelled);
    return false;
  }
  for (const std::string& field : io_.reads) {
    if (item.field(field) == nullptr) {
      item.Fail(spec_.id, "missing required field '" + field + "'");
      return false;
    }
  }
  out->node = node_.get();
  CacheKeyBuilder* key_builder = key_builder_.get();
  if (!adjust_.empty() && item.iteration() > 0 && size_t(item.iteration()) < passes_.size()) {
    const Instance& inst = InstanceFor(item.iteration());
    out->node = inst.node.get();
    key_builder = inst.key_builder.get();
  }
  if (cache_) {
    out->key = key_builder->Key(item);
    if (auto hit = cache_->Get(out->key)) {
      for (const auto& [name, value] : hit->fields) item.set_field(name, value);
      *cache_hit = true;
      return false;
    }
  }
  return true;
}

void NodeStage::Store(TrackedItem& item, const Prepared& p) {
  if (!cache_ || item.failed()) return;
  auto out = std::make_shared<CachedOutputs>();
  for (const std::string& name : io_.writes) {
    if (const FieldValue* v = item.field(name)) {
      out->bytes += name.size() + FieldBytes(*v);
      out->fields.emplace_back(name, *v);
    }
  }
  cache_->Put(p.key, std::move(out));
}

void NodeStage::Record(TrackedItem& item, int64_t ns, bool cache_hit) {
  if (item.failed()) stats_.errors.Add();
  stats_.latency.Record(ns);
  item.trace().emplace_back(NodeTiming{spec_.id, ns / 1e3, cache_hit});
}

namespace {
// Runs `body`, turning an exception into `fail(message)`.
template <typename Body, typename Fail>
void Guarded(Body&& body, Fail&& fail) {
  try {
    body();
  } catch (const std::exception& e) {
    fail(e.what());
  } catch (...) {
    fail("unknown exception");
  }
}
}  // namespace

bool NodeStage::Run(TrackedItem& item) {
  const uint64_t t0 = internal::CycleClock::Now();
  bool cache_hit = false;
  Guarded(
      [&] {
        Prepared p;
        if (!Prepare(item, &cache_hit, &p)) return;
        if (spec_.contract->accepts_batches) {
          // A batch of one: such nodes (infer) suspend their task while they wait, and their
          // failures come back in `errors` rather than as an exception thrown on the resumed
          // task's stack (which AddressSanitizer cannot follow across the context switch).
          std::vector<std::string> errors(1);
          p.node->ProcessBatch({&item}, errors);
          if (!errors[0].empty()) {
            item.Fail(spec_.id, errors[0]);
            return;
          }
        } else {
          p.node->Process(item);
        }
        Store(item, p);
      },
      [&](const std::string& message) { item.Fail(spec_.id, message); });
  const uint64_t t1 = internal::CycleClock::Now();
  const int64_t ns = t1 > t0 ? int64_t(double(t1 - t0) * nanos_per_tick_) : 0;
  stats_.busy_ns.Add(ns);
  Record(item, ns, cache_hit);
  return !item.failed();
}

void NodeStage::RunBatch(const std::vector<TrackedItem*>& items) {
  const uint64_t t0 = internal::CycleClock::Now();
  std::vector<char> hits(items.size(), 0);
  // Misses, grouped by the node instance (loop pass) that runs them.
  std::vector<std::pair<Node*, std::vector<size_t>>> groups;
  std::vector<Prepared> prepared(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    TrackedItem& item = *items[i];
    bool hit = false, run = false;
    Guarded([&] { run = Prepare(item, &hit, &prepared[i]); },
            [&](const std::string& message) { item.Fail(spec_.id, message); });
    hits[i] = hit;
    if (!run) continue;
    auto g = std::find_if(groups.begin(), groups.end(),
                          [&](const auto& x) { return x.first == prepared[i].node; });
    if (g == groups.end())
      groups.push_back({prepared[i].node, {i}});
    else
      g->second.push_back(i);
  }
  for (const auto& group : groups) {
    // Named, not a structured binding: the lambdas below capture them (clang 14, which builds
    // the fuzzers, cannot capture structured bindings yet).
    const auto& node = group.first;
    const auto& indices = group.second;
    std::vector<Item*> batch;  // what the node sees
    for (size_t i : indices) batch.push_back(items[i]);
    std::vector<std::string> errors(batch.size());
    Guarded([&] { node->ProcessBatch(batch, errors); },
            [&](const std::string& message) { std::fill(errors.begin(), errors.end(), message); });
    for (size_t k = 0; k < batch.size(); ++k) {
      TrackedItem& item = *items[indices[k]];
      if (!errors[k].empty()) item.Fail(spec_.id, errors[k]);
      Guarded([&] { Store(item, prepared[indices[k]]); }, [](const std::string&) {});
    }
  }
  const uint64_t t1 = internal::CycleClock::Now();
  const int64_t ns = t1 > t0 ? int64_t(double(t1 - t0) * nanos_per_tick_) : 0;
  stats_.busy_ns.Add(ns);
  for (size_t i = 0; i < items.size(); ++i) Record(*items[i], ns, hits[i]);
}

}  // namespace refinery
