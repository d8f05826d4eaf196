#include "graph/options.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "graph/internal/did_you_mean.h"
#include "graph/internal/yaml_util.h"

namespace refinery {

using internal::Describe;
using internal::Where;

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

namespace {
std::string Number(double d) {
  if (d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
  return OptionValueToString(d);
}
}  // namespace

std::string OptionDef::AllowedText() const {
  switch (type) {
    case OptionType::kBool:
      return "true or false";
    case OptionType::kInt:
      return "an integer from " + Number(*min) + " to " + Number(*max);
    case OptionType::kDouble:
      return "a number from " + Number(*min) + " to " + Number(*max);
    case OptionType::kString:
      return "a string";
    case OptionType::kEnum:
      return "one of " + internal::JoinNames(choices);
    case OptionType::kStringList:
      return choices.empty() ? "a list of strings" : "a list of: " + internal::JoinNames(choices);
    case OptionType::kWeights:
      return "a map from " + internal::JoinNames(choices) + " to numbers from " + Number(*min) +
             " to " + Number(*max);
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

std::optional<OptionValue> ParseOptionValue(const OptionDef& def, const YAML::Node& node,
                                            const std::string& file, const std::string& context,
                                            Diagnostics& diags) {
  auto fail = [&](const std::string& what) -> std::optional<OptionValue> {
    diags.Error(Where(file, node), context + ": option '" + def.name + "' " + what + ", found " +
                                       Describe(node) + "; allowed: " + def.AllowedText());
    return std::nullopt;
  };
  const bool scalar = node.IsScalar();
  const std::string text = scalar ? node.Scalar() : "";
  const bool quoted = internal::IsQuoted(node);
  switch (def.type) {
    case OptionType::kBool: {
      bool b;
      if (!scalar || quoted || !internal::ParseBool(text, &b)) return fail("must be true or false");
      return b;
    }
    case OptionType::kInt: {
      int64_t i;
      if (!scalar || quoted || !internal::ParseInt(text, &i)) return fail("must be an integer");
      if (i < *def.min || i > *def.max) return fail("is out of range");
      return i;
    }
    case OptionType::kDouble: {
      double d;
      if (!scalar || quoted || !internal::ParseDouble(text, &d)) return fail("must be a number");
      if (d < *def.min || d > *def.max) return fail("is out of range");
      return d;
    }
    case OptionType::kString:
      if (!scalar) return fail("must be a string");
      return text;
    case OptionType::kEnum: {
      if (!scalar) return fail("must be a string");
      for (const std::string& c : def.choices) {
        if (c == text) return text;
      }
      diags.Error(Where(file, node), context + ": option '" + def.name + "' has unknown value '" +
                                         text + "'" + internal::DidYouMean(text, def.choices) +
                                         " (allowed: " + internal::JoinNames(def.choices) + ")");
      return std::nullopt;
    }
    case OptionType::kStringList: {
      std::vector<std::string> items;
      if (scalar && !text.empty()) {
        items.push_back(text);  // a single value is a list of one
      } else if (node.IsSequence()) {
        for (const YAML::Node& child : node) {
          if (!child.IsScalar()) {
            diags.Error(Where(file, child), context + ": option '" + def.name +
                                                "' items must be strings, found " +
                                                Describe(child));
            return std::nullopt;
          }
          items.push_back(child.Scalar());
        }
      } else {
        return fail("must be a list of strings");
      }
      bool ok = true;
      if (!def.choices.empty()) {
        size_t index = 0;
        for (const std::string& item : items) {
          bool known = false;
          for (const std::string& c : def.choices) known = known || c == item;
          if (!known) {
            const YAML::Node where = node.IsSequence() ? node[index] : node;
            diags.Error(Where(file, where),
                        context + ": option '" + def.name + "' has unknown item '" + item + "'" +
                            internal::DidYouMean(item, def.choices) +
                            " (allowed: " + internal::JoinNames(def.choices) + ")");
            ok = false;
          }
          ++index;
        }
      }
      if (!ok) return std::nullopt;
      return items;
    }
    case OptionType::kWeights: {
      if (!node.IsMap()) return fail("must be a map of name: number");
      Weights weights;
      bool ok = true;
      for (const auto& kv : node) {
        const std::string key = kv.first.Scalar();
        bool known = false;
        for (const std::string& c : def.choices) known = known || c == key;
        double d;
        if (!known) {
          diags.Error(Where(file, kv.first),
                      context + ": option '" + def.name + "' has unknown key '" + key + "'" +
                          internal::DidYouMean(key, def.choices) +
                          " (allowed: " + internal::JoinNames(def.choices) + ")");
          ok = false;
        } else if (!kv.second.IsScalar() || internal::IsQuoted(kv.second) ||
                   !internal::ParseDouble(kv.second.Scalar(), &d) || d < *def.min || d > *def.max) {
          diags.Error(Where(file, kv.second), context + ": option '" + def.name + "' key '" + key +
                                                  "' must be a number from " + Number(*def.min) +
                                                  " to " + Number(*def.max) + ", found " +
                                                  Describe(kv.second));
          ok = false;
        } else {
          weights[key] = d;
        }
      }
      if (!ok) return std::nullopt;
      return weights;
    }
  }
  return std::nullopt;
}

}  // namespace refinery
