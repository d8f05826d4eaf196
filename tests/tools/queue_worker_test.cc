// The queue worker's parts that need no broker: URLs, message <-> request mapping (priority,
// ttl, expiry, encodings, undecodable bodies), and the scaling signal under a simulated ramp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <proton/binary.hpp>
#include <proton/scalar.hpp>
#include <proton/timestamp.hpp>

#include "graph/io/json_io.h"
#include "tools/worker/amqp_address.h"
#include "tools/worker/message_codec.h"
#include "tools/worker/scaling_signal.h"

namespace refinery::worker {
namespace {

using ::testing::HasSubstr;

TEST(AmqpAddress, ParsesSchemesUsersPortsAndAddresses) {
  StatusOr<AmqpAddress> a = ParseAmqpAddress("amqp://127.0.0.1:5673/amq/queue/jobs", "--source");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_FALSE(a->tls);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 5673);
  EXPECT_EQ(a->address, "/amq/queue/jobs");
  EXPECT_EQ(a->ConnectionUrl(), "amqp://127.0.0.1:5673");

  StatusOr<AmqpAddress> sb =
      ParseAmqpAddress("amqps://RootManageSharedAccessKey@ns.servicebus.windows.net/jobs", "x");
  ASSERT_TRUE(sb.ok());
  EXPECT_TRUE(sb->tls);
  EXPECT_EQ(sb->port, 5671);
  EXPECT_EQ(sb->user, "RootManageSharedAccessKey");
  EXPECT_EQ(sb->address, "jobs");
  EXPECT_EQ(ParseAmqpAddress("amqp://h/jobs/$DeadLetterQueue", "x")->address,
            "jobs/$DeadLetterQueue");
  EXPECT_EQ(ParseAmqpAddress("amqp://h//mine", "x")->address, "/mine");
  EXPECT_EQ(ParseAmqpAddress("amqp://[::1]:7/q", "x")->host, "::1");
}

TEST(AmqpAddress, RefusesWhatItCannotUseSayingWhy) {
  EXPECT_THAT(ParseAmqpAddress("http://h/q", "--sink").status().message(),
              HasSubstr("--sink 'http://h/q': not an amqp"));
  EXPECT_THAT(ParseAmqpAddress("amqp://h:99999/q", "x").status().message(), HasSubstr("port"));
  EXPECT_THAT(ParseAmqpAddress("amqp://h", "x").status().message(), HasSubstr("no queue"));
  EXPECT_THAT(ParseAmqpAddress("amqp://u:secret@h/q", "x").status().message(),
              HasSubstr("--password-env"));
}

TEST(MessageCodec, HeaderPriorityTtlAndMessageIdMapOntoTheRequest) {
  proton::message m;
  m.id("msg-1");
  m.body(std::string("{\"text\":\"hello\"}"));
  m.priority(9);
  m.ttl(proton::duration(1500));
  DecodedRequest d = DecodeRequest(m, std::chrono::system_clock::now());
  EXPECT_EQ(d.request.input_error, "");
  EXPECT_EQ(d.request.id, "msg-1");
  EXPECT_EQ(d.request.priority, 9);
  EXPECT_DOUBLE_EQ(d.request.deadline_ms, 1500);
  EXPECT_EQ(std::get<std::string>(d.request.fields.at("text")), "hello");

  // The body's own id, priority and an earlier deadline win.
  m.body(std::string("{\"id\":\"own\",\"priority\":2,\"deadline_ms\":100,\"text\":\"x\"}"));
  d = DecodeRequest(m, std::chrono::system_clock::now());
  EXPECT_EQ(d.request.id, "own");
  EXPECT_EQ(d.request.priority, 2);
  EXPECT_DOUBLE_EQ(d.request.deadline_ms, 100);
}

TEST(MessageCodec, AbsoluteExpiryBecomesADeadlineOrExpiresOnArrival) {
  const auto now = std::chrono::system_clock::now();
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  proton::message m(std::string("{\"text\":\"x\"}"));
  m.expiry_time(proton::timestamp(now_ms + 2000));
  DecodedRequest d = DecodeRequest(m, now);
  EXPECT_FALSE(d.expired);
  EXPECT_DOUBLE_EQ(d.request.deadline_ms, 2000);
  m.expiry_time(proton::timestamp(now_ms - 1));
  EXPECT_TRUE(DecodeRequest(m, now).expired);
}

TEST(MessageCodec, ProtobufBodiesRoundTripAndBadBodiesBecomeInputErrors) {
  Request r;
  r.id = "p1";
  r.fields["text"] = "binary body";
  proton::message m;
  m.content_type(kProtobufContentType);
  m.body(proton::binary(RequestToProto(r).SerializeAsString()));
  DecodedRequest d = DecodeRequest(m, std::chrono::system_clock::now());
  EXPECT_TRUE(d.protobuf);
  EXPECT_EQ(d.request.id, "p1");
  EXPECT_EQ(std::get<std::string>(d.request.fields.at("text")), "binary body");

  Result result;
  result.id = "p1";
  result.fields["text"] = "done";
  proton::message out = EncodeResult(result, m, true);
  EXPECT_EQ(out.content_type(), kProtobufContentType);
  proto::Result parsed;
  const proton::binary bytes = proton::get<proton::binary>(out.body());
  ASSERT_TRUE(parsed.ParseFromString(std::string(bytes.begin(), bytes.end())));
  EXPECT_EQ(parsed.id(), "p1");

  proton::message bad;
  bad.id(uint64_t(7));
  bad.body(int32_t(3));
  d = DecodeRequest(bad, std::chrono::system_clock::now());
  EXPECT_THAT(d.request.input_error, HasSubstr("not a string or binary"));
  EXPECT_EQ(d.request.id, "7");
  bad.body(std::string("{\"text\":"));
  EXPECT_THAT(DecodeRequest(bad, std::chrono::system_clock::now()).request.input_error,
              HasSubstr("message body"));
}

TEST(MessageCodec, FailedResultsCarryTheReasonAsProperties) {
  proton::message request(std::string("{}"));
  request.id("m1");
  request.correlation_id("c1");
  Result failed;
  failed.id = "m1";
  failed.ok = false;
  failed.failure = FailureKind::kDeadline;
  failed.error_message = "deadline passed";
  proton::message out = EncodeResult(failed, request, false);
  EXPECT_EQ(proton::to_string(out.correlation_id()), "c1");
  EXPECT_EQ(proton::to_string(out.id()), "m1");
  EXPECT_EQ(proton::get<bool>(out.properties().get("refinery-ok")), false);
  EXPECT_EQ(proton::get<std::string>(out.properties().get("refinery-failure")), "deadline");
}

// A queue fed by a linear ramp of arrivals, served by as many workers as the signal recommends,
// each started `horizon` seconds after it was asked for. Returns the worst latency (queue wait +
// service) seen, and when the recommendation first rose.
struct RampOutcome {
  double worst_latency_s = 0;
  double first_raise_s = -1;
  int final_recommendation = 0;
};
constexpr double kSlope = 0.5;  // arrivals grow by 0.5 req/s every second: 10 -> 150 req/s
double RampRate(double t) { return t < 30 ? 10 : std::min(10 + (t - 30) * kSlope, 150.0); }

RampOutcome SimulateRamp(bool autoscale, double provisioning_s, double horizon_s) {
  ScalingOptions options;
  options.target_latency_s = 2;
  options.horizon_s = horizon_s;
  ScalingSignal signal(options);
  const double capacity = 20;  // requests/s per worker: 1 thread, 50 ms per request
  const double dt = 1;
  double queue = 0, arrived = 0;
  int workers = 1;
  std::vector<std::pair<double, int>> pending;  // (ready at, count)
  RampOutcome out;
  for (double t = 0; t <= 400; t += dt) {
    const double rate = RampRate(t);
    arrived += rate * dt;
    queue += rate * dt;
    queue = std::max(0.0, queue - workers * capacity * dt);
    const double latency = queue / (workers * capacity) + 1 / capacity;
    out.worst_latency_s = std::max(out.worst_latency_s, latency);
    ScalingSample s;
    s.t_s = t;
    s.arrived_total = int64_t(arrived);
    s.mean_service_ms = 1000 / capacity;
    s.queue_wait_s = queue / (workers * capacity);
    signal.Observe(s);
    if (out.first_raise_s < 0 && signal.recommended() > 1) out.first_raise_s = t;
    if (autoscale) {
      for (auto it = pending.begin(); it != pending.end();) {
        if (it->first <= t) {
          workers += it->second;
          it = pending.erase(it);
        } else {
          ++it;
        }
      }
      int coming = workers;
      for (auto& p : pending) coming += p.second;
      if (signal.recommended() > coming)
        pending.push_back({t + provisioning_s, signal.recommended() - coming});
    }
  }
  out.final_recommendation = signal.recommended();
  return out;
}

TEST(ScalingSignal, ARampRaisesTheRecommendationBeforeTheLatencyTargetIsMissed) {
  // Without scaling, one worker (20 req/s) misses the 2 s target soon after the ramp passes 20.
  const RampOutcome fixed = SimulateRamp(false, 20, 20);
  EXPECT_GT(fixed.worst_latency_s, 100);
  double missed_at = -1;
  for (double t = 0, queue = 0; t <= 400 && missed_at < 0; t += 1) {
    queue = std::max(0.0, queue + RampRate(t) - 20);
    if (queue / 20 + 0.05 > 2) missed_at = t;
  }
  ASSERT_GT(missed_at, 0);
  // The forecast asks for a second worker while one still keeps up (the rate passes 20 at 50 s),
  // more than a worker's start-up time before the target is missed...
  EXPECT_GT(fixed.first_raise_s, 30);
  EXPECT_LT(fixed.first_raise_s, 50);
  EXPECT_LT(fixed.first_raise_s + 20, missed_at);
  // ...and following it, with workers that take 20 s to start, the target holds throughout.
  const RampOutcome scaled = SimulateRamp(true, 20, 20);
  EXPECT_LE(scaled.worst_latency_s, 2.0);
  // At 150 req/s and 80 % target utilisation: ceil(150 / 16) = 10 workers (11 while the
  // hysteresis holds the peak of the forecast's overshoot).
  EXPECT_GE(scaled.final_recommendation, 10);
  EXPECT_LE(scaled.final_recommendation, 11);
  // Reacting to the current rate alone (no forecast horizon) is later: worse latency.
  const RampOutcome reactive = SimulateRamp(true, 20, 0);
  EXPECT_GT(reactive.worst_latency_s, scaled.worst_latency_s);
}

TEST(ScalingSignal, HysteresisHoldsThroughBriefDipsAndScalesDownAfterASustainedOne) {
  ScalingOptions options;
  options.down_after = 3;
  ScalingSignal signal(options);
  int64_t arrived = 0;
  double t = 0;
  auto step = [&](double rate) {
    t += 1;
    arrived += int64_t(rate);
    signal.Observe({t, arrived, 10, 1, 0});  // 100 req/s per worker
  };
  for (int i = 0; i < 20; ++i) step(400);  // 400 / (100 * 0.8) = 5
  EXPECT_EQ(signal.recommended(), 5);
  step(50);
  step(400);
  EXPECT_EQ(signal.recommended(), 5) << "one quiet second is not a trend";
  for (int i = 0; i < 20; ++i) step(60);
  EXPECT_EQ(signal.recommended(), 1);
}

}  // namespace
}  // namespace refinery::worker
