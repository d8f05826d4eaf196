#include "graph/spec/condition.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace refinery {

struct Condition::Node {
  enum Kind { kNumber, kField, kNot, kAnd, kOr, kLt, kLe, kGt, kGe, kEq, kNe } kind = kNumber;
  double number = 0;
  std::string field;
  std::shared_ptr<const Node> a, b;
  int depth = 1;  // of the tree below: parsing, evaluation and destruction all recurse this deep
};

namespace {

using NodePtr = std::shared_ptr<const Condition::Node>;
using N = Condition::Node;

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  StatusOr<NodePtr> Parse(std::vector<std::string>* fields) {
    fields_ = fields;
    NodePtr root = Or();
    if (!error_.empty()) return Status::InvalidArgument(error_);
    Skip();
    if (pos_ < s_.size())
      return Status::InvalidArgument(At(pos_) + "unexpected '" + s_.substr(pos_, 12) + "'");
    return root;
  }

 private:
  std::string At(size_t p) const { return "at column " + std::to_string(p + 1) + ": "; }
  void Fail(size_t p, const std::string& what) {
    if (error_.empty()) error_ = At(p) + what;
  }
  void Skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  // Accepts a symbol, or a word that is not the prefix of a longer name.
  bool Accept(const std::string& tok) {
    Skip();
    if (s_.compare(pos_, tok.size(), tok) != 0) return false;
    if (std::isalpha(static_cast<unsigned char>(tok[0]))) {
      const size_t end = pos_ + tok.size();
      if (end < s_.size() &&
          (std::isalnum(static_cast<unsigned char>(s_[end])) || s_[end] == '_' || s_[end] == '.')) {
        return false;
      }
    }
    pos_ += tok.size();
    return true;
  }
  NodePtr Make(N::Kind k, NodePtr a, NodePtr b = nullptr) {
    auto n = std::make_shared<N>();
    n->kind = k;
    n->depth = 1 + std::max(a ? a->depth : 0, b ? b->depth : 0);
    if (n->depth > Condition::kMaxDepth) {
      TooDeep();
      return std::make_shared<N>();  // the deep subtree is dropped here, one level at a time
    }
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }
  void TooDeep() {
    Fail(pos_, "the condition is nested deeper than " + std::to_string(Condition::kMaxDepth) +
                   " levels (operators and parentheses)");
  }
  // Guards the parser's own recursion ('(' and 'not' recurse before any node exists).
  struct Descent {
    explicit Descent(Parser& p) : p_(p) { ok = ++p_.descent_ <= Condition::kMaxDepth; }
    ~Descent() { --p_.descent_; }
    Parser& p_;
    bool ok;
  };
  NodePtr Or() {
    Descent d(*this);
    if (!d.ok) {
      TooDeep();
      return std::make_shared<N>();
    }
    NodePtr left = And();
    while (error_.empty() && (Accept("or") || Accept("||"))) left = Make(N::kOr, left, And());
    return left;
  }
  NodePtr And() {
    NodePtr left = Unary();
    while (error_.empty() && (Accept("and") || Accept("&&"))) left = Make(N::kAnd, left, Unary());
    return left;
  }
  NodePtr Unary() {
    if (Accept("not") || (Skip(), pos_ < s_.size() && s_[pos_] == '!' &&
                                      (pos_ + 1 >= s_.size() || s_[pos_ + 1] != '=') && ++pos_)) {
      Descent d(*this);
      if (!d.ok) {
        TooDeep();
        return std::make_shared<N>();
      }
      return Make(N::kNot, Unary());
    }
    return Comparison();
  }
  NodePtr Comparison() {
    NodePtr left = Operand();
    static const std::pair<const char*, N::Kind> kOps[] = {{"<=", N::kLe}, {">=", N::kGe},
                                                           {"==", N::kEq}, {"!=", N::kNe},
                                                           {"<", N::kLt},  {">", N::kGt}};
    for (const auto& [op, kind] : kOps) {
      if (Accept(op)) return Make(kind, left, Operand());
    }
    Skip();
    if (pos_ < s_.size() && s_[pos_] == '=') Fail(pos_, "'=' is not an operator (use '==')");
    return left;
  }
  NodePtr Operand() {
    Skip();
    if (pos_ >= s_.size()) {
      Fail(pos_, "expected a number, a field or '(' but the condition ends");
      return Make(N::kNumber, nullptr);
    }
    const char c = s_[pos_];
    if (c == '(') {
      const size_t open = pos_++;
      NodePtr inner = Or();
      if (!Accept(")")) Fail(open, "'(' is never closed");
      return inner;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.') {
      const char* begin = s_.c_str() + pos_;
      char* end = nullptr;
      const double v = std::strtod(begin, &end);
      if (end == begin) {
        Fail(pos_, "expected a number");
        return Make(N::kNumber, nullptr);
      }
      pos_ += size_t(end - begin);
      auto n = std::make_shared<N>();
      n->number = v;
      return n;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const size_t start = pos_;
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) ||
                                  s_[pos_] == '_' || s_[pos_] == '.'))
        ++pos_;
      const std::string name = s_.substr(start, pos_ - start);
      auto n = std::make_shared<N>();
      if (name == "true" || name == "false") {
        n->number = name == "true";
        return n;
      }
      if (name == "and" || name == "or" || name == "not") {
        Fail(start, "expected a number or a field before '" + name + "'");
        return n;
      }
      n->kind = N::kField;
      n->field = name;
      fields_->push_back(name);
      return n;
    }
    Fail(pos_, std::string("unexpected '") + c + "'");
    return Make(N::kNumber, nullptr);
  }

  const std::string& s_;
  size_t pos_ = 0;
  std::string error_;
  std::vector<std::string>* fields_ = nullptr;
  int descent_ = 0;
};

StatusOr<double> Eval(const N& n, const Item& item) {
  auto both = [&](auto&& f) -> StatusOr<double> {
    StatusOr<double> a = Eval(*n.a, item);
    if (!a.ok()) return a;
    StatusOr<double> b = Eval(*n.b, item);
    if (!b.ok()) return b;
    return f(*a, *b);
  };
  switch (n.kind) {
    case N::kNumber:
      return n.number;
    case N::kField: {
      if (auto v = item.number(n.field)) return *v;
      return Status::InvalidArgument("field '" + n.field + "' is not a number on this item");
    }
    case N::kNot: {
      StatusOr<double> a = Eval(*n.a, item);
      if (!a.ok()) return a;
      return *a == 0 ? 1.0 : 0.0;
    }
    case N::kAnd: {  // short-circuit: the right side is not evaluated (nor required) when false
      StatusOr<double> a = Eval(*n.a, item);
      if (!a.ok() || *a == 0) return a.ok() ? StatusOr<double>(0.0) : a;
      StatusOr<double> b = Eval(*n.b, item);
      if (!b.ok()) return b;
      return *b != 0 ? 1.0 : 0.0;
    }
    case N::kOr: {
      StatusOr<double> a = Eval(*n.a, item);
      if (!a.ok() || *a != 0) return a.ok() ? StatusOr<double>(1.0) : a;
      StatusOr<double> b = Eval(*n.b, item);
      if (!b.ok()) return b;
      return *b != 0 ? 1.0 : 0.0;
    }
    case N::kLt:
      return both([](double a, double b) { return double(a < b); });
    case N::kLe:
      return both([](double a, double b) { return double(a <= b); });
    case N::kGt:
      return both([](double a, double b) { return double(a > b); });
    case N::kGe:
      return both([](double a, double b) { return double(a >= b); });
    case N::kEq:
      return both([](double a, double b) { return double(a == b); });
    case N::kNe:
      return both([](double a, double b) { return double(a != b); });
  }
  return 0.0;
}

}  // namespace

StatusOr<std::shared_ptr<const Condition>> Condition::Parse(const std::string& text) {
  auto c = std::make_shared<Condition>();
  c->text_ = text;
  Parser parser(c->text_);
  StatusOr<NodePtr> root = parser.Parse(&c->fields_);
  if (!root.ok()) return root.status();
  c->root_ = *root;
  return std::shared_ptr<const Condition>(std::move(c));
}

StatusOr<bool> Condition::Evaluate(const Item& item) const {
  StatusOr<double> v = Eval(*root_, item);
  if (!v.ok()) return v.status();
  return *v != 0;
}

}  // namespace refinery
