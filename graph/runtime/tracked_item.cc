#include "graph/runtime/tracked_item.h"

#include "graph/internal/cycle_clock.h"
#include "graph/runtime/admission_gate.h"

namespace refinery {

std::optional<std::chrono::nanoseconds> TrackedItem::time_left() const {
  if (deadline_ticks_ == 0) return std::nullopt;
  const uint64_t now = internal::CycleClock::Now();
  if (now >= deadline_ticks_) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(
      int64_t(double(deadline_ticks_ - now) * internal::CycleClock::NanosPerTick()));
}

std::atomic<int64_t> TrackedItem::live_{0};
std::atomic<int64_t> TrackedItem::peak_live_{0};

TrackedItem::TrackedItem(std::string id, std::string type, int32_t priority, uint64_t seq)
    : Item(std::move(id), std::move(type), priority),
      seq_(seq),
      submitted_ticks_(internal::CycleClock::Now()) {
  int64_t now = live_.fetch_add(1, std::memory_order_relaxed) + 1;
  int64_t peak = peak_live_.load(std::memory_order_relaxed);
  while (now > peak && !peak_live_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

TrackedItem::~TrackedItem() {
  // Counted out before the slot is returned: the next item admitted never overlaps this one.
  live_.fetch_sub(1, std::memory_order_relaxed);
  if (admission_ != nullptr) admission_->Release();
}

void TrackedItem::Fail(std::string node, std::string message, FailureKind kind) {
  if (failed_) return;
  failed_ = true;
  failure_ = kind;
  error_node_ = std::move(node);
  error_message_ = std::move(message);
}

}  // namespace refinery
