// PromptTemplate: the infer node's `prompt:` (and `system:`) syntax, a template over item
// fields: {name} is the field's text, {{ and }} are literal braces. Checked at load.
#pragma once

#include <string>
#include <vector>

#include "graph/item.h"
#include "graph/status.h"

namespace refinery::nodes {

// A prompt template: literal text and field names, alternating.
struct PromptTemplate {
  std::vector<std::string> literals;  // size = fields + 1
  std::vector<std::string> fields;

  static StatusOr<PromptTemplate> Parse(const std::string& s) {
    PromptTemplate t;
    std::string lit;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '{' && i + 1 < s.size() && s[i + 1] == '{') {
        lit += '{';
        ++i;
      } else if (s[i] == '}' && i + 1 < s.size() && s[i + 1] == '}') {
        lit += '}';
        ++i;
      } else if (s[i] == '{') {
        const size_t close = s.find('}', i);
        if (close == std::string::npos) {
          return Status::InvalidArgument("prompt: '{' at offset " + std::to_string(i) +
                                         " is never closed (write {{ for a brace)");
        }
        const std::string name = s.substr(i + 1, close - i - 1);
        if (name.empty() || name.find_first_of("{ \t\n") != std::string::npos) {
          return Status::InvalidArgument("prompt: '{" + name + "}' at offset " + std::to_string(i) +
                                         " is not a field name");
        }
        t.literals.push_back(std::move(lit));
        lit.clear();
        t.fields.push_back(name);
        i = close;
      } else if (s[i] == '}') {
        return Status::InvalidArgument("prompt: '}' at offset " + std::to_string(i) +
                                       " has no '{' (write }} for a brace)");
      } else {
        lit += s[i];
      }
    }
    t.literals.push_back(std::move(lit));
    return t;
  }

  std::string Render(const Item& item) const {
    std::string out = literals[0];
    for (size_t k = 0; k < fields.size(); ++k) {
      out += *item.text(fields[k]);
      out += literals[k + 1];
    }
    return out;
  }
};

}  // namespace refinery::nodes
