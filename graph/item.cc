#include "graph/item.h"

#include "graph/internal/cycle_clock.h"
#include "graph/runtime/admission_gate.h"

namespace refinery {

std::atomic<int64_t> Item::live_{0};
std::atomic<int64_t> Item::peak_live_{0};

Item::Item(std::string id, std::string type, int32_t priority, uint64_t seq)
    : id_(std::move(id)),
      type_(std::move(type)),
      priority_(priority),
      seq_(seq),
      submitted_ticks_(internal::CycleClock::Now()) {
  int64_t now = live_.fetch_add(1, std::memory_order_relaxed) + 1;
  int64_t peak = peak_live_.load(std::memory_order_relaxed);
  while (now > peak && !peak_live_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

Item::~Item() {
  live_.fetch_sub(1, std::memory_order_relaxed);
  if (admission_ != nullptr) admission_->Release();
}

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

void Item::Fail(std::string node, std::string message) {
  if (failed_) return;
  failed_ = true;
  error_node_ = std::move(node);
  error_message_ = std::move(message);
}

size_t FieldBytes(const FieldValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return s->size();
  if (const auto* t = std::get_if<TokenIds>(&value)) return t->size() * sizeof(int32_t);
  return sizeof(double);
}

}  // namespace refinery
