// Condition: the small, safe expression language of loop conditions. Parsed once at load (with
// the offset of any error), evaluated per item; no code execution, no side effects.
//
//   score.total >= 0.8 and not (summarize.tokens_after > 512)
//   score.pass == 1 || loop.passes >= 3
//
// Grammar: or := and (("or" | "||") and)* ; and := unary (("and" | "&&") unary)* ;
// unary := ("not" | "!") unary | comparison ; comparison := operand (("<" | "<=" | ">" | ">=" |
// "==" | "!=") operand)? ; operand := number | "true" | "false" | field | "(" or ")".
// A field is a name of letters, digits, '_' and '.', read as a number from the item (a missing
// or non-numeric field is an evaluation error naming it). Truth: non-zero.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph/item.h"
#include "graph/status.h"

namespace refinery {

class Condition {
 public:
  // Deepest tree accepted (a chain of `and`/`or` counts one level per operator): parsing,
  // evaluation and destruction recurse this deep, so hostile input cannot exhaust a stack.
  static constexpr int kMaxDepth = 256;

  // Errors say where: "at column N: ..." (1-based within the text).
  static StatusOr<std::shared_ptr<const Condition>> Parse(const std::string& text);
  // Fails (naming the field) when a field is absent or not a number.
  StatusOr<bool> Evaluate(const Item& item) const;
  const std::vector<std::string>& fields() const { return fields_; }
  const std::string& text() const { return text_; }

  struct Node;

 private:
  std::string text_;
  std::shared_ptr<const Node> root_;
  std::vector<std::string> fields_;
};

}  // namespace refinery
