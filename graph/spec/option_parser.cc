#include "graph/spec/option_parser.h"

#include <cmath>

#include "graph/internal/did_you_mean.h"
#include "graph/internal/yaml_util.h"

namespace refinery {

using internal::Describe;
using internal::Where;

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
      if (def.non_empty && text.empty()) return fail("must not be empty");
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
          if (def.non_empty && child.Scalar().empty()) {
            diags.Error(Where(file, child), context + ": option '" + def.name +
                                                "' items must not be empty (field names)");
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
          diags.Error(Where(file, kv.second),
                      context + ": option '" + def.name + "' key '" + key +
                          "' must be a number from " + OptionNumberToString(*def.min) + " to " +
                          OptionNumberToString(*def.max) + ", found " + Describe(kv.second));
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
