// The node contract: what a node type declares, and the interface its instances implement.
//
// A node type is a NodeContract (name, typed options, fields read and written as a function of
// the node's id and options, default concurrency, cacheability, version) plus a factory. It
// registers itself with REFINERY_REGISTER_NODE (registry.h); a service registers its own types the
// same way. BoundContract<Options> writes the contract from the node's options struct:
//
//   struct UpperOptions {
//     std::string field;
//   };
//   class Upper : public refinery::Node {
//    public:
//     explicit Upper(const UpperOptions& o) : field_(o.field) {}
//     void Process(refinery::Item& item) const override {
//       std::string s = *item.text(field_);
//       for (char& ch : s) ch = std::toupper(ch);
//       item.set_text(field_, std::move(s));
//     }
//    private:
//     std::string field_;
//   };
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "graph/item.h"
#include "graph/options.h"
#include "graph/status.h"

namespace refinery {

// How many items a node may process at once: 1 (serial), N, or 0 (unlimited).
struct Concurrency {
  int limit = 0;
  static Concurrency Serial() { return {1}; }
  static Concurrency Unlimited() { return {0}; }
  static Concurrency Limited(int n) { return {n}; }
  std::string ToString() const;
};

// The item fields an instance touches. `reads` must be present (the engine fails the item with a
// clear message otherwise); `optional_reads` are used when present. Both go into the cache key;
// `writes` are what a cache hit restores.
struct FieldIo {
  std::vector<std::string> reads;
  std::vector<std::string> optional_reads;
  std::vector<std::string> writes;
  // Numeric fields written that the run report aggregates (mean and bootstrap interval).
  std::vector<std::string> metrics;
  // Token accounting per request type (graph/monitor): numeric fields holding the tokens this
  // node took in and put out. A request's tokens in are the first node's (in execution order)
  // that wrote them, its tokens out the last one's; `saves_tokens` nodes (truncate, summarize)
  // add in - out to the tokens saved.
  std::string tokens_in;
  std::string tokens_out;
  bool saves_tokens = false;
  // A numeric field holding what this node's work cost (a remote call's price): summed per
  // request type into the run report and Prometheus (refinery_cost_total).
  std::string cost;
  // False when this instance's output may differ between calls with the same inputs (sampling
  // on a remote server): the engine then keeps no cache for it, whatever the type allows.
  bool deterministic = true;
};

// What a factory gets: the node's id and its validated options (defaults filled in).
struct NodeConfig {
  std::string id;
  std::string type;
  const OptionValues& options;
  std::string base_dir;  // directory of the pipeline file, for relative paths in options
};

class Node {
 public:
  virtual ~Node() = default;
  // Processes one item. The engine calls it concurrently (up to the node's concurrency) on
  // different items with the same Node object, so it must not mutate shared state without a
  // stated rule. Throw std::exception to fail this item only: the engine records the message with
  // the node id and the item leaves by the error path; the stream continues.
  virtual void Process(Item& item) const = 0;
  // Processes a batch gathered by the node's waiting room (`queue: {batch: ...}`; only for types
  // whose contract sets accepts_batches). Writing errors[i] (sized like items, all empty on
  // entry) fails item i alone; throwing fails the whole batch. The default runs Process on each
  // item; a type accepts batches because its override does better (infer decodes them together).
  virtual void ProcessBatch(const std::vector<Item*>& items,
                            std::vector<std::string>& errors) const;
};

using NodeFactory = std::function<StatusOr<std::unique_ptr<Node>>(const NodeConfig&)>;

struct NodeContract {
  std::string type;           // the `type:` value in YAML
  std::string summary;        // one line for `graph-runner nodes`
  std::string version = "1";  // bump when output changes: it is part of the cache key
  OptionSchema options;       // typed options with defaults
  std::string reads;          // human description of fields read (for listings)
  std::string writes;         // human description of fields written
  Concurrency default_concurrency = Concurrency::Unlimited();
  bool cacheable = true;         // deterministic in (options, fields read)
  bool accepts_batches = false;  // a `queue: {batch: ...}` may hand it batches (ProcessBatch)
  // The fields a node with this id and these options touches (required). A function of the
  // config, not of a built node, so validation checks the fields loops and groups name before
  // any node (a model, a vocabulary) is built. Called only with options that passed validation.
  std::function<FieldIo(const NodeConfig&)> io;
  NodeFactory factory;
  // Optional: rules across options ("set exactly one of a, b"), checked during validation with
  // the node's location. Returns one message per problem.
  std::function<std::vector<std::string>(const OptionValues&)> check;
};

// A node type whose options are bound to the struct Options (graph/options.h): declare each option
// once with `bind`, and write `fields` and `make` (and `check_options`, for rules across options)
// against the filled struct; Finish() returns the NodeContract to register.
//
//   REFINERY_REGISTER_NODE(upper) {
//     refinery::BoundContract<UpperOptions> c;
//     c.type = "upper";
//     c.summary = "upper-cases a field";
//     c.bind.String("field", &UpperOptions::field, "text", "field to change");
//     c.fields = [](const refinery::NodeConfig&, const UpperOptions& o) {
//       return refinery::FieldIo{{o.field}, {}, {o.field}};
//     };
//     c.make = refinery::Construct<Upper, UpperOptions>();
//     return c.Finish();
//   }
template <typename Options>
struct BoundContract : NodeContract {
  using Make = std::function<StatusOr<std::unique_ptr<Node>>(const NodeConfig&, const Options&)>;

  BoundContract() : bind(options) {}
  BoundContract(const BoundContract&) = delete;  // `bind` points at this object's schema
  BoundContract& operator=(const BoundContract&) = delete;

  OptionBinding<Options> bind;
  std::function<FieldIo(const NodeConfig&, const Options&)> fields;
  Make make;
  std::function<std::vector<std::string>(const Options&)> check_options;

  NodeContract Finish() {
    NodeContract c = static_cast<const NodeContract&>(*this);
    const OptionFiller<Options> fill = bind.filler();
    if (fields) {
      c.io = [fill, f = fields](const NodeConfig& n) { return f(n, fill.Fill(n.options)); };
    }
    if (make) {
      c.factory = [fill, f = make](const NodeConfig& n) { return f(n, fill.Fill(n.options)); };
    }
    if (check_options) {
      c.check = [fill, f = check_options](const OptionValues& v) { return f(fill.Fill(v)); };
    }
    return c;
  }
};

// `make` for a node constructed from its options alone, or from (NodeConfig, Options).
template <typename T, typename Options>
typename BoundContract<Options>::Make Construct() {
  return [](const NodeConfig& config, const Options& o) -> StatusOr<std::unique_ptr<Node>> {
    if constexpr (std::is_constructible_v<T, const NodeConfig&, const Options&>) {
      return std::unique_ptr<Node>(std::make_unique<T>(config, o));
    } else {
      return std::unique_ptr<Node>(std::make_unique<T>(o));
    }
  };
}

// For a node type without options: constructs T from the NodeConfig.
template <typename T>
NodeFactory MakeFactory() {
  return [](const NodeConfig& config) -> StatusOr<std::unique_ptr<Node>> {
    return std::unique_ptr<Node>(std::make_unique<T>(config));
  };
}

}  // namespace refinery
