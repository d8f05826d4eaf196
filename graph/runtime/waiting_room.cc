#include "graph/runtime/waiting_room.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace refinery {

namespace {
constexpr int kAdaptWindowBatches = 16;
}  // namespace

const char* FlushReasonName(FlushReason r) {
  switch (r) {
    case FlushReason::kFull:
      return "full";
    case FlushReason::kTokens:
      return "tokens";
    case FlushReason::kDelay:
      return "delay";
    case FlushReason::kDrain:
      return "drain";
  }
  return "?";
}

WaitingRoom::WaitingRoom(const QueueSpec& spec, int concurrency, double nanos_per_tick)
    : spec_(spec),
      concurrency_(concurrency),
      nanos_per_tick_(nanos_per_tick),
      buckets_(spec.batch.buckets.size() + 1),
      max_items_(std::max(1, spec.batch.max_items)),
      max_delay_ms_(spec.batch.max_delay_ms) {
  stats_.order = spec.order == QueueSpec::kPriority ? "priority" : "fifo";
  stats_.adapt = spec.batch.adapt;
  const int largest =
      spec.batch.adapt ? std::max(max_items_, spec.batch.adapt_max_items) : max_items_;
  stats_.batch_sizes.assign(size_t(largest) + 1, 0);
}

uint64_t WaitingRoom::DelayTicks() const { return uint64_t(max_delay_ms_ * 1e6 / nanos_per_tick_); }

std::optional<std::string> WaitingRoom::Add(ItemPtr item, uint64_t now) {
  int64_t size = 0;
  const BatchSpec& b = spec_.batch;
  if (!b.size_field.empty()) {
    const FieldValue* v = item->field(b.size_field);
    if (v == nullptr) {
      return "queue: the item has no field '" + b.size_field + "' (the batch's size_field)";
    }
    if (const auto* t = std::get_if<TokenIds>(v))
      size = int64_t(t->size());
    else if (const auto* d = std::get_if<double>(v))
      size = int64_t(std::max(0.0, *d));
    else
      size = int64_t(std::get<std::string>(*v).size());
  }
  std::lock_guard lock(mu_);
  now = std::max(now, last_now_);  // arrival times never go backwards: the oldest is first
  last_now_ = now;
  Entry e;
  e.arrived = now;
  e.size = size;
  e.bucket = size_t(std::lower_bound(b.buckets.begin(), b.buckets.end(), size) - b.buckets.begin());
  e.rank = spec_.order == QueueSpec::kPriority ? -item->priority() : 0;
  const uint64_t number = next_number_++;
  e.deadline = item->deadline_ticks();
  if (e.deadline != 0) deadlines_.emplace(e.deadline, number);
  Bucket& bucket = buckets_[e.bucket];
  bucket.order.emplace(e.rank, number);
  bucket.arrivals.insert(number);
  bucket.size_sum += size;
  e.item = std::move(item);
  entries_.emplace(number, std::move(e));
  ++stats_.arrived;
  stats_.waiting = int64_t(entries_.size());
  stats_.peak_waiting = std::max(stats_.peak_waiting, stats_.waiting);
  return std::nullopt;
}

void WaitingRoom::Remove(uint64_t number) {
  auto it = entries_.find(number);
  Entry& e = it->second;
  Bucket& bucket = buckets_[e.bucket];
  bucket.order.erase({e.rank, number});
  bucket.arrivals.erase(number);
  bucket.size_sum -= e.size;
  if (e.deadline != 0) deadlines_.erase({e.deadline, number});
  entries_.erase(it);
}

std::vector<std::pair<ItemPtr, double>> WaitingRoom::TakeExpired(uint64_t now) {
  std::vector<std::pair<ItemPtr, double>> out;
  std::lock_guard lock(mu_);
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const uint64_t number = deadlines_.begin()->second;
    Entry& e = entries_.at(number);
    const double waited_ms = now > e.arrived ? double(now - e.arrived) * nanos_per_tick_ / 1e6 : 0;
    out.emplace_back(std::move(e.item), waited_ms);
    Remove(number);
  }
  stats_.expired += int64_t(out.size());
  stats_.waiting = int64_t(entries_.size());
  return out;
}

std::optional<FlushReason> WaitingRoom::ReadyReason(const Bucket& b, uint64_t now) const {
  if (b.order.empty()) return std::nullopt;
  if (int64_t(b.order.size()) >= max_items_) return FlushReason::kFull;
  if (spec_.batch.max_tokens > 0 && b.size_sum >= spec_.batch.max_tokens)
    return FlushReason::kTokens;
  if (draining_ > 0) return FlushReason::kDrain;
  const uint64_t oldest = entries_.at(*b.arrivals.begin()).arrived;
  if (now >= oldest + DelayTicks()) return FlushReason::kDelay;
  return std::nullopt;
}

std::optional<WaitingRoom::Batch> WaitingRoom::TakeBatch(uint64_t now) {
  std::lock_guard lock(mu_);
  tick_pending_ = false;
  if (concurrency_ > 0 && running_ >= concurrency_) return std::nullopt;
  // The ready bucket whose first item ranks best.
  Bucket* chosen = nullptr;
  FlushReason reason = FlushReason::kFull;
  for (Bucket& b : buckets_) {
    std::optional<FlushReason> r = ReadyReason(b, now);
    if (!r) continue;
    if (chosen == nullptr || *b.order.begin() < *chosen->order.begin()) {
      chosen = &b;
      reason = *r;
    }
  }
  if (chosen == nullptr) return std::nullopt;
  Batch batch;
  int64_t size = 0;
  while (!chosen->order.empty() && int64_t(batch.items.size()) < max_items_) {
    const uint64_t number = chosen->order.begin()->second;
    Entry& e = entries_.at(number);
    // Stay within max_tokens, but a batch always takes its first item.
    if (spec_.batch.max_tokens > 0 && !batch.items.empty() &&
        size + e.size > spec_.batch.max_tokens)
      break;
    size += e.size;
    const double wait_ms = now > e.arrived ? double(now - e.arrived) * nanos_per_tick_ / 1e6 : 0;
    stats_.wait_ms_sum += wait_ms;
    stats_.max_wait_ms = std::max(stats_.max_wait_ms, wait_ms);
    batch.arrived.push_back(e.arrived);
    batch.items.push_back(std::move(e.item));
    Remove(number);
  }
  batch.reason = reason;
  ++running_;
  ++stats_.batches;
  stats_.batched_items += int64_t(batch.items.size());
  const size_t n = std::min(batch.items.size(), stats_.batch_sizes.size() - 1);
  ++stats_.batch_sizes[n];
  ++stats_.flushes[int(reason)];
  stats_.waiting = int64_t(entries_.size());
  return batch;
}

void WaitingRoom::Finish(const Batch& batch, uint64_t now) {
  std::lock_guard lock(mu_);
  --running_;
  if (!spec_.batch.adapt) return;
  for (uint64_t arrived : batch.arrived) {
    window_ms_.push_back(now > arrived ? double(now - arrived) * nanos_per_tick_ / 1e6 : 0);
  }
  ++window_batches_;
  if (batch.reason == FlushReason::kFull || batch.reason == FlushReason::kTokens) ++window_filled_;
  if (batch.reason == FlushReason::kDelay) ++window_on_delay_;
  window_items_ += int(batch.items.size());
  if (window_batches_ >= kAdaptWindowBatches) Adapt();
}

void WaitingRoom::Adapt() {
  const BatchSpec& b = spec_.batch;
  const size_t k = size_t(std::ceil(0.95 * double(window_ms_.size()))) - 1;
  std::nth_element(window_ms_.begin(), window_ms_.begin() + ptrdiff_t(k), window_ms_.end());
  const double p95 = window_ms_[k];
  stats_.last_window_p95_ms = p95;
  if (hold_windows_ > 0) --hold_windows_;
  if (p95 > b.target_p95_ms) {
    // Over the target: smaller batches, less waiting.
    const int items = std::max(b.min_items, std::min(max_items_ - 1, int(max_items_ * 0.75)));
    const double delay = std::max(b.min_delay_ms, max_delay_ms_ * 0.5);
    if (items != max_items_ || delay != max_delay_ms_) ++stats_.adapt_shrink;
    max_items_ = items;
    max_delay_ms_ = delay;
  } else if (window_on_delay_ * 2 >= window_batches_) {
    // Most batches left on the delay, not full: no more arrives within it than the mean batch.
    // Fit the limit to that, so batches leave full at once instead of waiting (one client alone
    // gets max_items 1: no waiting at all). Then hold a few windows before probing upwards.
    const int mean = int(std::ceil(double(window_items_) / double(window_batches_)));
    const int items = std::clamp(mean, b.min_items, max_items_);
    if (items != max_items_) ++stats_.adapt_fits;
    max_items_ = items;
    hold_windows_ = 4;
  } else if (p95 < 0.8 * b.target_p95_ms && window_filled_ * 2 >= window_batches_ &&
             hold_windows_ == 0) {
    // Batches fill up and there is latency to spare: bigger batches, a little more patience.
    const int items =
        std::min(b.adapt_max_items, std::max(max_items_ + 1, int(std::ceil(max_items_ * 1.25))));
    const double delay =
        std::min(b.adapt_max_delay_ms, std::max(max_delay_ms_ * 1.25, max_delay_ms_ + 0.1));
    if (items != max_items_ || delay != max_delay_ms_) ++stats_.adapt_grow;
    max_items_ = items;
    max_delay_ms_ = delay;
  }
  window_ms_.clear();
  window_batches_ = window_filled_ = window_on_delay_ = window_items_ = 0;
}

uint64_t WaitingRoom::NextDue(uint64_t now) const {
  std::lock_guard lock(mu_);
  uint64_t due = std::numeric_limits<uint64_t>::max();
  if (!deadlines_.empty()) due = deadlines_.begin()->first;
  if (tick_pending_ || (concurrency_ > 0 && running_ >= concurrency_)) return due;
  for (const Bucket& b : buckets_) {
    if (b.order.empty()) continue;
    if (ReadyReason(b, now)) return now;
    due = std::min(due, entries_.at(*b.arrivals.begin()).arrived + DelayTicks());
  }
  return due;
}

void WaitingRoom::SetDraining(bool draining) {
  std::lock_guard lock(mu_);
  draining_ += draining ? 1 : -1;
}

void WaitingRoom::MarkTickPending() {
  std::lock_guard lock(mu_);
  tick_pending_ = true;
}

bool WaitingRoom::has_deadlines() const {
  std::lock_guard lock(mu_);
  return !deadlines_.empty();
}

WaitingRoomStats WaitingRoom::Stats() const {
  std::lock_guard lock(mu_);
  WaitingRoomStats s = stats_;
  s.max_items = max_items_;
  s.max_delay_ms = max_delay_ms_;
  return s;
}

}  // namespace refinery
