#include "tools/graph-runner/live_view.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "tools/graph-runner/summary_table.h"

namespace refinery::cli {

namespace {
std::string Fmt(const char* format, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}
}  // namespace

// Wraps the logger's own sinks: erase the live block, then log as usual.
class LiveLogSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  LiveLogSink(LiveView* view, std::vector<spdlog::sink_ptr> inner)
      : view_(view), inner_(std::move(inner)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::lock_guard lock(view_->draw_mu_);
    view_->EraseLocked();
    for (auto& s : inner_) s->log(msg);
    for (auto& s : inner_) s->flush();
  }
  void flush_() override {
    for (auto& s : inner_) s->flush();
  }

 private:
  LiveView* view_;
  std::vector<spdlog::sink_ptr> inner_;
};

LiveView::LiveView(const Engine& engine, const InputReader& reader)
    : engine_(engine), reader_(reader) {
  auto logger = spdlog::default_logger();
  saved_sinks_ = logger->sinks();
  logger->sinks() = {std::make_shared<LiveLogSink>(this, saved_sinks_)};
  thread_ = std::thread([this] { Loop(); });
}

LiveView::~LiveView() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  spdlog::default_logger()->sinks() = saved_sinks_;
  std::lock_guard lock(draw_mu_);
  EraseLocked();
}

void LiveView::EraseLocked() {
  if (lines_drawn_ > 0)
    std::fprintf(stderr, "\033[%dF\033[J", lines_drawn_);  // up, then clear below
  std::fflush(stderr);
  lines_drawn_ = 0;
}

std::string LiveView::Frame(const EngineStats& s, const std::string& pipeline, double seconds,
                            double read_fraction,
                            const std::map<std::string, int64_t>& previous_items,
                            double tick_seconds) {
  const double rate = seconds > 0 ? double(s.completed) / seconds : 0;
  std::string eta = "?";
  if (read_fraction > 0.001 && read_fraction < 1)
    eta = Fmt("%.0fs", seconds / read_fraction - seconds);
  std::string out = Fmt("%s: %lld done (%lld failed), %lld in flight, %.0f/s", pipeline.c_str(),
                        (long long)s.completed, (long long)s.failed, (long long)s.in_flight, rate);
  if (read_fraction >= 0) out += Fmt(", %.0f%% read, ETA %s", 100 * read_fraction, eta.c_str());
  out += Fmt(", %.1fs, alerts %lld\n", seconds, (long long)s.monitor.alerts_firing_total);
  size_t w = 4;
  for (const auto& n : s.nodes) w = std::max(w, n.id.size());
  out += Fmt("  %-*s %9s %9s %9s %9s %8s %7s\n", int(w), "node", "items", "rate/s", "p50", "p95",
             "waiting", "cache");
  for (const auto& n : s.nodes) {
    auto prev = previous_items.find(n.id);
    const double node_rate = prev != previous_items.end() && tick_seconds > 0
                                 ? double(n.items - prev->second) / tick_seconds
                                 : 0;
    std::string cache = "off";
    if (n.cache_enabled) {
      const int64_t lookups = n.cache.hits + n.cache.misses;
      cache = lookups ? Fmt("%.0f%%", 100.0 * double(n.cache.hits) / double(lookups)) : "-";
    }
    out += Fmt("  %-*s %9lld %9.0f %9s %9s %8lld %7s\n", int(w), n.id.c_str(), (long long)n.items,
               node_rate, FormatMicros(n.latency.p50_us).c_str(),
               FormatMicros(n.latency.p95_us).c_str(), (long long)n.waiting, cache.c_str());
  }
  return out;
}

void LiveView::Loop() {
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  std::map<std::string, int64_t> previous;
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stop_; })) {
    const auto now = std::chrono::steady_clock::now();
    EngineStats s = engine_.Stats(StatsDetail::kLive);
    const std::string frame =
        Frame(s, engine_.pipeline_name(), std::chrono::duration<double>(now - start).count(),
              reader_.Progress(), previous, std::chrono::duration<double>(now - last).count());
    last = now;
    previous.clear();
    for (const auto& n : s.nodes) previous[n.id] = n.items;
    std::lock_guard draw_lock(draw_mu_);
    std::string draw;
    if (lines_drawn_ > 0) draw += Fmt("\033[%dF", lines_drawn_);  // back to the block's first line
    int lines = 0;
    size_t begin = 0;
    for (size_t nl; (nl = frame.find('\n', begin)) != std::string::npos; begin = nl + 1, ++lines) {
      draw += "\033[K" + frame.substr(begin, nl - begin) + "\n";
    }
    lines_drawn_ = lines;
    std::fputs(draw.c_str(), stderr);
    std::fflush(stderr);
  }
}

}  // namespace refinery::cli
