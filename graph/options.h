// Typed node options. A node type declares each option once, bound to a member of its own options
// struct: name, member, default, range or choices, doc. The pipeline parser turns the YAML keys of
// a node into OptionValues (unknown keys, wrong types and out-of-range values are located
// errors); the node's factory then receives the struct, filled. No node reads options by name,
// so a misspelt key cannot compile.
//
//   struct CutOptions {
//     int64_t max_tokens;
//     std::string strategy;
//   };
//   OptionBinding<CutOptions> bind(schema);
//   bind.Int("max_tokens", &CutOptions::max_tokens, 2048, 1, 10'000'000, "token budget")
//       .Enum("strategy", &CutOptions::strategy, "head", {"head", "tail"}, "which part to keep");
//   CutOptions o = bind.filler().Fill(values);
//
// node.h's BoundContract does this for a node type; OptionSchema alone declares options that are
// not bound (nothing built in does that).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace refinery {

enum class OptionType { kBool, kInt, kDouble, kString, kEnum, kStringList, kWeights };
const char* OptionTypeName(OptionType type);

// kWeights: a map from names (the declared choices) to numbers, e.g. {rouge1: 0.3, coverage: 0.2}.
using Weights = std::map<std::string, double>;
using OptionValue =
    std::variant<bool, int64_t, double, std::string, std::vector<std::string>, Weights>;
std::string OptionValueToString(const OptionValue& value);
// A bound as messages show it: 3, 0.5, 1e+20.
std::string OptionNumberToString(double d);

struct OptionDef {
  std::string name;
  OptionType type = OptionType::kString;
  OptionValue default_value;
  std::string doc;
  std::optional<double> min;         // kInt, kDouble
  std::optional<double> max;         // kInt, kDouble
  std::vector<std::string> choices;  // kEnum; kStringList items when non-empty; kWeights keys
  bool required = false;             // no default: the pipeline must set it
  bool non_empty = false;            // kString, kStringList items: "" is refused (field names)

  // "integer in [1, 100]", "one of head|tail", ... for messages and `graph-runner nodes`.
  std::string AllowedText() const;
};

class OptionSchema {
 public:
  OptionSchema& Bool(std::string name, bool def, std::string doc);
  OptionSchema& Int(std::string name, int64_t def, int64_t min, int64_t max, std::string doc);
  OptionSchema& Double(std::string name, double def, double min, double max, std::string doc);
  OptionSchema& String(std::string name, std::string def, std::string doc);
  OptionSchema& Enum(std::string name, std::string def, std::vector<std::string> choices,
                     std::string doc);
  OptionSchema& StringList(std::string name, std::vector<std::string> def,
                           std::vector<std::string> choices, std::string doc);
  // Names (from `keys`) mapped to numbers in [min, max].
  OptionSchema& WeightMap(std::string name, Weights def, std::vector<std::string> keys, double min,
                          double max, std::string doc);
  // Marks the last declared option as required (its default is ignored).
  OptionSchema& Required();
  // Marks the last declared option (a string or list of strings) as refusing "" (field names).
  OptionSchema& NonEmpty();

  const OptionDef* Find(const std::string& name) const;
  const std::vector<OptionDef>& defs() const { return defs_; }
  std::vector<std::string> Names() const;

 private:
  std::vector<OptionDef> defs_;
};

class OptionValues {
 public:
  bool Bool(const std::string& name) const { return std::get<bool>(Get(name)); }
  int64_t Int(const std::string& name) const { return std::get<int64_t>(Get(name)); }
  double Double(const std::string& name) const { return std::get<double>(Get(name)); }
  const std::string& String(const std::string& name) const {
    return std::get<std::string>(Get(name));
  }
  const std::vector<std::string>& StringList(const std::string& name) const {
    return std::get<std::vector<std::string>>(Get(name));
  }
  const Weights& WeightMap(const std::string& name) const { return std::get<Weights>(Get(name)); }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  const OptionValue& Get(const std::string& name) const;
  void Set(const std::string& name, OptionValue value) { values_[name] = std::move(value); }
  const std::map<std::string, OptionValue>& all() const { return values_; }

  // Stable text of every value, sorted by name: part of a node's cache key.
  std::string Canonical() const;

 private:
  std::map<std::string, OptionValue> values_;
};

// Fills an options struct T from validated OptionValues: one step per bound option. Cheap to copy
// (shared steps), so factories capture it by value.
template <typename T>
class OptionFiller {
 public:
  using Step = std::function<void(const OptionValues&, T&)>;
  T Fill(const OptionValues& values) const {
    T out{};
    FillInto(values, out);
    return out;
  }
  // Sets only the bound members of `out` (several groups may bind into one struct).
  void FillInto(const OptionValues& values, T& out) const {
    for (const Step& step : *steps_) step(values, out);
  }
  void Add(Step step) { steps_->push_back(std::move(step)); }

 private:
  std::shared_ptr<std::vector<Step>> steps_ = std::make_shared<std::vector<Step>>();
};

// Declares options in `schema` and binds each to a member of T (see the top of this file).
template <typename T>
class OptionBinding {
 public:
  explicit OptionBinding(OptionSchema& schema) : schema_(&schema) {}

  OptionBinding& Bool(std::string name, bool T::*member, bool def, std::string doc) {
    schema_->Bool(name, def, std::move(doc));
    return Bind(std::move(name), member,
                [](const OptionValues& v, const std::string& n) { return v.Bool(n); });
  }
  // Any integer member (int, int64_t, size_t ...): the range keeps the value representable.
  template <typename M>
  OptionBinding& Int(std::string name, M T::*member, int64_t def, int64_t min, int64_t max,
                     std::string doc) {
    schema_->Int(name, def, min, max, std::move(doc));
    return Bind(std::move(name), member, [](const OptionValues& v, const std::string& n) {
      return static_cast<M>(v.Int(n));
    });
  }
  // A double or float member.
  template <typename M>
  OptionBinding& Double(std::string name, M T::*member, double def, double min, double max,
                        std::string doc) {
    schema_->Double(name, def, min, max, std::move(doc));
    return Bind(std::move(name), member, [](const OptionValues& v, const std::string& n) {
      return static_cast<M>(v.Double(n));
    });
  }
  OptionBinding& String(std::string name, std::string T::*member, std::string def,
                        std::string doc) {
    schema_->String(name, std::move(def), std::move(doc));
    return Bind(std::move(name), member,
                [](const OptionValues& v, const std::string& n) { return v.String(n); });
  }
  OptionBinding& Enum(std::string name, std::string T::*member, std::string def,
                      std::vector<std::string> choices, std::string doc) {
    schema_->Enum(name, std::move(def), std::move(choices), std::move(doc));
    return Bind(std::move(name), member,
                [](const OptionValues& v, const std::string& n) { return v.String(n); });
  }
  // A choice stored as the caller's own type (usually an enum): each name maps to a value.
  template <typename E>
  OptionBinding& Enum(std::string name, E T::*member, std::string def,
                      std::vector<std::pair<std::string, E>> choices, std::string doc) {
    std::vector<std::string> names;
    for (const auto& [choice, value] : choices) names.push_back(choice);
    schema_->Enum(name, std::move(def), std::move(names), std::move(doc));
    return Bind(std::move(name), member,
                [choices = std::move(choices)](const OptionValues& v, const std::string& n) {
                  const std::string& chosen = v.String(n);
                  for (const auto& [choice, value] : choices) {
                    if (choice == chosen) return value;
                  }
                  return choices.front().second;  // unreachable: validation checked the name
                });
  }
  OptionBinding& StringList(std::string name, std::vector<std::string> T::*member,
                            std::vector<std::string> def, std::vector<std::string> choices,
                            std::string doc) {
    schema_->StringList(name, std::move(def), std::move(choices), std::move(doc));
    return Bind(std::move(name), member,
                [](const OptionValues& v, const std::string& n) { return v.StringList(n); });
  }
  OptionBinding& WeightMap(std::string name, Weights T::*member, Weights def,
                           std::vector<std::string> keys, double min, double max, std::string doc) {
    schema_->WeightMap(name, std::move(def), std::move(keys), min, max, std::move(doc));
    return Bind(std::move(name), member,
                [](const OptionValues& v, const std::string& n) { return v.WeightMap(n); });
  }
  // Marks the last declared option as required (its default is ignored).
  OptionBinding& Required() {
    schema_->Required();
    return *this;
  }
  // Marks the last declared string option as refusing "" (a field name).
  OptionBinding& NonEmpty() {
    schema_->NonEmpty();
    return *this;
  }
  // Options kept in a struct of their own (shared by several node types, like the tokenizer
  // encoding, or a library's settings): `declare` binds them into the member. A member may take
  // several groups, so the options keep the order a reader expects.
  template <typename S>
  OptionBinding& Group(S T::*member, void (*declare)(OptionBinding<S>&)) {
    OptionBinding<S> inner(*schema_);
    declare(inner);
    filler_.Add([member, fill = inner.filler()](const OptionValues& v, T& out) {
      fill.FillInto(v, out.*member);
    });
    return *this;
  }

  const OptionFiller<T>& filler() const { return filler_; }

 private:
  template <typename M, typename Read>
  OptionBinding& Bind(std::string name, M T::*member, Read read) {
    filler_.Add([name = std::move(name), member, read](const OptionValues& v, T& out) {
      out.*member = read(v, name);
    });
    return *this;
  }

  OptionSchema* schema_;
  OptionFiller<T> filler_;
};

}  // namespace refinery
