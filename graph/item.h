// Item (public): what a node sees of a request while it processes it - its id, type, priority,
// which refinement pass it is on, and its fields. The engine's own per-item state (admission slot,
// failure, timings, loop record, parallel fan-out) lives in TrackedItem
// (graph/runtime/tracked_item.h), which derives from Item; nodes never see it.
//
// One item is processed by one node at a time: a node body may read and write the item freely
// without locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace refinery {

using TokenIds = std::vector<int32_t>;

// A field is text, token ids or a number (scores, counts). Names are free-form; the conventions
// are `text`, `reference`, `output`, `<field>.tokens`, `<node>.<metric>`.
using FieldValue = std::variant<std::string, TokenIds, double>;
using FieldMap = std::map<std::string, FieldValue, std::less<>>;

// Time one node spent on the item, in the order the nodes ran.
struct NodeTiming {
  std::string node;
  double micros = 0;
  bool cache_hit = false;
};

class Item {
 public:
  explicit Item(std::string id, std::string type = "", int32_t priority = 0);
  virtual ~Item() = default;
  Item(const Item&) = delete;
  Item& operator=(const Item&) = delete;

  const std::string& id() const { return id_; }
  const std::string& type() const { return type_; }
  int32_t priority() const { return priority_; }
  // The refinement pass this item is on (0 outside loops and on a loop's first pass).
  int iteration() const { return iteration_; }
  // Time left before the request's deadline (nullopt: it has none; zero: it has passed). A node
  // that waits on something slow, such as a remote call, bounds the wait by it.
  virtual std::optional<std::chrono::nanoseconds> time_left() const { return std::nullopt; }

  // Typed field access. A getter returns null/nullopt when the field is absent or of another kind.
  const std::string* text(std::string_view name) const;
  const TokenIds* tokens(std::string_view name) const;
  std::optional<double> number(std::string_view name) const;
  void set_text(std::string name, std::string value) {
    fields_[std::move(name)] = std::move(value);
  }
  void set_tokens(std::string name, TokenIds value) { fields_[std::move(name)] = std::move(value); }
  void set_number(std::string name, double value) { fields_[std::move(name)] = value; }
  void set_field(std::string name, FieldValue value) {
    fields_[std::move(name)] = std::move(value);
  }
  const FieldValue* field(std::string_view name) const;
  const FieldMap& fields() const { return fields_; }
  void set_fields(FieldMap fields) { fields_ = std::move(fields); }
  FieldMap TakeFields() { return std::move(fields_); }

 protected:
  int iteration_ = 0;

 private:
  std::string id_;
  std::string type_;
  int32_t priority_;
  FieldMap fields_;
};

// Approximate heap bytes of a field value (for cache byte budgets).
size_t FieldBytes(const FieldValue& value);

}  // namespace refinery
