#include "graph/item.h"

namespace refinery {

Item::Item(std::string id, std::string type, int32_t priority)
    : id_(std::move(id)), type_(std::move(type)), priority_(priority) {}

const FieldValue* Item::field(std::string_view name) const {
  auto it = fields_.find(name);
  return it == fields_.end() ? nullptr : &it->second;
}

const std::string* Item::text(std::string_view name) const {
  const FieldValue* v = field(name);
  return v ? std::get_if<std::string>(v) : nullptr;
}

const TokenIds* Item::tokens(std::string_view name) const {
  const FieldValue* v = field(name);
  return v ? std::get_if<TokenIds>(v) : nullptr;
}

std::optional<double> Item::number(std::string_view name) const {
  const FieldValue* v = field(name);
  if (v == nullptr) return std::nullopt;
  if (const double* d = std::get_if<double>(v)) return *d;
  return std::nullopt;
}

size_t FieldBytes(const FieldValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return s->size();
  if (const auto* t = std::get_if<TokenIds>(&value)) return t->size() * sizeof(int32_t);
  return sizeof(double);
}

}  // namespace refinery
