#include "graph/monitor/alert.h"

#include <fcntl.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>

#include "graph/io/result_json.h"

namespace refinery::monitor {

namespace {
std::string Number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
}  // namespace

std::string NowRfc3339() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const int ms = int(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, ms);
  return out;
}

std::string Alert::ToJson() const {
  return "{\"time\":" + JsonQuote(time) + ",\"pipeline\":" + JsonQuote(pipeline) +
         ",\"type\":" + JsonQuote(type) + ",\"kind\":" + JsonQuote(kind) +
         ",\"rule\":" + JsonQuote(rule) + ",\"state\":" + JsonQuote(state) +
         ",\"value\":" + Number(value) + ",\"limit\":" + Number(limit) +
         ",\"results\":" + std::to_string(results) + ",\"message\":" + JsonQuote(message) + "}";
}

StatusOr<std::unique_ptr<JsonLinesAlertSink>> JsonLinesAlertSink::Open(const std::string& path) {
  auto sink = std::unique_ptr<JsonLinesAlertSink>(new JsonLinesAlertSink());
  sink->path_ = path;
  sink->fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (sink->fd_ < 0)
    return Status::InvalidArgument(
        path + ": error: cannot open the alert file for appending: " + std::strerror(errno));
  return sink;
}

JsonLinesAlertSink::~JsonLinesAlertSink() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonLinesAlertSink::Publish(const Alert& alert) {
  const std::string line = alert.ToJson() + '\n';
  std::lock_guard lock(mu_);
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n > 0) {
      done += size_t(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      if (first_error_.empty()) first_error_ = n < 0 ? std::strerror(errno) : "short write";
      ++lost_;
      return;
    }
  }
  ++written_;
}

Status JsonLinesAlertSink::WriteStatus() const {
  std::lock_guard lock(mu_);
  if (lost_ == 0) return Status::Ok();
  return Status::Internal(path_ + ": error: " + std::to_string(lost_) + " of " +
                          std::to_string(lost_ + written_) + " alerts were not written (" +
                          first_error_ + ")");
}

StatusOr<std::unique_ptr<WebhookAlertSink>> WebhookAlertSink::Create(const std::string& url,
                                                                     double timeout_seconds) {
  // http://host[:port][/path]; https would need certificates this tool does not manage.
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    return Status::InvalidArgument("webhook '" + url + "': only http:// URLs are supported");
  std::string rest = url.substr(scheme.size());
  const size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  int port = 80;
  const size_t colon = hostport.rfind(':');
  if (colon != std::string::npos) {
    try {
      size_t used = 0;
      port = std::stoi(hostport.substr(colon + 1), &used);
      if (used != hostport.size() - colon - 1 || port < 1 || port > 65535)
        throw std::out_of_range("port");
    } catch (const std::exception&) {
      return Status::InvalidArgument("webhook '" + url + "': bad port");
    }
    hostport.resize(colon);
  }
  if (hostport.empty()) return Status::InvalidArgument("webhook '" + url + "': no host");
  return std::unique_ptr<WebhookAlertSink>(
      new WebhookAlertSink(hostport, port, path, timeout_seconds));
}

WebhookAlertSink::WebhookAlertSink(std::string host, int port, std::string path,
                                   double timeout_seconds)
    : host_(std::move(host)),
      path_(std::move(path)),
      port_(port),
      timeout_seconds_(timeout_seconds) {
  thread_ = std::thread([this] { Loop(); });
}

WebhookAlertSink::~WebhookAlertSink() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WebhookAlertSink::Publish(const Alert& alert) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= 1000) {
      queue_.pop_front();
      ++failed_;
    }
    queue_.push_back(alert.ToJson());
  }
  cv_.notify_one();
}

int64_t WebhookAlertSink::delivered() const {
  std::lock_guard lock(mu_);
  return delivered_;
}

int64_t WebhookAlertSink::failed() const {
  std::lock_guard lock(mu_);
  return failed_;
}

void WebhookAlertSink::Loop() {
  httplib::Client client(host_, port_);
  const auto secs = time_t(timeout_seconds_);
  const auto usecs = time_t((timeout_seconds_ - double(secs)) * 1e6);
  client.set_connection_timeout(secs, usecs);
  client.set_read_timeout(secs, usecs);
  client.set_write_timeout(secs, usecs);
  bool warned = false;
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, everything delivered
    std::string body = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    auto res = client.Post(path_, body, "application/json");
    const bool ok = res && res->status >= 200 && res->status < 300;
    if (!ok && !warned) {
      spdlog::warn("alert webhook http://{}:{}{} failed ({}); further failures are only counted",
                   host_, port_, path_,
                   res ? "HTTP " + std::to_string(res->status) : httplib::to_string(res.error()));
      warned = true;
    }
    lock.lock();
    ++(ok ? delivered_ : failed_);
    if (!ok && stop_) {
      // Shutting down and the receiver is failing: drop the rest rather than wait a timeout per
      // queued alert (1000 x 2 s would hold the engine's destruction for half an hour).
      failed_ += int64_t(queue_.size());
      queue_.clear();
      return;
    }
  }
}

}  // namespace refinery::monitor
