#include "nodes/openai/endpoint_client.h"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <queue>
#include <random>
#include <thread>

#include "nodes/openai/rate_limiter.h"

namespace refinery::openai {
namespace {

using Clock = EndpointClient::Clock;

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// httplib's error names, as a user would say them.
std::string Describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "cannot connect (refused, unreachable, or the name does not resolve)";
    case httplib::Error::ConnectionTimeout:
      return "connecting timed out";
    case httplib::Error::Read:
      return "reading the response failed or timed out";
    case httplib::Error::Write:
      return "sending the request failed";
    case httplib::Error::SSLConnection:
      return "the TLS handshake failed";
    case httplib::Error::SSLLoadingCerts:
      return "the CA certificates could not be loaded";
    case httplib::Error::SSLServerVerification:
      return "the server's TLS certificate is not trusted";
    default:
      return "HTTP client error (" + httplib::to_string(e) + ")";
  }
}

// Transient: worth another attempt.
bool Retryable(httplib::Error e) {
  return e == httplib::Error::Connection || e == httplib::Error::ConnectionTimeout ||
         e == httplib::Error::Read || e == httplib::Error::Write || e == httplib::Error::Unknown;
}

struct ParsedUrl {
  std::string scheme_host_port;  // what httplib::Client takes
  std::string path;              // "" or "/v1"
};

StatusOr<ParsedUrl> ParseUrl(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    return Status::InvalidArgument("endpoint '" + url + "' is not a URL (http://HOST[:PORT]/PATH)");
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https")
    return Status::InvalidArgument("endpoint '" + url + "': the scheme must be http or https");
  const size_t path_start = url.find('/', scheme_end + 3);
  ParsedUrl p;
  p.scheme_host_port = url.substr(0, path_start);
  if (p.scheme_host_port.size() <= scheme_end + 3)
    return Status::InvalidArgument("endpoint '" + url + "' has no host");
  if (path_start != std::string::npos) p.path = url.substr(path_start);
  while (!p.path.empty() && p.path.back() == '/') p.path.pop_back();
  return p;
}

struct Job {
  CompletionRequest request;
  int priority = 0;
  uint64_t seq = 0;
  std::optional<Clock::time_point> deadline;
  Clock::time_point submitted;
  EndpointClient::Callback done;
};

struct JobOrder {
  bool operator()(const Job* a, const Job* b) const {
    return a->priority != b->priority ? a->priority < b->priority : a->seq > b->seq;
  }
};

}  // namespace

struct EndpointClient::State {
  EndpointOptions options;
  std::string name;
  ParsedUrl url;
  httplib::Headers headers;
  RateLimiter limiter;

  std::mutex mu;
  std::condition_variable cv;
  std::priority_queue<Job*, std::vector<Job*>, JobOrder> queue;
  uint64_t next_seq = 0;
  bool stopping = false;
  std::vector<std::thread> workers;

  State(EndpointOptions o, ParsedUrl u, httplib::Headers h)
      : options(std::move(o)),
        name("openai endpoint " + options.base_url),
        url(std::move(u)),
        headers(std::move(h)),
        limiter(options.requests_per_minute, options.tokens_per_minute) {}

  void Work();
  CallResult Call(const Job& job, httplib::Client& client, std::mt19937& rng);
};

void EndpointClient::State::Work() {
  httplib::Client client(url.scheme_host_port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);  // a small request body leaves at once
  if (!options.tls_ca_file.empty()) client.set_ca_cert_path(options.tls_ca_file);
  std::mt19937 rng(std::random_device{}());
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;  // stopping, nothing left
      job.reset(queue.top());
      queue.pop();
    }
    CallResult result;
    if (stopping) {
      result.status = Status::FailedPrecondition(name + ": shutting down");
    } else {
      result = Call(*job, client, rng);
    }
    result.total_ms = Millis(Clock::now() - job->submitted);
    job->done(std::move(result));
  }
}

CallResult EndpointClient::State::Call(const Job& job, httplib::Client& client, std::mt19937& rng) {
  CallResult result;
  const CompletionRequest& r = job.request;
  const std::string who = name + " (model '" + r.model + "')";
  Clock::time_point end = job.submitted + std::chrono::milliseconds(options.timeout_ms);
  if (job.deadline && *job.deadline < end) end = *job.deadline;
  const std::string body = RequestBody(r);
  const std::string path = url.path + (r.api == Api::kChat ? "/chat/completions" : "/completions");
  // Tokens this call may use, for the tokens/min limit until the server says: ~4 bytes a token.
  size_t bytes = r.prompt.size() + r.system.size();
  for (const ChatMessage& m : r.history) bytes += m.content.size();
  const double estimate = double(bytes) / 4.0 + r.max_tokens;
  auto fail = [&](std::string why) {
    result.status = Status::Internal(who + ": " + why);
    return result;
  };
  std::string last_error;
  for (int attempt = 0;; ++attempt) {
    result.attempts = attempt + 1;
    // The rate limit: wait, but not past the end.
    for (;;) {
      const auto wait = limiter.TryAcquire(estimate);
      if (wait == Clock::duration::zero()) break;
      if (Clock::now() + wait >= end)
        return fail("the rate limit would hold the call past its deadline");
      std::this_thread::sleep_for(std::min<Clock::duration>(wait, std::chrono::milliseconds(200)));
    }
    const auto start = Clock::now();
    if (start >= end) {
      return fail(last_error.empty() ? "the deadline passed before the call was sent"
                                     : last_error + "; no time left to retry");
    }
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(end - start);
    auto cap = [&](int ms) {
      return std::min<std::chrono::microseconds>(std::chrono::milliseconds(ms), left);
    };
    client.set_connection_timeout(cap(options.connect_timeout_ms));
    client.set_read_timeout(cap(options.first_token_timeout_ms));
    client.set_write_timeout(left);

    int status = 0;
    std::string retry_after, error_body, whole_body;
    StreamParser parser(r.api);
    Status stream_error;
    bool out_of_time = false, too_big = false;
    Clock::time_point first_token{}, last_token{};
    httplib::Request req;
    req.method = "POST";
    req.path = path;
    req.headers = headers;
    req.body = body;
    req.set_header("Content-Type", "application/json");
    req.response_handler = [&](const httplib::Response& res) {
      status = res.status;
      retry_after = res.get_header_value("Retry-After");
      return true;
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      const auto now = Clock::now();
      if (now >= end) {
        out_of_time = true;
        return false;
      }
      if (status != 200) {
        if (error_body.size() < (64 << 10)) error_body.append(data, n);
        return true;
      }
      if (!r.stream) {
        if (first_token == Clock::time_point{}) first_token = now;
        if (whole_body.size() + n > (64u << 20)) {
          too_big = true;
          return false;
        }
        whole_body.append(data, n);
        return true;
      }
      const int64_t before = parser.chunks();
      stream_error = parser.Feed(std::string_view(data, n));
      if (parser.chunks() > before) {
        if (first_token == Clock::time_point{}) first_token = now;
        last_token = now;
      }
      return stream_error.ok();
    };
    httplib::Result res = client.send(req);

    std::string error;
    bool retry = false;
    if (!stream_error.ok()) return fail(stream_error.message());
    if (too_big) return fail("the response is larger than 64 MB");
    if (out_of_time) {
      return fail(job.deadline && end == *job.deadline
                      ? "the request's deadline passed mid-call"
                      : "the call took longer than timeout_ms (" +
                            std::to_string(options.timeout_ms) + " ms)");
    }
    if (!res && r.stream && parser.chunks() > 0) {
      // Tokens were already produced (and billed): a cut stream is reported, not repeated.
      return fail("the stream was cut after " + std::to_string(parser.chunks()) + " events (" +
                  Describe(res.error()) + ")");
    }
    if (!res) {
      error = Describe(res.error());
      retry = Retryable(res.error());
    } else if (status == 200) {
      if (first_token != Clock::time_point{}) result.first_token_ms = Millis(first_token - start);
      if (r.stream) {
        if (!parser.done() && parser.completion().finish_reason.empty())
          return fail("the stream ended before the completion did (truncated)");
        result.completion = parser.completion();
        if (parser.chunks() > 1)
          result.inter_token_ms = Millis(last_token - first_token) / double(parser.chunks() - 1);
      } else {
        auto parsed = ParseCompletion(whole_body, r.api);
        if (!parsed.ok()) return fail(parsed.status().message());
        result.completion = std::move(*parsed);
      }
      // The tokens/min bucket learns what the call really cost.
      const Usage& u = result.completion.usage;
      if (u.prompt_tokens >= 0 && u.completion_tokens >= 0)
        limiter.Adjust(double(u.prompt_tokens + u.completion_tokens) - estimate);
      return result;
    } else {
      error = "HTTP " + std::to_string(status) + ": " + ErrorMessage(error_body);
      retry = status == 429 || status >= 500;
    }
    if (!retry || attempt >= options.max_retries) {
      if (retry) error += " (after " + std::to_string(attempt + 1) + " attempts)";
      return fail(error);
    }
    last_error = error;
    // Retry-After (seconds) when the server gives it, else full jitter on an exponential ceiling.
    Clock::duration delay;
    char* parse_end = nullptr;
    const double seconds = std::strtod(retry_after.c_str(), &parse_end);
    if (!retry_after.empty() && parse_end != retry_after.c_str() && seconds >= 0) {
      delay = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    } else {
      const double ceiling = std::min(20'000.0, options.backoff_ms * std::pow(2.0, attempt));
      delay = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(
          std::uniform_real_distribution<double>(0, ceiling)(rng)));
    }
    if (Clock::now() + delay >= end) return fail(error + "; no time left to retry");
    std::this_thread::sleep_for(delay);
  }
}

namespace {
std::string Key(const EndpointOptions& o) {
  std::string k = o.base_url + '\n' + o.api_key_env + '\n' + o.tls_ca_file + '\n';
  for (const auto& h : o.headers) k += h + '\n';
  for (double v : {double(o.max_concurrency), o.requests_per_minute, o.tokens_per_minute,
                   double(o.connect_timeout_ms), double(o.first_token_timeout_ms),
                   double(o.timeout_ms), double(o.max_retries), double(o.backoff_ms)})
    k += std::to_string(v) + ',';
  return k;
}
}  // namespace

StatusOr<std::shared_ptr<EndpointClient>> EndpointClient::Get(const EndpointOptions& options) {
  static std::mutex registry_mu;
  static std::map<std::string, std::weak_ptr<EndpointClient>> registry;
  std::lock_guard lock(registry_mu);
  const std::string key = Key(options);
  if (auto existing = registry[key].lock()) return existing;

  auto url = ParseUrl(options.base_url);
  if (!url.ok()) return url.status();
  if (!options.tls_ca_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(options.tls_ca_file, ec))
      return Status::InvalidArgument("tls_ca_file: '" + options.tls_ca_file +
                                     "' is not a readable file");
    if (options.base_url.rfind("https://", 0) != 0)
      return Status::InvalidArgument("tls_ca_file is for https endpoints; '" + options.base_url +
                                     "' is not one");
  }
  httplib::Headers headers;
  if (!options.api_key_env.empty()) {
    const char* key_value = std::getenv(options.api_key_env.c_str());
    if (key_value == nullptr || *key_value == '\0') {
      return Status::InvalidArgument("api_key_env: the environment variable '" +
                                     options.api_key_env + "' is not set (it holds the API key)");
    }
    headers.emplace("Authorization", std::string("Bearer ") + key_value);
  }
  for (const std::string& h : options.headers) {
    const size_t colon = h.find(':');
    if (colon == std::string::npos || colon == 0)
      return Status::InvalidArgument("headers: '" + h + "' is not 'Name: value'");
    std::string value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    headers.emplace(h.substr(0, colon), value);
  }
  auto state = std::make_shared<State>(options, std::move(*url), std::move(headers));
  for (int i = 0; i < std::max(1, options.max_concurrency); ++i)
    state->workers.emplace_back([s = state.get()] { s->Work(); });
  auto client = std::shared_ptr<EndpointClient>(new EndpointClient(state));
  registry[key] = client;
  return client;
}

EndpointClient::EndpointClient(std::shared_ptr<State> state) : state_(std::move(state)) {}

EndpointClient::~EndpointClient() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
  }
  state_->cv.notify_all();
  for (auto& w : state_->workers) w.join();
}

void EndpointClient::Submit(CompletionRequest request, int priority,
                            std::optional<Clock::time_point> deadline, Callback done) {
  auto job = std::make_unique<Job>();
  job->request = std::move(request);
  job->priority = priority;
  job->deadline = deadline;
  job->submitted = Clock::now();
  job->done = std::move(done);
  {
    std::lock_guard lock(state_->mu);
    job->seq = state_->next_seq++;
    state_->queue.push(job.release());
  }
  state_->cv.notify_one();
}

const std::string& EndpointClient::name() const { return state_->name; }

}  // namespace refinery::openai
