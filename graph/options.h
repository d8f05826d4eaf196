// Typed node options: each node type declares an OptionSchema; the pipeline parser turns the YAML
// keys of a node into OptionValues, rejecting unknown keys, wrong types and out-of-range values
// with located messages. Nodes read their values once, at construction, into their own typed
// struct: nothing reads this bag on the hot path.
//
//   OptionSchema schema;
//   schema.Int("max_tokens", 2048, 1, 10'000'000, "token budget for the output")
//         .Enum("strategy", "head", {"head", "tail", "middle"}, "which part to keep");
//   ...
//   int64_t budget = values.Int("max_tokens");
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
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

}  // namespace refinery
