// Alerts: what the monitor raises when a threshold is broken, a value jumps far from its recent
// behaviour, or output drifts; and the sinks they go to (spdlog, a JSON Lines file, a webhook).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "graph/monitor_config.h"
#include "graph/stats.h"
#include "graph/status.h"

namespace refinery::monitor {

std::string NowRfc3339();

// Where alerts go. Publish is called on graph threads: it must not block for long.
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void Publish(const Alert& alert) = 0;
  // An error when alerts this sink had to keep were lost (a file that could not be written);
  // best-effort sinks (the webhook: counted drops) stay OK.
  virtual Status WriteStatus() const { return Status::Ok(); }
};

// Appends one JSON object per line, one write(2) per alert (O_APPEND) so a watcher sees it at
// once and a failed write never leaves half a line buffered to be mixed into the next. Every
// write is checked: lost alerts are counted and reported by WriteStatus.
class JsonLinesAlertSink : public AlertSink {
 public:
  static StatusOr<std::unique_ptr<JsonLinesAlertSink>> Open(const std::string& path);
  ~JsonLinesAlertSink() override;
  void Publish(const Alert& alert) override;
  Status WriteStatus() const override;

 private:
  std::string path_;
  int fd_ = -1;
  mutable std::mutex mu_;
  int64_t written_ = 0, lost_ = 0;
  std::string first_error_;
};

// POSTs each alert as JSON to an http:// URL from a background thread, so a slow or dead
// receiver never holds a graph thread. The queue is bounded (1000): beyond it the oldest alert is
// dropped and counted; failures are logged once per kind and counted.
class WebhookAlertSink : public AlertSink {
 public:
  static StatusOr<std::unique_ptr<WebhookAlertSink>> Create(const std::string& url,
                                                            double timeout_seconds);
  // Delivers what is queued, then stops; once a delivery fails while stopping, the rest are
  // dropped (counted), so a dead receiver costs at most one timeout at shutdown.
  ~WebhookAlertSink() override;
  void Publish(const Alert& alert) override;
  int64_t delivered() const;
  int64_t failed() const;

 private:
  WebhookAlertSink(std::string host, int port, std::string path, double timeout_seconds);
  void Loop();
  std::string host_, path_;
  int port_;
  double timeout_seconds_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stop_ = false;
  int64_t delivered_ = 0;
  int64_t failed_ = 0;
  std::thread thread_;
};

}  // namespace refinery::monitor
