#include "tools/worker/worker.h"

#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/error_condition.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/session.hpp>
#include <proton/ssl.hpp>
#include <proton/target.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>
#include <proton/work_queue.hpp>
#include <random>
#include <sstream>

#include "graph/monitor/views/exposition.h"
#include "graph/monitor/views/prometheus.h"
#include "graph/spec/pipeline_spec.h"
#include "tools/worker/message_codec.h"

namespace refinery::worker {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// proton::delivery keeps its pn_delivery_t to itself; a reject that carries an error condition
// (Service Bus reads the dead-letter reason from it) needs the C object. A copy of the handle in
// a subclass may read the protected accessor.
class RawDelivery : public proton::delivery {
 public:
  explicit RawDelivery(const proton::delivery& d) : proton::delivery(d) {}
  pn_delivery_t* raw() const { return pn_object(); }
};

void PutString(pn_data_t* data, const char* key, const std::string& value) {
  pn_data_put_symbol(data, pn_bytes(std::strlen(key), key));
  pn_data_put_string(data, pn_bytes(value.size(), value.data()));
}

// Rejected with `condition` (reason, description and the Service Bus DeadLetterReason /
// DeadLetterErrorDescription in its info map), then settled: the broker dead-letters it.
void RejectWithCondition(const proton::delivery& delivery, const std::string& condition,
                         const std::string& reason, const std::string& description) {
  pn_delivery_t* d = RawDelivery(delivery).raw();
  pn_condition_t* c = pn_disposition_condition(pn_delivery_local(d));
  pn_condition_set_name(c, condition.c_str());
  pn_condition_set_description(c, description.c_str());
  pn_data_t* info = pn_condition_info(c);
  pn_data_put_map(info);
  pn_data_enter(info);
  PutString(info, "DeadLetterReason", reason);
  PutString(info, "DeadLetterErrorDescription", description.substr(0, 1024));
  pn_data_exit(info);
  pn_delivery_update(d, PN_REJECTED);
  pn_delivery_settle(d);
}

// A request message between receipt and settlement.
struct Job {
  proton::delivery delivery;
  proton::message message;
  uint64_t generation = 0;  // the connection it came on; older ones cannot be settled any more
  bool protobuf = false;
  bool in_engine = true;     // false once its result came back (then it waits for the tracker)
  bool dead_letter = false;  // settle by rejecting once the failure result is confirmed
  std::string reason, description;
};

}  // namespace

class Worker::Handler : public proton::messaging_handler {
 public:
  Handler(Engine* engine, WorkerOptions options)
      : engine_(engine), options_(std::move(options)), scaling_(options_.scaling) {
    // Never more credit than the engine has room for: a request taken is a request started.
    max_credit_ =
        int(std::clamp<int64_t>(options_.max_in_flight, 1, engine_->spec().max_in_flight));
  }

  Status Run() {
    started_ = Clock::now();
    proton::container container(*this, "refinery-worker");
    try {
      container.run();
    } catch (const std::exception& e) {
      return Status::Internal(std::string("AMQP container failed: ") + e.what());
    }
    ClearPoster();
    // Results still in the engine call Post (this object) from graph threads: wait for them
    // all before anyone destroys the worker. Their requests were released or requeued.
    engine_->Drain();
    return fatal_;
  }

  // Any thread. The container thread notices on its next tick.
  void Stop() { stop_requested_ = true; }

  // Any thread (the engine's): the result waits in the inbox until the container thread takes
  // it, woken now through the connection's work queue or at the next tick. Work queued on a
  // connection that then closes is dropped by Proton, so the inbox, not the wake-up, holds the
  // result: a lost wake-up only delays it to the next tick.
  void PostResult(uint64_t id, Result result) {
    std::lock_guard<std::mutex> lock(post_mutex_);
    inbox_.emplace_back(id, std::move(result));
    if (work_queue_ != nullptr) work_queue_->add([this] { DrainInbox(); });
  }

  const WorkerCounters& counters() const { return counters_; }
  bool connected() const { return connected_; }

  std::string MetricsText() const {
    monitor::Exposition out;
    auto counter = [&](const char* name, const char* help, int64_t v) {
      out.Family(name, "counter", help);
      out.Value(name, {}, double(v));
    };
    auto gauge = [&](const char* name, const char* help, double v) {
      out.Family(name, "gauge", help);
      out.Value(name, {}, v);
    };
    counter("refinery_worker_received_total", "request messages received",
            counters_.received.load());
    counter("refinery_worker_redelivered_total",
            "request messages received again (a worker died or released them)",
            counters_.redelivered.load());
    counter("refinery_worker_succeeded_total", "requests answered and accepted",
            counters_.succeeded.load());
    counter("refinery_worker_dead_lettered_total",
            "requests answered with a failure and dead-lettered", counters_.dead_lettered.load());
    counter("refinery_worker_released_total", "requests given back to the broker for retry",
            counters_.released.load());
    counter("refinery_worker_results_refused_total", "result messages the broker refused",
            counters_.results_refused.load());
    counter("refinery_worker_reconnects_total", "connections re-established after an outage",
            counters_.reconnects.load());
    gauge("refinery_worker_in_flight", "unsettled request messages at this worker",
          double(counters_.in_flight.load()));
    gauge("refinery_worker_connected", "1 while connected to the broker", connected_ ? 1 : 0);
    {
      std::lock_guard<std::mutex> lock(scaling_mutex_);
      gauge("refinery_scaling_arrival_rate", "requests/s arriving at this worker",
            scaling_view_.arrival_rate());
      gauge("refinery_scaling_forecast_rate",
            "requests/s forecast one horizon ahead (Holt linear trend)",
            scaling_view_.forecast_rate());
      gauge("refinery_scaling_capacity", "requests/s one worker serves", scaling_view_.capacity());
      gauge("refinery_scaling_queue_wait_seconds",
            "time the last requests waited in the queue (from creation-time)", queue_wait_view_);
      gauge("refinery_scaling_desired_workers",
            "workers the traffic seen here needs (sum over workers = workers for the queue)",
            scaling_view_.desired());
      gauge("refinery_scaling_recommended_workers",
            "ceil(desired) with hysteresis, for a single-worker view", scaling_view_.recommended());
    }
    std::string text = out.Text();
    monitor::Exposition engine_metrics;
    monitor::AppendPrometheus(engine_->Stats(StatsDetail::kLive), engine_->pipeline_name(),
                              &engine_metrics);
    return text + engine_metrics.Text();
  }

  // --- Proton events (container thread) ---

  void on_container_start(proton::container& c) override {
    container_ = &c;
    Connect();
    ScheduleTick();
  }

  void on_connection_open(proton::connection& connection) override {
    connection_ = connection;
    {
      std::lock_guard<std::mutex> lock(post_mutex_);
      work_queue_ = &connection.work_queue();
    }
    connected_ = true;
    if (options_.verify_sink && !sink_checked_) {
      // A sender to a missing RabbitMQ queue is accepted and its messages dropped: a receiver
      // attach (never given credit) fails instead, so it tells whether the sink exists.
      sink_probe_ = connection.open_receiver(
          options_.sink.address,
          proton::receiver_options().credit_window(0).name("refinery-sink-check"));
    } else {
      OpenLinks();
    }
  }

  void on_receiver_open(proton::receiver& r) override {
    if (sink_probe_ && r == sink_probe_) {
      sink_checked_ = true;
      sink_probe_.close();
      sink_probe_ = proton::receiver();
      OpenLinks();
      return;
    }
    if (r != receiver_) return;
    if (!ready_once_) spdlog::info("worker: consuming {}", options_.source.ToString());
    if (ready_once_) counters_.reconnects++;
    ready_once_ = true;
    attempts_ = 0;
    TopUpCredit();
  }

  void on_message(proton::delivery& d, proton::message& m) override {
    counters_.received++;
    if (m.delivery_count() > 0 || !m.first_acquirer()) counters_.redelivered++;
    if (draining_ || int(jobs_.size()) >= max_credit_) {
      // Credit given before the stop, or more than the credit given: back to the queue untouched.
      d.release();
      counters_.released++;
      if (!draining_ && !over_delivery_logged_) {
        over_delivery_logged_ = true;
        spdlog::warn("worker: the broker delivered beyond the credit given; released");
      }
      return;
    }
    const auto now = std::chrono::system_clock::now();
    if (const int64_t created = m.creation_time().milliseconds(); created > 0) {
      const int64_t now_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
      queue_wait_s_ = 0.8 * queue_wait_s_ + 0.2 * std::max<int64_t>(0, now_ms - created) / 1e3;
    }
    DecodedRequest decoded = DecodeRequest(m, now);
    const uint64_t id = next_job_++;
    Job& job = jobs_[id];
    job.delivery = d;
    job.message = m;
    job.generation = generation_;
    job.protobuf = decoded.protobuf;
    counters_.in_flight = int64_t(jobs_.size());
    if (decoded.expired) {
      Result expired;
      expired.id = decoded.request.id;
      expired.type = decoded.request.type;
      expired.ok = false;
      expired.failure = FailureKind::kDeadline;
      expired.error_message = "the message's absolute-expiry-time passed before it was received";
      OnResult(id, std::move(expired));
      return;
    }
    Status submitted = engine_->SubmitUntil(
        std::move(decoded.request), [this, id](Result&& r) { PostResult(id, std::move(r)); },
        Clock::now());
    if (!submitted.ok()) {  // the engine is full or stopping: someone else may take it
      spdlog::warn("worker: {}; released", submitted.message());
      d.release();
      counters_.released++;
      jobs_.erase(id);  // no credit back now: the next finished request tops it up
      counters_.in_flight = int64_t(jobs_.size());
    }
  }

  void on_tracker_accept(proton::tracker& t) override { OnResultSettled(t, true); }
  void on_tracker_reject(proton::tracker& t) override { OnResultSettled(t, false); }
  void on_tracker_release(proton::tracker& t) override { OnResultSettled(t, false); }

  void on_receiver_error(proton::receiver& r) override {
    const bool probe = sink_probe_ && r == sink_probe_;
    const std::string what =
        probe ? "the sink " + options_.sink.ToString() +
                    " cannot be attached (a missing queue? RabbitMQ silently drops messages "
                    "sent to one, so the worker checks first)"
              : "the source " + options_.source.ToString() + " cannot be consumed";
    LinkFailed(what, r.error());
  }
  void on_sender_error(proton::sender& s) override {
    LinkFailed("cannot send results to " + s.target().address(), s.error());
  }
  // RabbitMQ answers an attach to a missing queue by ending the whole session.
  void on_session_error(proton::session& s) override {
    LinkFailed(std::string(sink_probe_ ? "the sink " + options_.sink.ToString() +
                                             " cannot be attached (a missing queue? RabbitMQ "
                                             "silently drops messages sent to one, so the "
                                             "worker checks first)"
                                       : "the source " + options_.source.ToString() +
                                             " cannot be consumed"),
               s.error());
  }
  void on_connection_error(proton::connection& c) override { last_error_ = c.error().what(); }
  void on_transport_error(proton::transport& t) override { last_error_ = t.error().what(); }

  void on_transport_close(proton::transport&) override { Disconnected(); }

  void on_error(const proton::error_condition& e) override { last_error_ = e.what(); }

 private:
  void Connect() {
    proton::connection_options co;
    co.idle_timeout(proton::duration(20000));
    co.sasl_enabled(true);
    if (options_.source.user.empty()) {
      co.sasl_allowed_mechs("ANONYMOUS");
    } else {
      co.user(options_.source.user);
      co.password(options_.password);
      co.sasl_allowed_mechs("PLAIN");
      // PLAIN over plain TCP is for a loopback or private-network broker; amqps encrypts it.
      co.sasl_allow_insecure_mechs(!options_.source.tls);
    }
    if (options_.source.tls) {
      co.ssl_client_options(
          options_.tls_ca_file.empty()
              ? proton::ssl_client_options()
              : proton::ssl_client_options(options_.tls_ca_file, proton::ssl::VERIFY_PEER_NAME));
    }
    container_->connect(options_.source.ConnectionUrl(), co);
  }

  void OpenLinks() {
    receiver_ = connection_.open_receiver(
        options_.source.address,
        proton::receiver_options().credit_window(0).auto_accept(false).name(
            "refinery-worker-requests"));
    SenderFor(options_.sink.address);
  }

  proton::sender SenderFor(const std::string& address) {
    auto it = senders_.find(address);
    if (it != senders_.end()) return it->second;
    // Reply-to addresses are the callers'; a bounded set of links, the oldest closed first.
    if (senders_.size() >= 64) {
      for (auto old = senders_.begin(); old != senders_.end(); ++old) {
        if (old->first != options_.sink.address) {
          old->second.close();
          senders_.erase(old);
          break;
        }
      }
    }
    proton::sender s = connection_.open_sender(address, proton::sender_options().auto_settle(true));
    senders_[address] = s;
    return s;
  }

  void OnResult(uint64_t id, Result result) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    Job& job = it->second;
    job.in_engine = false;
    double node_ms = 0;
    for (const NodeTiming& t : result.trace) node_ms += t.micros / 1e3;
    if (!result.trace.empty())
      service_ms_ = service_ms_ == 0 ? node_ms : 0.9 * service_ms_ + 0.1 * node_ms;
    if (job.generation != generation_ || !connected_) {
      // Its connection is gone: the broker delivers the request again, to us or another.
      Finish(id);
      return;
    }
    job.dead_letter = !result.ok;
    if (!result.ok) {
      job.reason = FailureWord(result);
      job.description = (result.error_node.empty() ? "" : "node " + result.error_node + ": ") +
                        result.error_message;
    }
    const std::string reply_to = job.message.reply_to();
    proton::sender sender = SenderFor(reply_to.empty() ? options_.sink.address : reply_to);
    proton::tracker tracker = sender.send(EncodeResult(result, job.message, job.protobuf));
    trackers_[tracker] = id;
  }

  void OnResultSettled(proton::tracker& t, bool accepted) {
    auto tr = trackers_.find(t);
    if (tr == trackers_.end()) return;
    const uint64_t id = tr->second;
    trackers_.erase(tr);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    Job& job = it->second;
    if (job.generation == generation_) {
      if (!accepted) {
        counters_.results_refused++;
        if (int(job.message.delivery_count()) + 1 >= options_.max_deliveries) {
          // Brokers that count deliveries (Service Bus) tell us; RabbitMQ's quorum queue counts
          // itself (x-delivery-limit) and always says 0 here.
          RejectWithCondition(job.delivery, options_.dead_letter_condition, "max-deliveries",
                              "the result could not be delivered after " +
                                  std::to_string(options_.max_deliveries) + " attempts");
          counters_.dead_lettered++;
        } else {
          spdlog::warn("worker: the broker refused a result; the request is released for retry");
          job.delivery.release();
          counters_.released++;
        }
      } else if (job.dead_letter) {
        // Bad input and node errors are permanent (nodes have no transient failures today):
        // retrying cannot help, so the request goes to the dead-letter queue at once.
        RejectWithCondition(job.delivery, options_.dead_letter_condition, job.reason,
                            job.description);
        counters_.dead_lettered++;
      } else {
        job.delivery.accept();
        counters_.succeeded++;
      }
    }
    Finish(id);
  }

  // The job leaves; its credit returns to the receiver.
  void Finish(uint64_t id) {
    jobs_.erase(id);
    counters_.in_flight = int64_t(jobs_.size());
    TopUpCredit();
  }

  // Credit outstanding at the broker + requests held here never exceed max_credit_: the bound
  // on unsettled messages. Credit is granted in batches, only once the last grant is used up
  // and half the requests are done: RabbitMQ 3.10 restarts its credit count at every flow frame
  // (ignoring the delivery-count), so a top-up while messages are in transit lets it deliver
  // beyond the credit (measured: 19,038 deliveries in 1.5 s for a credit of 32 with per-
  // settlement top-ups). A flow only when it has stopped sending is exact on every broker.
  void TopUpCredit() {
    if (draining_ || !receiver_ || !connected_ || !receiver_.active()) return;
    if (receiver_.credit() > 0 || int(jobs_.size()) > max_credit_ / 2) return;
    receiver_.add_credit(max_credit_ - int(jobs_.size()));
  }

  void LinkFailed(const std::string& what, const proton::error_condition& error) {
    last_error_ = what + ": " + error.what();
    if (!ready_once_) {
      fatal_ = Status::InvalidArgument("error: " + last_error_);
      stop_everything_ = true;
    }
    spdlog::error("worker: {}", last_error_);
    if (connection_ && connection_.active()) connection_.close();
  }

  // Container thread (in the connection's context when connected).
  void DrainInbox() {
    std::vector<std::pair<uint64_t, Result>> results;
    {
      std::lock_guard<std::mutex> lock(post_mutex_);
      results.swap(inbox_);
    }
    for (auto& [id, result] : results) OnResult(id, std::move(result));
  }

  void ClearPoster() {
    std::lock_guard<std::mutex> lock(post_mutex_);
    work_queue_ = nullptr;
  }

  void Disconnected() {
    spdlog::debug("worker: disconnected (draining {}, closing {}, error '{}')", draining_, closing_,
                  last_error_);
    connected_ = false;
    ClearPoster();
    ++generation_;  // every job still held is now an orphan: the broker requeued its message
    trackers_.clear();
    // Jobs whose result was sent wait for a settlement that will never come: they go now (they
    // held credit, and nothing else would ever free it). Jobs still in the engine go when their
    // result arrives.
    std::erase_if(jobs_, [](const auto& entry) { return !entry.second.in_engine; });
    counters_.in_flight = int64_t(jobs_.size());
    senders_.clear();
    receiver_ = proton::receiver();
    sink_probe_ = proton::receiver();
    connection_ = proton::connection();
    if (stop_everything_ || (draining_ && closing_)) {
      StopContainer();
      return;
    }
    if (draining_) {  // the outage took the in-flight deliveries with it: nothing to wait for
      StopContainer();
      return;
    }
    const bool auth = last_error_.find("unauthorized") != std::string::npos ||
                      last_error_.find("SASL") != std::string::npos ||
                      last_error_.find("sasl") != std::string::npos ||
                      last_error_.find("authentication") != std::string::npos;
    if (!ready_once_ && (auth || SecondsSince(started_) > options_.connect_timeout_seconds)) {
      fatal_ = Status::InvalidArgument(
          "error: cannot connect to " + options_.source.ToString() + ": " +
          (last_error_.empty() ? "connection closed" : last_error_) +
          (auth ? " (check the user and the password in $" + options_.password_env + ")"
                : " (gave up after " + std::to_string(int(options_.connect_timeout_seconds)) +
                      " s)"));
      StopContainer();
      return;
    }
    // Exponential backoff with full jitter: workers that lost the same broker do not all come
    // back in the same instant.
    const double cap = std::min(options_.reconnect_max_seconds, 0.2 * std::pow(2.0, attempts_));
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    const double delay = cap * jitter(random_);
    ++attempts_;
    spdlog::warn("worker: connection lost ({}); reconnecting in {:.1f} s",
                 last_error_.empty() ? "closed" : last_error_, delay);
    container_->schedule(proton::duration(int64_t(delay * 1000) + 1), [this] { Connect(); });
  }

  // Proton's container does not return from run() when stop() is called inside a transport
  // event; the next tick (container context) stops it.
  void StopContainer() { stop_container_ = true; }

  void ScheduleTick() {
    container_->schedule(proton::duration(100), [this] { Tick(); });
  }

  // Every 100 ms on the container: results that arrived while there was no connection, the stop
  // sequence and the scaling sample. What touches the connection runs in the connection's own
  // context (its work queue): Proton only writes frames for work done there.
  void Tick() {
    if (stop_container_) {
      container_->stop();
      return;
    }
    {
      std::unique_lock<std::mutex> lock(post_mutex_);
      if (!inbox_.empty()) {
        if (work_queue_ != nullptr) {  // connected: sent in the connection's context
          work_queue_->add([this] { DrainInbox(); });
        } else {  // no connection: the results are orphans, settled here
          lock.unlock();
          DrainInbox();
        }
      }
    }
    if (stop_requested_ && !draining_) {
      draining_ = true;
      drain_deadline_ =
          Clock::now() + std::chrono::milliseconds(int64_t(options_.drain_seconds * 1000));
      spdlog::info("worker: stopping: no more credit, finishing {} in flight", jobs_.size());
    }
    if (draining_ && !connected_) {
      container_->stop();
      return;
    }
    if (closing_ && SecondsSince(closing_since_) > 5) {  // the broker does not answer the close
      container_->stop();
      return;
    }
    Sample();
    if (connected_ && draining_ && !closing_) {
      std::lock_guard<std::mutex> lock(post_mutex_);
      if (work_queue_ != nullptr) work_queue_->add([this] { DrainStep(); });
    }
    ScheduleTick();
  }

  // Connection context: once nothing is in flight (or the drain time is up), release what is
  // left and close.
  void DrainStep() {
    if (closing_ || !connected_ || (!jobs_.empty() && Clock::now() < drain_deadline_)) return;
    for (auto& [id, job] : jobs_) {
      if (job.generation == generation_) {
        job.delivery.release();
        counters_.released++;
      }
    }
    jobs_.clear();
    counters_.in_flight = 0;
    closing_ = true;
    closing_since_ = Clock::now();
    if (connection_ && connection_.active()) {
      connection_.close();
    } else {
      StopContainer();
    }
  }

  void Sample() {
    if (SecondsSince(last_sample_) < options_.scaling_interval_seconds) return;
    last_sample_ = Clock::now();
    ScalingSample sample;
    sample.t_s = SecondsSince(started_);
    sample.arrived_total = counters_.received.load();
    sample.mean_service_ms = service_ms_;
    sample.threads = engine_->threads();
    sample.queue_wait_s = queue_wait_s_;
    std::lock_guard<std::mutex> lock(scaling_mutex_);
    scaling_.Observe(sample);
    scaling_view_ = scaling_;
    queue_wait_view_ = queue_wait_s_;
  }

  Engine* engine_;
  WorkerOptions options_;
  WorkerCounters counters_;
  proton::container* container_ = nullptr;
  proton::connection connection_;
  proton::receiver receiver_;
  proton::receiver sink_probe_;
  std::map<std::string, proton::sender> senders_;
  std::map<uint64_t, Job> jobs_;
  std::map<proton::tracker, uint64_t> trackers_;
  uint64_t next_job_ = 0;
  uint64_t generation_ = 0;
  int max_credit_ = 1;
  int attempts_ = 0;
  bool sink_checked_ = false;
  bool ready_once_ = false;
  bool draining_ = false;
  bool closing_ = false;
  bool stop_everything_ = false;
  bool stop_container_ = false;
  bool over_delivery_logged_ = false;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> connected_{false};
  Clock::time_point started_ = Clock::now();
  Clock::time_point drain_deadline_;
  Clock::time_point closing_since_;
  Clock::time_point last_sample_ = Clock::now();
  std::string last_error_;
  Status fatal_;
  std::mt19937_64 random_{std::random_device{}()};
  double service_ms_ = 0;
  double queue_wait_s_ = 0;

  std::mutex post_mutex_;
  proton::work_queue* work_queue_ = nullptr;
  std::vector<std::pair<uint64_t, Result>> inbox_;

  ScalingSignal scaling_;
  mutable std::mutex scaling_mutex_;
  ScalingSignal scaling_view_;
  double queue_wait_view_ = 0;
};

Worker::Worker(Engine* engine, WorkerOptions options)
    : handler_(std::make_unique<Handler>(engine, std::move(options))) {}
Worker::~Worker() = default;
Status Worker::Run() { return handler_->Run(); }
void Worker::Stop() { handler_->Stop(); }
const WorkerCounters& Worker::counters() const { return handler_->counters(); }
std::string Worker::MetricsText() const { return handler_->MetricsText(); }
bool Worker::connected() const { return handler_->connected(); }

}  // namespace refinery::worker
