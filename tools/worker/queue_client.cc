#include "tools/worker/queue_client.h"

#include <chrono>
#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>
#include <proton/work_queue.hpp>

namespace refinery::worker {
namespace {

using Clock = std::chrono::steady_clock;

proton::connection_options Options(const ClientConnection& c) {
  proton::connection_options co;
  co.sasl_enabled(true);
  if (c.broker.user.empty()) {
    co.sasl_allowed_mechs("ANONYMOUS");
  } else {
    co.user(c.broker.user).password(c.password).sasl_allowed_mechs("PLAIN");
    co.sasl_allow_insecure_mechs(!c.broker.tls);
  }
  return co;
}

// Shared: connect, watch the clock, remember the first error, close when done.
class ClientHandler : public proton::messaging_handler {
 public:
  ClientHandler(const ClientConnection& c, double timeout_seconds)
      : connection_(c),
        deadline_(Clock::now() + std::chrono::milliseconds(int64_t(timeout_seconds * 1000))) {}
  Status status() const { return error_.empty() ? Status::Ok() : Status::Internal(error_); }

  void on_container_start(proton::container& c) override {
    container_ = &c;
    c.connect(connection_.broker.ConnectionUrl(), Options(connection_));
    Tick();
  }
  void on_connection_open(proton::connection& c) override {
    conn_ = c;
    OnOpen(c);
  }
  void on_transport_error(proton::transport& t) override { Fail(t.error().what()); }
  void on_error(const proton::error_condition& e) override { Fail(e.what()); }
  // Proton's run() does not return for a stop() inside a transport event: the tick stops it.
  void on_transport_close(proton::transport&) override {
    done_ = true;
    closed_ = true;
  }

 protected:
  virtual void OnOpen(proton::connection& c) = 0;
  virtual void OnTick() {}
  virtual std::string Progress() const = 0;
  void Fail(const std::string& why) {
    if (error_.empty()) error_ = why;
    Finish();
  }
  void Finish() {
    if (done_) return;
    done_ = true;
    if (conn_ && conn_.active()) {
      conn_.close();
    } else {
      closed_ = true;
    }
  }
  bool done_ = false;
  bool closed_ = false;

 private:
  int ticks_since_done_ = 0;
  void Tick() {
    // Closed, or a close the broker never answered (3 s): done either way.
    if (closed_ || (done_ && ++ticks_since_done_ > 60)) {
      container_->stop();
      return;
    }
    if (!done_ && Clock::now() > deadline_) Fail("timed out: " + Progress());
    if (!done_) OnTick();
    container_->schedule(proton::duration(50), [this] { Tick(); });
  }
  ClientConnection connection_;
  Clock::time_point deadline_;
  proton::container* container_ = nullptr;
  proton::connection conn_;
  std::string error_;
};

class Publisher : public ClientHandler {
 public:
  Publisher(const ClientConnection& c, const std::string& address,
            const std::vector<proton::message>& messages, double timeout)
      : ClientHandler(c, timeout), address_(address), messages_(messages) {}

  void OnOpen(proton::connection& c) override { c.open_sender(address_); }
  void on_sendable(proton::sender& s) override {
    while (s.credit() > 0 && next_ < messages_.size()) s.send(messages_[next_++]);
  }
  void on_tracker_accept(proton::tracker&) override {
    if (++confirmed_ == messages_.size()) Finish();
  }
  void on_tracker_reject(proton::tracker&) override { Fail("the broker rejected a message"); }
  void on_tracker_release(proton::tracker&) override { Fail("the broker released a message"); }
  void on_sender_error(proton::sender& s) override {
    Fail("sender to " + address_ + ": " + s.error().what());
  }
  void on_connection_open(proton::connection& c) override {
    ClientHandler::on_connection_open(c);
    if (messages_.empty()) Finish();
  }
  std::string Progress() const override {
    return std::to_string(confirmed_) + " of " + std::to_string(messages_.size()) +
           " messages confirmed";
  }

 private:
  std::string address_;
  const std::vector<proton::message>& messages_;
  size_t next_ = 0, confirmed_ = 0;
};

class Collector : public ClientHandler {
 public:
  Collector(const ClientConnection& c, const std::string& address, size_t count, double timeout,
            double quiet)
      : ClientHandler(c, timeout), address_(address), count_(count), quiet_(quiet) {}

  void OnOpen(proton::connection& c) override {
    c.open_receiver(address_, proton::receiver_options().credit_window(500).auto_accept(false));
  }
  void on_message(proton::delivery& d, proton::message& m) override {
    if (done_) {  // prefetched after the last one wanted: back to the queue for the next reader
      d.release();
      return;
    }
    d.accept();
    received_.push_back(m);
    last_ = Clock::now();
    if (received_.size() >= count_ && quiet_ <= 0) Finish();
  }
  void on_receiver_error(proton::receiver& r) override {
    Fail("receiver from " + address_ + ": " + r.error().what());
  }
  void OnTick() override {
    if (done_ || received_.size() < count_ || quiet_ <= 0) return;
    if (std::chrono::duration<double>(Clock::now() - last_).count() >= quiet_) Finish();
  }
  std::string Progress() const override {
    return std::to_string(received_.size()) + " of " + std::to_string(count_) +
           " messages received from " + address_;
  }
  std::vector<proton::message> received_;

 private:
  std::string address_;
  size_t count_;
  double quiet_;
  Clock::time_point last_ = Clock::now();
};

}  // namespace

Status Publish(const ClientConnection& connection, const std::string& address,
               const std::vector<proton::message>& messages, double timeout_seconds) {
  Publisher publisher(connection, address, messages, timeout_seconds);
  proton::container container(publisher);
  container.run();
  return publisher.status();
}

StatusOr<std::vector<proton::message>> Collect(const ClientConnection& connection,
                                               const std::string& address, size_t count,
                                               double timeout_seconds, double quiet_seconds) {
  Collector collector(connection, address, count, timeout_seconds, quiet_seconds);
  proton::container container(collector);
  container.run();
  if (!collector.status().ok() && collector.received_.size() < count) return collector.status();
  return std::move(collector.received_);
}

}  // namespace refinery::worker
