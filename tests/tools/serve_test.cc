// graph-runner serve as a library (tools/service/server.h) on a free loopback port, called
// through refinery::client and raw stubs: unary and streaming calls, ordered streams, several
// pipelines, deadlines while queued, priority across clients, cancellation without leaks,
// back-pressure against a client that never reads, limits, malformed requests, tokens, TLS.
// The process-level behaviour (SIGTERM drain, SIGHUP reload, the Python client, health and
// reflection) is in serve_process_test.cc.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "graph/runtime/tracked_item.h"
#include "tests/support/certificates.h"
#include "tests/support/scratch_path.h"
#include "tests/support/wait_until.h"
#include "tools/service/client.h"
#include "tools/service/server.h"

namespace refinery {
namespace {

using service::ServeOptions;
using service::Server;

// Upper-cases `text`: fast, many at once.
constexpr const char* kFast =
    "pipeline: fast\nmax_in_flight: 64\nnodes:\n  - {id: up, type: upper}\n";
// One request at a time for 100 ms each, behind a priority queue.
constexpr const char* kSlow =
    "pipeline: slow\nmax_in_flight: 64\nnodes:\n"
    "  - {id: d, type: delay, micros: 100000, concurrency: 1, queue: {order: priority}}\n";

std::string WritePipeline(const std::string& name, const std::string& yaml) {
  const std::string path = testing::ScratchPath(name + ".yaml");
  std::ofstream(path) << yaml;
  return path;
}

ServeOptions Options() {
  ServeOptions o;
  o.pipelines = {WritePipeline("fast", kFast), WritePipeline("slow", kSlow)};
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  return o;
}

std::unique_ptr<Server> StartServer(ServeOptions o = Options()) {
  auto server = Server::Start(std::move(o));
  EXPECT_TRUE(server.ok()) << server.status().message();
  return server.ok() ? std::move(server).value() : nullptr;
}

std::unique_ptr<client::Client> Connect(const Server& server, client::ClientOptions o = {}) {
  o.target = server.address();
  auto c = client::Client::Connect(o);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return std::move(c).value();
}

// A generated stub without the client library: for calls the library does not make.
std::unique_ptr<v1::Refinery::Stub> RawStub(const Server& server) {
  return v1::Refinery::NewStub(
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
}

Request Req(const std::string& id, const std::string& text = "abc") {
  Request r;
  r.id = id;
  r.fields["text"] = text;
  return r;
}

std::string Text(const Result& r) {
  auto it = r.fields.find("text");
  return it == r.fields.end() ? "" : std::get<std::string>(it->second);
}

TEST(Serve, UnaryRunReturnsTheResultAndUnknownPipelinesAreNotFound) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  EXPECT_GT(server->port(), 0);
  auto c = Connect(*server);
  StatusOr<Result> r = c->Run("fast", Req("1", "hello"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->id, "1");
  EXPECT_EQ(Text(*r), "HELLO");
  StatusOr<Result> missing = c->Run("nope", Req("2"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'fast', 'slow'"), std::string::npos)
      << missing.status().message();
  EXPECT_EQ(server->call_metrics().handled(service::Method::kRun, 0), 1);
  EXPECT_EQ(server->call_metrics().handled(service::Method::kRun, int(grpc::StatusCode::NOT_FOUND)),
            1);
}

TEST(Serve, TenThousandRequestsOnOneStreamNothingLostOrDoubled) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  auto c = Connect(*server);
  constexpr int kRequests = 10000;
  int next = 0;
  std::set<std::string> ids;
  int results = 0;
  Status s = c->Stream(
      "fast",
      [&](Request* r) {
        if (next == kRequests) return false;
        *r = Req(std::to_string(next++), "x");
        return true;
      },
      [&](Result&& r) {
        ++results;
        EXPECT_TRUE(r.ok) << r.error_message;
        EXPECT_EQ(Text(r), "X");
        ids.insert(r.id);
      });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(results, kRequests);
  EXPECT_EQ(ids.size(), size_t(kRequests));
  EXPECT_TRUE(testing::WaitUntil([] { return TrackedItem::LiveCount() == 0; }));
}

TEST(Serve, OrderedStreamsReturnResultsInRequestOrder) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  auto c = Connect(*server);
  int next = 0;
  std::vector<std::string> ids;
  client::StreamOptions o;
  o.ordered = true;
  // Long and short texts mixed, on a pipeline that runs many at once.
  Status s = c->Stream(
      "fast",
      [&](Request* r) {
        if (next == 3000) return false;
        *r = Req(std::to_string(next), std::string(next % 7 == 0 ? 20000 : 3, 'a'));
        ++next;
        return true;
      },
      [&](Result&& r) { ids.push_back(r.id); }, o);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(ids.size(), 3000u);
  for (int i = 0; i < 3000; ++i) ASSERT_EQ(ids[size_t(i)], std::to_string(i));
}

TEST(Serve, SeveralPipelinesAreListedDescribedAndAddressedByName) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  auto c = Connect(*server);
  auto list = c->ListPipelines();
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->pipelines_size(), 2);
  EXPECT_EQ(list->pipelines(0).name(), "fast");
  EXPECT_EQ(list->pipelines(1).name(), "slow");
  auto described = c->DescribePipeline("slow");
  ASSERT_TRUE(described.ok()) << described.status().message();
  ASSERT_EQ(described->nodes_size(), 1);
  EXPECT_EQ(described->nodes(0).type(), "delay");
  EXPECT_EQ(described->nodes(0).options().at("micros"), "100000");
  EXPECT_NE(described->dot().find("digraph"), std::string::npos);
  // Both serve at once.
  StatusOr<Result> fast = c->Run("fast", Req("f"));
  StatusOr<Result> slow = c->Run("slow", Req("s"));
  ASSERT_TRUE(fast.ok() && slow.ok());
  EXPECT_EQ(Text(*fast), "ABC");
  EXPECT_EQ(Text(*slow), "abc");
  auto stats = c->Stats("slow");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->pipeline(), "slow");
  EXPECT_EQ(stats->succeeded(), 1);
}

TEST(Serve, TheCallDeadlineFailsARequestStillQueuedAtThatMoment) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  auto c = Connect(*server);
  // One request occupies the node for 100 ms; the next waits in its queue.
  std::thread busy([&] { (void)c->Run("slow", Req("busy")); });
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return server->pipelines()->Find("slow").value()->engine->Stats().in_flight == 1; }));
  const auto start = std::chrono::steady_clock::now();
  StatusOr<Result> r = c->Run("slow", Req("late"), std::chrono::milliseconds(30));
  const double waited_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  busy.join();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("DEADLINE_EXCEEDED"), std::string::npos)
      << r.status().message();
  // At its deadline, not when the running request ended (~100 ms).
  EXPECT_LT(waited_ms, 90);
}

// One request at a time in the whole pipeline, 200 ms each: a second call finds it full.
constexpr const char* kTight =
    "pipeline: tight\nmax_in_flight: 1\nnodes:\n  - {id: d, type: delay, micros: 200000}\n";

ServeOptions TightOptions() {
  ServeOptions o = Options();
  o.pipelines = {WritePipeline("tight", kTight)};
  return o;
}

TEST(Serve, AUnaryCallWaitsForRoomUpToItsDeadline) {
  auto server = StartServer(TightOptions());
  ASSERT_TRUE(server);
  auto c = Connect(*server);
  Engine& engine = *server->pipelines()->Find("tight").value()->engine;
  std::thread busy([&] { EXPECT_TRUE(c->Run("tight", Req("busy")).ok()); });
  ASSERT_TRUE(testing::WaitUntil([&] { return engine.Stats().in_flight == 1; }));
  // Waits for the slot (no thread of the pipeline is involved), then runs.
  StatusOr<Result> waited = c->Run("tight", Req("next", "x"));
  ASSERT_TRUE(waited.ok()) << waited.status().message();
  EXPECT_EQ(Text(*waited), "x");
  busy.join();
  // A deadline shorter than the wait ends the call while it waits for room.
  std::thread again([&] { EXPECT_TRUE(c->Run("tight", Req("busy2")).ok()); });
  // busy2 is in (the third admitted), not "next" still releasing its slot.
  ASSERT_TRUE(testing::WaitUntil([&] {
    const EngineStats s = engine.Stats();
    return s.submitted == 3 && s.in_flight == 1;
  }));
  StatusOr<Result> late = c->Run("tight", Req("late"), std::chrono::milliseconds(50));
  again.join();
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.status().message().find("DEADLINE_EXCEEDED"), std::string::npos)
      << late.status().message();
  EXPECT_TRUE(testing::WaitUntil([&] { return engine.Stats().in_flight == 0; }));
  EXPECT_EQ(engine.Stats().succeeded, 3);  // busy, next, busy2; the late one never went in
}

TEST(Serve, RejectWhenFullRefusesAtOnceAndWaitersAreBounded) {
  ServeOptions o = TightOptions();
  o.reject_when_full = true;
  auto server = StartServer(o);
  ASSERT_TRUE(server);
  auto c = Connect(*server);
  Engine& engine = *server->pipelines()->Find("tight").value()->engine;
  std::thread busy([&] { EXPECT_TRUE(c->Run("tight", Req("busy")).ok()); });
  ASSERT_TRUE(testing::WaitUntil([&] { return engine.Stats().in_flight == 1; }));
  const auto start = std::chrono::steady_clock::now();
  StatusOr<Result> refused = c->Run("tight", Req("refused"));
  const auto waited = std::chrono::steady_clock::now() - start;
  busy.join();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("--reject-when-full"), std::string::npos)
      << refused.status().message();
  EXPECT_LT(waited, std::chrono::milliseconds(150));  // not after the 200 ms request ended

  // Without --reject-when-full, calls wait on at most --max-threads threads; one more is refused.
  ServeOptions bounded = TightOptions();
  bounded.max_threads = 2;
  auto server2 = StartServer(bounded);
  ASSERT_TRUE(server2);
  auto c2 = Connect(*server2);
  Engine& engine2 = *server2->pipelines()->Find("tight").value()->engine;
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  callers.emplace_back([&] { ok += c2->Run("tight", Req("busy")).ok(); });
  ASSERT_TRUE(testing::WaitUntil([&] { return engine2.Stats().in_flight == 1; }));
  for (int i = 0; i < 2; ++i)
    callers.emplace_back([&, i] { ok += c2->Run("tight", Req("w" + std::to_string(i))).ok(); });
  // Both waiters are waiting when the next call comes (each holds one of the two threads).
  ASSERT_TRUE(testing::WaitUntil([&] {
    return server2->MetricsText().find("refinery_grpc_calls_waiting_for_room 2") !=
           std::string::npos;
  }));
  StatusOr<Result> over = c2->Run("tight", Req("over"));
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok.load(), 3);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(over.status().message().find("--max-threads"), std::string::npos)
      << over.status().message();
}

TEST(Serve, PriorityOrdersWorkAcrossClients) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  auto low = Connect(*server);
  auto high = Connect(*server);
  auto occupier = Connect(*server);
  std::mutex mu;
  std::vector<std::string> order;
  auto record = [&](Result&& r) {
    std::lock_guard lock(mu);
    order.push_back(r.id);
  };
  std::thread busy([&] { (void)occupier->Run("slow", Req("busy")); });
  Engine& engine = *server->pipelines()->Find("slow").value()->engine;
  ASSERT_TRUE(testing::WaitUntil([&] { return engine.Stats().in_flight == 1; }));
  auto stream = [&](client::Client* c, const std::string& prefix, std::optional<int32_t> priority) {
    int n = 0;
    client::StreamOptions o;
    o.priority = priority;
    return c->Stream(
        "slow",
        [&](Request* r) {
          if (n == 3) return false;
          *r = Req(prefix + std::to_string(n++));
          return true;
        },
        record, o);
  };
  // Both clients' requests are queued while the first one runs.
  std::thread a([&] { EXPECT_TRUE(stream(low.get(), "low", std::nullopt).ok()); });
  ASSERT_TRUE(testing::WaitUntil([&] { return engine.Stats().in_flight == 4; }));
  std::thread b([&] { EXPECT_TRUE(stream(high.get(), "high", 10).ok()); });
  a.join();
  b.join();
  busy.join();
  ASSERT_EQ(order.size(), 6u);
  if (order[0] == "low0") order.erase(order.begin());  // may have started before high arrived
  for (int i = 0; i < 3; ++i) EXPECT_EQ(order[size_t(i)].substr(0, 4), "high") << i;
}

TEST(Serve, ACancelledStreamStopsItsRequestsAndLeaksNothing) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  auto c = Connect(*server);
  Engine& engine = *server->pipelines()->Find("slow").value()->engine;
  const int64_t live_before = TrackedItem::LiveCount();
  int n = 0, results = 0;
  client::StreamOptions o;
  o.timeout = std::chrono::milliseconds(250);  // the call ends with 40 requests unanswered
  const auto start = std::chrono::steady_clock::now();
  Status s = c->Stream(
      "slow",
      [&](Request* r) {
        if (n == 40) return false;
        *r = Req(std::to_string(n++));
        return true;
      },
      [&](Result&& r) { results += r.ok; }, o);
  EXPECT_FALSE(s.ok());
  // Answers, not results: requests still queued when the call's deadline passes come back as
  // deadline errors, and a loaded machine can deliver some of those before the client's own
  // deadline ends the stream (the fresh-root run got 26 results, most of them such errors).
  EXPECT_LT(results, 10);
  // Without the cancellation the queue would take 4 s to run; it empties at once instead.
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return engine.Stats().in_flight == 0 && TrackedItem::LiveCount() == live_before; },
      std::chrono::milliseconds(1500)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_LE(engine.Stats().succeeded, 4);
}

TEST(Serve, RunBatchesPacksReadyResultsAndKeepsTheCapInsideABatch) {
  ServeOptions o = Options();
  o.stream_in_flight = 4;
  auto server = StartServer(o);
  ASSERT_TRUE(server);
  auto stub = RawStub(*server);
  grpc::ClientContext context;
  context.AddMetadata("refinery-ordered", "true");
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = stub->RunBatches(&context);
  // A slow request first: in request order, the fast ones behind it are held until it is done,
  // and then are ready together, so they leave in few messages.
  v1::RunBatch batch;
  v1::RunRequest* slow = batch.add_requests();
  slow->set_pipeline("slow");
  slow->mutable_request()->set_id("s");
  slow->mutable_request()->set_text("first");
  constexpr int kFast = 200;
  for (int i = 0; i < kFast; ++i) {
    v1::RunRequest* r = batch.add_requests();
    r->set_pipeline("fast");
    if (i == 7) {
      r->set_json("{\"text\": ");  // malformed: an error result in its place, by position
    } else {
      r->mutable_request()->set_id("f" + std::to_string(i));
      r->mutable_request()->set_text("x");
    }
  }
  ASSERT_TRUE(stream->Write(batch));
  stream->WritesDone();
  std::vector<proto::Result> results;
  int messages = 0;
  v1::ResultBatch got;
  while (stream->Read(&got)) {
    ++messages;
    for (const proto::Result& r : got.results()) results.push_back(r);
  }
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(results.size(), size_t(kFast + 1));
  EXPECT_EQ(results[0].id(), "s");
  EXPECT_EQ(results[0].fields().at("text"), "first");
  for (int i = 0; i < kFast; ++i) {
    const proto::Result& r = results[size_t(i + 1)];
    if (i == 7) {
      EXPECT_EQ(r.id(), "9");  // the 9th request of the stream
      EXPECT_EQ(r.status(), "error");
    } else {
      EXPECT_EQ(r.id(), "f" + std::to_string(i));
      EXPECT_EQ(r.fields().at("text"), "X");
    }
  }
  // The cap of 4 held inside the 201-request message. The engine counts a request until its
  // completion returns, a moment after the stream wrote its result and let the next one in, so
  // its peak can pass the stream's cap by a few; without the cap it would be the pipeline's 64.
  EXPECT_LE(server->pipelines()->Find("fast").value()->engine->Stats().peak_in_flight, 8);
  // With a cap of 4, at most 4 results wait at a time, so 201 results take at least ~50
  // messages; what this checks is that a message carried more than one.
  EXPECT_LT(messages, kFast + 1);
}

TEST(Serve, AClientThatNeverReadsCannotMakeTheServerBuffer) {
  ServeOptions o = Options();
  o.stream_in_flight = 8;
  auto server = StartServer(o);
  ASSERT_TRUE(server);
  auto stub = RawStub(*server);
  grpc::ClientContext context;
  auto stream = stub->RunStream(&context);
  std::atomic<int64_t> written{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    v1::RunRequest m;
    m.set_pipeline("fast");
    m.mutable_request()->set_text(std::string(16 << 10, 'x'));
    while (!stop.load() && stream->Write(m)) written.fetch_add(1);
  });
  const std::string key =
      "refinery_grpc_server_msg_received_total{grpc_service=\"refinery.v1.Refinery\","
      "grpc_method=\"RunStream\"} ";
  auto received = [&] {
    const std::string metrics = server->MetricsText();
    const size_t at = metrics.find(key);
    return at == std::string::npos ? int64_t(-1) : std::stoll(metrics.substr(at + key.size()));
  };
  // Results the client does not take fill the HTTP/2 window and the socket buffers (a few MB);
  // then the server stops reading, and the client's writes block in turn.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const int64_t early = received();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const int64_t late = received();
  ASSERT_GT(early, 0);
  EXPECT_EQ(late, early) << "the server kept reading from a client that does not read";
  EXPECT_LE(late * (16 << 10), int64_t(16) << 20) << late << " requests of 16 KiB read";
  EXPECT_LE(written.load(), late + 2000);  // the client's own buffers are bounded too
  EXPECT_LE(server->pipelines()->Find("fast").value()->engine->Stats().in_flight, 8);
  stop = true;
  context.TryCancel();
  writer.join();
  EXPECT_TRUE(testing::WaitUntil([] { return TrackedItem::LiveCount() == 0; }));
}

TEST(Serve, LimitsGiveAStatusNamingTheLimit) {
  ServeOptions o = Options();
  o.max_message_bytes = 4096;
  o.max_field_bytes = 1000;
  auto server = StartServer(o);
  ASSERT_TRUE(server);
  auto c = Connect(*server);
  StatusOr<Result> big = c->Run("fast", Req("big", std::string(8000, 'a')));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted) << big.status().message();
  StatusOr<Result> field = c->Run("fast", Req("field", std::string(2000, 'a')));
  ASSERT_FALSE(field.ok());
  EXPECT_EQ(field.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(field.status().message().find("--max-field-bytes"), std::string::npos)
      << field.status().message();
  EXPECT_TRUE(c->Run("fast", Req("ok", "small")).ok());
}

TEST(Serve, TooManyStreamsAreRefused) {
  ServeOptions o = Options();
  o.max_streams = 1;
  auto server = StartServer(o);
  ASSERT_TRUE(server);
  auto stub = RawStub(*server);
  grpc::ClientContext first_context;
  auto first = stub->RunStream(&first_context);
  v1::RunRequest m;
  m.set_pipeline("fast");
  m.mutable_request()->set_text("a");
  ASSERT_TRUE(first->Write(m));
  proto::Result r;
  ASSERT_TRUE(first->Read(&r));  // the first stream is open on the server
  auto c = Connect(*server);
  Status s = c->Stream(
      "fast", [](Request*) { return false; }, [](Result&&) {});
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.message();
  EXPECT_NE(s.message().find("--max-streams"), std::string::npos) << s.message();
  first->WritesDone();
  EXPECT_TRUE(first->Finish().ok());
}

TEST(Serve, AMalformedRequestIsAnErrorResultAndTheStreamGoesOn) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  auto stub = RawStub(*server);
  grpc::ClientContext context;
  context.AddMetadata("refinery-ordered", "true");
  // Not a timing assertion: the three results are ready in milliseconds, and a server write
  // that waits for the transport to flush for another reason stalled this stream 60 s.
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = stub->RunStream(&context);
  v1::RunRequest bad, good, unknown;
  bad.set_pipeline("fast");
  bad.set_json("{\"id\": \"x\", \"text\": ");
  good.set_pipeline("fast");
  good.set_json("{\"id\": \"g\", \"text\": \"fine\"}");
  unknown.set_pipeline("nope");
  unknown.mutable_request()->set_id("u");
  ASSERT_TRUE(stream->Write(bad) && stream->Write(unknown) && stream->Write(good));
  stream->WritesDone();
  std::vector<proto::Result> results(3);
  for (auto& r : results) ASSERT_TRUE(stream->Read(&r));
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(results[0].id(), "1");  // its position in the stream, as a line number would be
  EXPECT_EQ(results[0].status(), "error");
  EXPECT_NE(results[0].error().message().find("not a valid request"), std::string::npos);
  EXPECT_EQ(results[1].id(), "u");
  EXPECT_NE(results[1].error().message().find("no pipeline 'nope'"), std::string::npos);
  EXPECT_EQ(results[2].id(), "g");
  EXPECT_EQ(results[2].fields().at("text"), "FINE");
}

TEST(Serve, ATokenIsRequiredWhenConfigured) {
  ServeOptions o = Options();
  o.auth_token = "s3cret-token";
  auto server = StartServer(o);
  ASSERT_TRUE(server);
  auto none = Connect(*server);
  client::ClientOptions wrong_options;
  wrong_options.auth_token = "s3cret-tokem";
  auto wrong = Connect(*server, wrong_options);
  client::ClientOptions right_options;
  right_options.auth_token = "s3cret-token";
  auto right = Connect(*server, right_options);
  for (client::Client* c : {none.get(), wrong.get()}) {
    StatusOr<Result> r = c->Run("fast", Req("1"));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("UNAUTHENTICATED"), std::string::npos)
        << r.status().message();
    EXPECT_FALSE(c->ListPipelines().ok());
  }
  StatusOr<Result> r = right->Run("fast", Req("1"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Text(*r), "ABC");
}

TEST(Serve, TlsServesTrustedClientsOnly) {
  const std::string dir = testing::ScratchPath("tls");
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(testing::MakeCertificates(dir))
      << "the openssl program (Debian package openssl, installed "
         "by tools/setup.sh --tests) could not make certificates";
  ServeOptions o = Options();
  o.tls_cert = dir + "/server.pem";
  o.tls_key = dir + "/server.key";
  auto server = StartServer(o);
  ASSERT_TRUE(server);
  client::ClientOptions trusted;
  trusted.tls_ca = dir + "/ca.pem";
  trusted.tls_server_name = "localhost";
  auto c = Connect(*server, trusted);
  StatusOr<Result> r = c->Run("fast", Req("1"), std::chrono::seconds(10));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Text(*r), "ABC");
  auto plain = Connect(*server);  // no TLS: the handshake never completes
  EXPECT_FALSE(plain->Run("fast", Req("2"), std::chrono::seconds(2)).ok());
}

TEST(Serve, AReloadKeepsServingAndAnInvalidOneChangesNothing) {
  ServeOptions o = Options();
  auto server = StartServer(o);
  ASSERT_TRUE(server);
  auto c = Connect(*server);
  // Load in the background all along: no call may fail across the reloads.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread load([&] {
    while (!stop.load()) {
      StatusOr<Result> r = c->Run("fast", Req("l"));
      (r.ok() && r->ok ? ok : failed).fetch_add(1);
    }
  });
  std::ofstream(o.pipelines[0]) << "pipeline: fast\nmax_in_flight: 64\nnodes:\n"
                                   "  - {id: up, type: upper}\n  - {id: c, type: copy, from: "
                                   "text, to: copied}\nedges:\n  - up -> c\n";
  ASSERT_TRUE(server->Reload().ok());
  StatusOr<Result> after = c->Run("fast", Req("2", "new"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(std::get<std::string>(after->fields.at("copied")), "NEW");
  std::ofstream(o.pipelines[0]) << "pipeline: fast\nnodes:\n  - {id: up, type: upperr}\n";
  Status refused = server->Reload();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find(o.pipelines[0] + ":3:"), std::string::npos) << refused.message();
  StatusOr<Result> still = c->Run("fast", Req("3", "old"));
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(std::get<std::string>(still->fields.at("copied")), "OLD");
  stop = true;
  load.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(failed.load(), 0);
}

}  // namespace
}  // namespace refinery
