// EndpointClient against a scripted in-test HTTP server on a free loopback port: retries (429
// with Retry-After, 5xx), no retries for 4xx, malformed and truncated answers, timeouts,
// deadlines, the API key, the concurrency limit and priority order.
#include "nodes/openai/endpoint_client.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <atomic>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

namespace refinery::openai {
namespace {

using namespace std::chrono_literals;

// One scripted answer.
struct Action {
  int status = 200;
  std::string body;
  std::string retry_after;
  std::chrono::milliseconds delay{0};
  std::vector<std::string> chunks;  // non-empty: a text/event-stream answer
};

std::string Ok(const std::string& text) {
  return R"({"choices":[{"text":")" + text +
         R"(","finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}})";
}

class FaultServer {
 public:
  FaultServer() {
    auto handle = [this](const httplib::Request& req, httplib::Response& res) {
      const int now = ++in_flight_;
      for (int seen = max_in_flight_;
           now > seen && !max_in_flight_.compare_exchange_weak(seen, now);) {
      }
      Action a;
      {
        std::lock_guard lock(mu_);
        ++calls_;
        auth_.push_back(req.get_header_value("Authorization"));
        extra_.push_back(req.get_header_value("X-Team"));
        bodies_.push_back(req.body);
        if (!script_.empty()) {
          a = script_.front();
          script_.pop_front();
        } else {
          a.body = Ok("fallback");
        }
      }
      std::this_thread::sleep_for(a.delay);
      --in_flight_;
      res.status = a.status;
      if (!a.retry_after.empty()) res.set_header("Retry-After", a.retry_after);
      if (a.chunks.empty()) {
        res.set_content(a.body, "application/json");
        return;
      }
      res.set_chunked_content_provider("text/event-stream",
                                       [chunks = a.chunks](size_t, httplib::DataSink& sink) {
                                         for (const auto& c : chunks)
                                           sink.write(c.data(), c.size());
                                         sink.done();
                                         return true;
                                       });
    };
    server_.Post("/v1/completions", handle);
    server_.Post("/v1/chat/completions", handle);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~FaultServer() {
    server_.stop();
    thread_.join();
  }
  void Script(std::vector<Action> actions) {
    std::lock_guard lock(mu_);
    for (auto& a : actions) script_.push_back(std::move(a));
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::vector<std::string> auth() {
    std::lock_guard lock(mu_);
    return auth_;
  }
  std::vector<std::string> extra() {
    std::lock_guard lock(mu_);
    return extra_;
  }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  int max_in_flight() const { return max_in_flight_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::deque<Action> script_;
  int calls_ = 0;
  std::vector<std::string> auth_, extra_, bodies_;
  std::atomic<int> in_flight_{0}, max_in_flight_{0};
};

EndpointOptions Options(const FaultServer& s) {
  EndpointOptions o;
  o.base_url = s.url();
  o.backoff_ms = 20;
  o.max_concurrency = 2;
  return o;
}

CompletionRequest Prompt(std::string text, bool stream = false) {
  CompletionRequest r;
  r.model = "m";
  r.prompt = std::move(text);
  r.stream = stream;
  return r;
}

CallResult Call(EndpointClient& client, CompletionRequest r,
                std::optional<EndpointClient::Clock::time_point> deadline = std::nullopt) {
  std::promise<CallResult> done;
  auto f = done.get_future();
  client.Submit(std::move(r), 0, deadline, [&done](CallResult c) { done.set_value(std::move(c)); });
  return f.get();
}

TEST(EndpointClient, RetriesRateLimitsAndServerErrorsThenSucceeds) {
  FaultServer server;
  server.Script(
      {{.status = 429, .body = R"({"error":{"message":"slow down"}})", .retry_after = "0"},
       {.status = 503, .body = "busy"},
       {.status = 200, .body = Ok("done")}});
  auto client = EndpointClient::Get(Options(server));
  ASSERT_TRUE(client.ok()) << client.status().message();
  CallResult r = Call(**client, Prompt("x"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.completion.text, "done");
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.completion.usage.prompt_tokens, 3);
  EXPECT_EQ(server.calls(), 3);
}

TEST(EndpointClient, RetryAfterIsHonoured) {
  FaultServer server;
  server.Script({{.status = 429, .body = "{}", .retry_after = "1"}, {.body = Ok("late")}});
  auto client = EndpointClient::Get(Options(server));
  ASSERT_TRUE(client.ok());
  const auto start = std::chrono::steady_clock::now();
  CallResult r = Call(**client, Prompt("x"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_GE(std::chrono::steady_clock::now() - start, 950ms) << "waited what the server asked";
}

TEST(EndpointClient, GivesUpAfterMaxRetriesNamingEndpointAndCause) {
  FaultServer server;
  server.Script({{.status = 500, .body = R"({"error":{"message":"boom"}})"},
                 {.status = 500, .body = R"({"error":{"message":"boom"}})"}});
  EndpointOptions o = Options(server);
  o.max_retries = 1;
  auto client = EndpointClient::Get(o);
  ASSERT_TRUE(client.ok());
  CallResult r = Call(**client, Prompt("x"));
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find(server.url()), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.message().find("HTTP 500: boom"), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.message().find("after 2 attempts"), std::string::npos) << r.status.message();
  EXPECT_EQ(server.calls(), 2);
}

TEST(EndpointClient, ClientErrorsAreNeverRetried) {
  FaultServer server;
  server.Script({{.status = 400, .body = R"({"error":{"message":"max_tokens is too large"}})"},
                 {.status = 401, .body = R"({"error":{"message":"invalid api key"}})"},
                 {.status = 404, .body = R"({"error":{"message":"model 'm' not found"}})"}});
  auto client = EndpointClient::Get(Options(server));
  ASSERT_TRUE(client.ok());
  for (const char* want :
       {"HTTP 400: max_tokens is too large", "HTTP 401: invalid api key", "HTTP 404: model 'm'"}) {
    CallResult r = Call(**client, Prompt("x"));
    ASSERT_FALSE(r.status.ok());
    EXPECT_NE(r.status.message().find(want), std::string::npos) << r.status.message();
    EXPECT_EQ(r.attempts, 1);
  }
  EXPECT_EQ(server.calls(), 3);
}

TEST(EndpointClient, MalformedAndTruncatedAnswersFailTheCall) {
  FaultServer server;
  server.Script({{.body = "{\"choices\": [{\"text\": "},
                 {.chunks = {"data: {\"choices\":[{\"text\":\"par\"}]}\n\n",
                             "data: {\"choices\":[{\"text\":\"tial\"}]}\n\n"}},
                 {.chunks = {"data: {\"choices\":[{\"text\":\"ok\"}]}\n\n", "data: [DONE]\n\n"}}});
  EndpointOptions o = Options(server);
  o.max_concurrency = 1;
  auto client = EndpointClient::Get(o);
  ASSERT_TRUE(client.ok());
  CallResult malformed = Call(**client, Prompt("x"));
  ASSERT_FALSE(malformed.status.ok());
  EXPECT_NE(malformed.status.message().find("malformed response"), std::string::npos)
      << malformed.status.message();
  CallResult cut = Call(**client, Prompt("x", true));
  ASSERT_FALSE(cut.status.ok());
  EXPECT_NE(cut.status.message().find("truncated"), std::string::npos) << cut.status.message();
  CallResult whole = Call(**client, Prompt("x", true));
  ASSERT_TRUE(whole.status.ok()) << whole.status.message();
  EXPECT_EQ(whole.completion.text, "ok");
}

TEST(EndpointClient, SlowFirstByteTimesOutAndDeadlinesCutCallsShort) {
  FaultServer server;
  server.Script({{.body = Ok("slow"), .delay = 1500ms}, {.body = Ok("slow"), .delay = 1500ms}});
  EndpointOptions o = Options(server);
  o.first_token_timeout_ms = 200;
  o.max_retries = 0;
  auto client = EndpointClient::Get(o);
  ASSERT_TRUE(client.ok());
  CallResult slow = Call(**client, Prompt("x"));
  ASSERT_FALSE(slow.status.ok());
  EXPECT_NE(slow.status.message().find("timed out"), std::string::npos) << slow.status.message();

  EndpointOptions patient = Options(server);
  patient.max_retries = 0;
  patient.max_concurrency = 3;  // another client
  auto other = EndpointClient::Get(patient);
  ASSERT_TRUE(other.ok());
  const auto start = std::chrono::steady_clock::now();
  CallResult late = Call(**other, Prompt("x"), start + 300ms);
  ASSERT_FALSE(late.status.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1200ms) << "the deadline bounds the wait";
  CallResult expired = Call(**other, Prompt("x"), start - 1ms);
  ASSERT_FALSE(expired.status.ok());
  EXPECT_NE(expired.status.message().find("deadline"), std::string::npos)
      << expired.status.message();
}

TEST(EndpointClient, UnreachableEndpointIsAConnectionError) {
  int port = 0;
  {
    FaultServer gone;  // a port that was just free, now closed
    port = std::stoi(gone.url().substr(gone.url().rfind(':') + 1));
  }
  EndpointOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  o.max_retries = 1;
  o.backoff_ms = 10;
  auto client = EndpointClient::Get(o);
  ASSERT_TRUE(client.ok());
  CallResult r = Call(**client, Prompt("x"));
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("cannot connect"), std::string::npos) << r.status.message();
  EXPECT_EQ(r.attempts, 2) << "connection errors are retried";
}

TEST(EndpointClient, ApiKeyFromTheEnvironmentAndExtraHeaders) {
  FaultServer server;
  EndpointOptions o = Options(server);
  o.api_key_env = "REFINERY_TEST_OPENAI_KEY";
  o.headers = {"X-Team: refiners"};
  ::unsetenv("REFINERY_TEST_OPENAI_KEY");
  auto missing = EndpointClient::Get(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("REFINERY_TEST_OPENAI_KEY"), std::string::npos);
  ::setenv("REFINERY_TEST_OPENAI_KEY", "sk-test-123", 1);
  auto client = EndpointClient::Get(o);
  ASSERT_TRUE(client.ok()) << client.status().message();
  ASSERT_TRUE(Call(**client, Prompt("x")).status.ok());
  EXPECT_EQ(server.auth().at(0), "Bearer sk-test-123");
  EXPECT_EQ(server.extra().at(0), "refiners");
  o.headers = {"no colon"};
  EXPECT_FALSE(EndpointClient::Get(o).ok());
  EndpointOptions bad_url;
  bad_url.base_url = "ftp://x";
  EXPECT_FALSE(EndpointClient::Get(bad_url).ok());
}

TEST(EndpointClient, ConcurrencyIsCappedAndPriorityOrdersTheWait) {
  FaultServer server;
  EndpointOptions o = Options(server);
  o.max_concurrency = 1;
  std::vector<Action> slow(5, Action{.body = Ok("x"), .delay = 100ms});
  server.Script(slow);
  auto client = EndpointClient::Get(o);
  ASSERT_TRUE(client.ok());
  std::vector<std::promise<CallResult>> done(4);
  auto submit = [&](int i, const std::string& prompt, int priority) {
    (*client)->Submit(Prompt(prompt), priority, std::nullopt,
                      [&done, i](CallResult r) { done[i].set_value(std::move(r)); });
  };
  submit(0, "first", 0);
  std::this_thread::sleep_for(30ms);  // the first is on the wire; the rest wait
  submit(1, "low-a", 0);
  submit(2, "low-b", 0);
  submit(3, "urgent", 9);
  for (auto& d : done) ASSERT_TRUE(d.get_future().get().status.ok());
  const auto bodies = server.bodies();
  ASSERT_EQ(bodies.size(), 4u);
  const char* order[] = {"first", "urgent", "low-a", "low-b"};
  for (size_t i = 0; i < 4; ++i)
    EXPECT_NE(bodies[i].find(order[i]), std::string::npos) << i << ": " << bodies[i];
  EXPECT_EQ(server.max_in_flight(), 1);
}

}  // namespace
}  // namespace refinery::openai
