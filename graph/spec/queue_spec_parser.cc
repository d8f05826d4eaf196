#include "graph/spec/queue_spec_parser.h"

#include <algorithm>
#include <functional>

#include "graph/internal/did_you_mean.h"
#include "graph/internal/yaml_util.h"

namespace refinery::internal {

namespace {

// Reports keys of `map` not in `allowed`; returns false when `map` is no map.
bool CheckMapKeys(const YAML::Node& map, const std::vector<std::string>& allowed,
                  const std::string& file, const std::string& what, Diagnostics& diags) {
  if (!map.IsMap()) {
    diags.Error(Where(file, map), what + " must be a mapping with " + JoinNames(allowed) +
                                      ", found " + Describe(map));
    return false;
  }
  internal::CheckKeys(map, allowed, file, what + ": unknown key", diags);
  return true;
}

class QueueParser {
 public:
  QueueParser(const std::string& file, const std::string& context, Diagnostics& diags)
      : file_(file), context_(context), diags_(diags) {}

  // A number in [min, max] at map[key], if present.
  void Number(const YAML::Node& map, const std::string& prefix, const char* key, double min,
              double max, double* out) {
    const YAML::Node v = map[key];
    if (!v) return;
    double d;
    if (!v.IsScalar() || !ParseDouble(v.Scalar(), &d) || d < min || d > max) {
      Bad(v, prefix + key, "a number from " + Fmt(min) + " to " + Fmt(max));
      return;
    }
    *out = d;
  }
  void Int(const YAML::Node& map, const std::string& prefix, const char* key, int64_t min,
           int64_t max, int64_t* out) {
    const YAML::Node v = map[key];
    if (!v) return;
    int64_t n;
    if (!v.IsScalar() || !ParseInt(v.Scalar(), &n) || n < min || n > max) {
      Bad(v, prefix + key, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
      return;
    }
    *out = n;
  }
  void Bad(const YAML::Node& v, const std::string& key, const std::string& allowed) {
    diags_.Error(Where(file_, v),
                 context_ + ": " + key + " must be " + allowed + ", found " + Describe(v));
  }
  void Error(const YAML::Node& v, const std::string& message) {
    diags_.Error(Where(file_, v), context_ + ": " + message);
  }
  static std::string Fmt(double d) {
    std::string s = std::to_string(d);
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
    return s;
  }
  const std::string& file() const { return file_; }
  const std::string& context() const { return context_; }
  Diagnostics& diags() { return diags_; }

 private:
  const std::string& file_;
  const std::string& context_;
  Diagnostics& diags_;
};

void ParseAdapt(const YAML::Node& a, QueueParser& p, BatchSpec& batch) {
  static const std::vector<std::string> kKeys = {"enabled",   "target_p95_ms", "min_items",
                                                 "max_items", "min_delay_ms",  "max_delay_ms"};
  if (!CheckMapKeys(a, kKeys, p.file(), p.context() + ": queue.batch.adapt", p.diags())) return;
  batch.adapt = true;
  if (const YAML::Node e = a["enabled"]) {
    if (!e.IsScalar() || !ParseBool(e.Scalar(), &batch.adapt))
      p.Bad(e, "queue.batch.adapt.enabled", "true or false");
  }
  const std::string pre = "queue.batch.adapt.";
  if (!a["target_p95_ms"]) {
    p.Error(a,
            "queue.batch.adapt needs 'target_p95_ms' (the p95 time at this node that the batch "
            "size is tuned to)");
  }
  p.Number(a, pre, "target_p95_ms", 0.001, 1e7, &batch.target_p95_ms);
  int64_t min_items = batch.min_items, max_items = batch.adapt_max_items;
  p.Int(a, pre, "min_items", 1, 4096, &min_items);
  p.Int(a, pre, "max_items", 1, 4096, &max_items);
  batch.min_items = int(min_items);
  batch.adapt_max_items = int(max_items);
  p.Number(a, pre, "min_delay_ms", 0, 1e5, &batch.min_delay_ms);
  p.Number(a, pre, "max_delay_ms", 0, 1e5, &batch.adapt_max_delay_ms);
  if (batch.min_items > batch.adapt_max_items)
    p.Error(a, "queue.batch.adapt: min_items is above max_items");
  if (batch.min_delay_ms > batch.adapt_max_delay_ms)
    p.Error(a, "queue.batch.adapt: min_delay_ms is above max_delay_ms");
}

void ParseBatch(const YAML::Node& b, QueueParser& p, bool accepts_batches, BatchSpec& batch) {
  static const std::vector<std::string> kKeys = {"max_items",  "max_tokens", "max_delay_ms",
                                                 "size_field", "buckets",    "adapt"};
  if (!CheckMapKeys(b, kKeys, p.file(), p.context() + ": queue.batch", p.diags())) return;
  if (!accepts_batches) {
    p.Error(b,
            "this node type does not accept batches (graph-runner nodes lists the types that do); "
            "a queue without 'batch' still orders and times out requests");
    return;
  }
  int64_t max_items = 8, max_tokens = 0;
  p.Int(b, "queue.batch.", "max_items", 1, 4096, &max_items);
  p.Int(b, "queue.batch.", "max_tokens", 1, int64_t(1) << 40, &max_tokens);
  batch.max_items = int(max_items);
  batch.max_tokens = b["max_tokens"] ? max_tokens : 0;
  p.Number(b, "queue.batch.", "max_delay_ms", 0, 1e5, &batch.max_delay_ms);
  if (const YAML::Node f = b["size_field"]) {
    if (!f.IsScalar() || f.Scalar().empty())
      p.Bad(f, "queue.batch.size_field", "a field name");
    else
      batch.size_field = f.Scalar();
  }
  if (const YAML::Node k = b["buckets"]) {
    bool ok = k.IsSequence() && k.size() > 0;
    for (size_t i = 0; ok && i < k.size(); ++i) {
      int64_t n;
      ok = k[i].IsScalar() && ParseInt(k[i].Scalar(), &n) && n > 0 &&
           (batch.buckets.empty() || n > batch.buckets.back());
      if (ok) batch.buckets.push_back(n);
    }
    if (!ok)
      p.Bad(k, "queue.batch.buckets", "a list of ascending positive sizes, e.g. [64, 256, 1024]");
  }
  if ((batch.max_tokens > 0 || !batch.buckets.empty()) && batch.size_field.empty()) {
    p.Error(b,
            "queue.batch: max_tokens and buckets need 'size_field' (the field an item's size is "
            "read from, "
            "e.g. text.tokens)");
  }
  if (const YAML::Node a = b["adapt"]) {
    ParseAdapt(a, p, batch);
    if (batch.adapt) {
      batch.max_items = std::clamp(batch.max_items, batch.min_items, batch.adapt_max_items);
      batch.max_delay_ms =
          std::clamp(batch.max_delay_ms, batch.min_delay_ms, batch.adapt_max_delay_ms);
    }
  }
}

}  // namespace

void ParseQueueSpec(const YAML::Node& node, const std::string& file, const std::string& context,
                    bool accepts_batches, QueueSpec& out, Diagnostics& diags) {
  QueueParser p(file, context, diags);
  out.where = Where(file, node);
  bool on;
  if (node.IsScalar() && ParseBool(node.Scalar(), &on)) {
    out.enabled = on;
    return;
  }
  static const std::vector<std::string> kKeys = {"order", "batch"};
  if (!CheckMapKeys(node, kKeys, file, context + ": queue", diags)) return;
  out.enabled = true;
  if (const YAML::Node o = node["order"]) {
    const std::string s = o.IsScalar() ? o.Scalar() : "";
    if (s == "fifo")
      out.order = QueueSpec::kFifo;
    else if (s == "priority")
      out.order = QueueSpec::kPriority;
    else
      p.Bad(o, "queue.order", "fifo or priority" + DidYouMean(s, {"fifo", "priority"}));
  }
  if (const YAML::Node b = node["batch"]) ParseBatch(b, p, accepts_batches, out.batch);
}

}  // namespace refinery::internal
