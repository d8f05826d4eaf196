#include "graph/options.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "graph/internal/did_you_mean.h"

namespace refinery {

const char* OptionTypeName(OptionType type) {
  switch (type) {
    case OptionType::kBool:
      return "bool";
    case OptionType::kInt:
      return "int";
    case OptionType::kDouble:
      return "number";
    case OptionType::kString:
      return "string";
    case OptionType::kEnum:
      return "enum";
    case OptionType::kStringList:
      return "list of strings";
    case OptionType::kWeights:
      return "map of weights";
  }
  return "?";
}

std::string OptionValueToString(const OptionValue& value) {
  struct Visitor {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      std::ostringstream os;
      os.precision(17);
      os << d;
      return os.str();
    }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const std::vector<std::string>& v) const {
      return "[" + internal::JoinNames(v) + "]";
    }
    std::string operator()(const Weights& w) const {
      std::string out = "{";
      for (const auto& [k, v] : w) out += (out.size() > 1 ? ", " : "") + k + ": " + (*this)(v);
      return out + "}";
    }
  };
  return std::visit(Visitor{}, value);
}

std::string OptionNumberToString(double d) {
  if (d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
  return OptionValueToString(d);
}

std::string OptionDef::AllowedText() const {
  switch (type) {
    case OptionType::kBool:
      return "true or false";
    case OptionType::kInt:
      return "an integer from " + OptionNumberToString(*min) + " to " + OptionNumberToString(*max);
    case OptionType::kDouble:
      return "a number from " + OptionNumberToString(*min) + " to " + OptionNumberToString(*max);
    case OptionType::kString:
      return non_empty ? "a non-empty string" : "a string";
    case OptionType::kEnum:
      return "one of " + internal::JoinNames(choices);
    case OptionType::kStringList:
      if (!choices.empty()) return "a list of: " + internal::JoinNames(choices);
      return non_empty ? "a list of non-empty strings" : "a list of strings";
    case OptionType::kWeights:
      return "a map from " + internal::JoinNames(choices) + " to numbers from " +
             OptionNumberToString(*min) + " to " + OptionNumberToString(*max);
  }
  return "";
}

OptionSchema& OptionSchema::Bool(std::string name, bool def, std::string doc) {
  defs_.push_back({std::move(name), OptionType::kBool, def, std::move(doc)});
  return *this;
}
OptionSchema& OptionSchema::Int(std::string name, int64_t def, int64_t min, int64_t max,
                                std::string doc) {
  defs_.push_back(
      {std::move(name), OptionType::kInt, def, std::move(doc), double(min), double(max)});
  return *this;
}
OptionSchema& OptionSchema::Double(std::string name, double def, double min, double max,
                                   std::string doc) {
  defs_.push_back({std::move(name), OptionType::kDouble, def, std::move(doc), min, max});
  return *this;
}
OptionSchema& OptionSchema::String(std::string name, std::string def, std::string doc) {
  defs_.push_back({std::move(name), OptionType::kString, std::move(def), std::move(doc)});
  return *this;
}
OptionSchema& OptionSchema::Enum(std::string name, std::string def,
                                 std::vector<std::string> choices, std::string doc) {
  OptionDef d{std::move(name), OptionType::kEnum, std::move(def), std::move(doc)};
  d.choices = std::move(choices);
  defs_.push_back(std::move(d));
  return *this;
}
OptionSchema& OptionSchema::StringList(std::string name, std::vector<std::string> def,
                                       std::vector<std::string> choices, std::string doc) {
  OptionDef d{std::move(name), OptionType::kStringList, std::move(def), std::move(doc)};
  d.choices = std::move(choices);
  defs_.push_back(std::move(d));
  return *this;
}
OptionSchema& OptionSchema::WeightMap(std::string name, Weights def, std::vector<std::string> keys,
                                      double min, double max, std::string doc) {
  OptionDef d{std::move(name), OptionType::kWeights, std::move(def), std::move(doc), min, max};
  d.choices = std::move(keys);
  defs_.push_back(std::move(d));
  return *this;
}
OptionSchema& OptionSchema::NonEmpty() {
  if (!defs_.empty()) defs_.back().non_empty = true;
  return *this;
}
OptionSchema& OptionSchema::Required() {
  if (!defs_.empty()) defs_.back().required = true;
  return *this;
}

const OptionDef* OptionSchema::Find(const std::string& name) const {
  for (const OptionDef& d : defs_) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::vector<std::string> OptionSchema::Names() const {
  std::vector<std::string> names;
  for (const OptionDef& d : defs_) names.push_back(d.name);
  return names;
}

const OptionValue& OptionValues::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("option '" + name + "' was not declared");
  return it->second;
}

std::string OptionValues::Canonical() const {
  std::string out;
  for (const auto& [name, value] : values_) {
    out += name;
    out += '=';
    out += std::to_string(value.index());
    out += ':';
    out += OptionValueToString(value);
    out += '\n';
  }
  return out;
}

}  // namespace refinery
