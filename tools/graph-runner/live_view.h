// LiveView: while a run goes on and stderr is a terminal, a block of lines redrawn twice a second:
// progress (done, failed, in flight, rate, share of input read, ETA, alerts) and one line per
// node (items, rate over the last tick, p50/p95 latency, items waiting, cache hit rate). While it
// is shown, log lines (alerts, warnings) go through it: the block is erased, the line printed, and
// the block redrawn below it, so neither overwrites the other.
#pragma once

#include <spdlog/sinks/sink.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "graph/engine.h"
#include "tools/graph-runner/input_reader.h"

namespace refinery::cli {

class LiveView {
 public:
  LiveView(const Engine& engine, const InputReader& reader);
  ~LiveView();  // stops and erases the block

  // One frame of text (no cursor movement), for tests and for the drawing thread.
  static std::string Frame(const EngineStats& stats, const std::string& pipeline, double seconds,
                           double read_fraction,
                           const std::map<std::string, int64_t>& previous_items,
                           double tick_seconds);

 private:
  friend class LiveLogSink;
  void Loop();
  void EraseLocked();  // draw_mu_ held
  const Engine& engine_;
  const InputReader& reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::mutex draw_mu_;  // the block on the terminal: drawing, erasing, log lines
  int lines_drawn_ = 0;
  std::vector<spdlog::sink_ptr> saved_sinks_;
  std::thread thread_;
};

}  // namespace refinery::cli
