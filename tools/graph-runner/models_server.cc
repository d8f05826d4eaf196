#include "tools/graph-runner/models_server.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>

#include "graph/io/utf8.h"
#include "nodes/openai/protocol.h"
#include "tools/service/call_auth.h"

namespace refinery::cli {
namespace {

using openai::Api;

void SendError(httplib::Response& res, int status, const std::string& message,
               const std::string& type) {
  res.status = status;
  res.set_content(openai::ErrorBody(message, type), "application/json");
}

std::string FinishReason(const std::string& stop_reason) {
  return stop_reason == "length" || stop_reason == "context" ? "length" : "stop";
}

int64_t UnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the model is given for a request: the prompt; for chat, the conversation laid out in the
// model's chat format, or (a model without one) the system message, a blank line and the
// messages, a blank line between each. ParseRequest already merges same-role messages; the turns
// are checked again here because the chat formats render any order without complaint.
StatusOr<llm::GenerationRequest> ToGeneration(const ModelsServer::Model& m,
                                              const openai::CompletionRequest& r) {
  const llm::LlamaTokenizer& tokenizer = m.generator->model().tokenizer;
  llm::GenerationRequest gen;
  if (r.api == Api::kChat && m.chat) {
    std::vector<llm::ChatTurn> turns;
    for (const openai::ChatMessage& h : r.history) turns.push_back({h.assistant, h.content});
    turns.push_back({false, r.prompt});
    if (Status ok = llm::CheckTurns(turns); !ok.ok()) return ok;
    gen.prompt = m.chat->Encode(tokenizer, r.system, turns);
    gen.stop_tokens = m.chat->stop_tokens;
  } else {
    std::string text = r.api == Api::kChat && !r.system.empty() ? r.system + "\n\n" : "";
    for (const openai::ChatMessage& h : r.history) text += h.content + "\n\n";
    gen.prompt = tokenizer.Encode(text + r.prompt, {.add_bos = true});
  }
  gen.max_new_tokens = r.max_tokens;
  gen.sampling.temperature = r.temperature;
  gen.sampling.top_p = r.top_p;
  gen.sampling.seed = r.seed.value_or(0);
  gen.stop = r.stop;
  return gen;
}

// A streamed call: the generator's worker pushes pieces, the connection's thread writes them.
struct StreamState {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> pieces;
  bool finished = false;
  llm::GenerationResult result;
};

}  // namespace

StatusOr<std::unique_ptr<ModelsServer>> ModelsServer::Start(const ModelsServerOptions& options) {
  auto s = std::unique_ptr<ModelsServer>(new ModelsServer());
  s->options_ = options;
  auto format = llm::ParseWeightFormat(options.weights);
  if (!format.ok()) return format.status();
  for (const auto& [name, path] : options.models) {
    auto generator = llm::Generator::Get(path, *format, options.generator);
    if (!generator.ok()) return generator.status().WithContext(path);
    auto chat = llm::ChatLayoutFor((*generator)->model(), "auto");
    s->chat_notes_.push_back(
        "model " + name + ": " +
        (chat.ok()
             ? std::string("chat calls in its ") + llm::ChatFormatName(chat->format) + " format"
             : "chat calls as plain text (system, a blank line, the messages): " +
                   chat.status().message()));
    s->models_.push_back({name, *generator, chat.ok() ? std::optional(*chat) : std::nullopt});
  }
  if (options.tls_cert.empty() != options.tls_key.empty())
    return Status::InvalidArgument("--tls-cert and --tls-key go together");
  if (!options.tls_cert.empty()) {
    auto tls =
        std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
    if (!tls->is_valid()) {
      return Status::InvalidArgument("cannot load the TLS certificate " + options.tls_cert +
                                     " or its key " + options.tls_key);
    }
    s->server_ = std::move(tls);
  } else {
    s->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& http = *s->server_;
  // Calls wait for their generation on a connection thread: enough threads that concurrent
  // calls reach the generator together (it batches them).
  const int threads = options.max_connections;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  http.set_payload_max_length(options.max_body_bytes);
  http.set_tcp_nodelay(true);  // streamed tokens leave at once, not after a delayed ACK
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        SendError(res, 500, "internal error", "server_error");
      });
  // The gRPC server's bearer-token check (constant time), on the HTTP header.
  auto auth = std::make_shared<service::CallAuth>(options.auth_token);
  const std::vector<Model>* models = &s->models_;
  http.set_pre_routing_handler([auth](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    const std::string header = req.get_header_value("Authorization");
    const Status allowed = auth->CheckHeader(
        req.has_header("Authorization") ? std::optional<std::string_view>(header) : std::nullopt);
    if (allowed.ok()) return httplib::Server::HandlerResponse::Unhandled;
    SendError(res, 401, allowed.message(), "authentication_error");
    return httplib::Server::HandlerResponse::Handled;
  });
  http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
  http.Get("/v1/models", [models](const httplib::Request&, httplib::Response& res) {
    std::string body = "{\"object\":\"list\",\"data\":[";
    for (size_t i = 0; i < models->size(); ++i) {
      if (i > 0) body += ",";
      // Names come from the command line or file stems; escape them as JSON all the same.
      body += "{\"id\":\"";
      for (char c : (*models)[i].name) {
        if (c == '"' || c == '\\') body += '\\';
        if (uint8_t(c) >= 0x20) body += c;
      }
      body += "\",\"object\":\"model\",\"owned_by\":\"refinery\"}";
    }
    res.set_content(body + "]}", "application/json");
  });
  auto handler = [models](Api api) {
    return [models, api](const httplib::Request& req, httplib::Response& res) {
      auto request = openai::ParseRequest(req.body, api);
      if (!request.ok())
        return SendError(res, 400, request.status().message(), "invalid_request_error");
      const Model* model = nullptr;
      std::string names;
      for (const Model& m : *models) {
        if (m.name == request->model || (request->model.empty() && models->size() == 1)) model = &m;
        names += (names.empty() ? "" : ", ") + m.name;
      }
      if (model == nullptr) {
        return SendError(res, 404,
                         "model '" + request->model + "' not found; this server has: " + names,
                         "invalid_request_error");
      }
      request->model = model->name;
      const std::string id =
          std::string(api == Api::kChat ? "chatcmpl-" : "cmpl-") +
          std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
      const int64_t created = UnixSeconds();
      auto generation = ToGeneration(*model, *request);
      if (!generation.ok())
        return SendError(res, 400, generation.status().message(), "invalid_request_error");
      llm::GenerationRequest gen = std::move(*generation);
      if (!request->stream) {
        std::promise<llm::GenerationResult> promise;
        auto future = promise.get_future();
        model->generator->Submit(std::move(gen), [&promise](llm::GenerationResult r) {
          promise.set_value(std::move(r));
        });
        llm::GenerationResult r = future.get();
        if (!r.status.ok()) return SendError(res, 400, r.status.message(), "invalid_request_error");
        openai::Completion c{utf8::ToValidUtf8(r.text),
                             FinishReason(r.stop_reason),
                             {r.prompt_tokens, int64_t(r.tokens.size())}};
        res.set_content(openai::ResponseBody(*request, c, id, created), "application/json");
        return;
      }
      auto state = std::make_shared<StreamState>();
      gen.on_text = [state](std::string_view piece) {
        std::lock_guard lock(state->mu);
        state->pieces.emplace_back(piece);
        state->cv.notify_one();
      };
      model->generator->Submit(std::move(gen), [state](llm::GenerationResult r) {
        std::lock_guard lock(state->mu);
        state->result = std::move(r);
        state->finished = true;
        state->cv.notify_one();
      });
      res.set_header("Cache-Control", "no-cache");
      res.set_chunked_content_provider("text/event-stream", [state, request = *request, id,
                                                             created](size_t,
                                                                      httplib::DataSink& sink) {
        std::unique_lock lock(state->mu);
        state->cv.wait(lock, [&] { return state->finished || !state->pieces.empty(); });
        while (!state->pieces.empty()) {
          const std::string event =
              openai::StreamChunk(request, id, created, state->pieces.front(), "", nullptr);
          state->pieces.pop_front();
          if (!sink.write(event.data(), event.size())) return false;  // client gone
        }
        if (!state->finished) return true;
        const llm::GenerationResult& r = state->result;
        std::string tail;
        if (!r.status.ok()) {
          tail = "data: " + openai::ErrorBody(r.status.message(), "invalid_request_error") + "\n\n";
        } else {
          const openai::Usage usage{r.prompt_tokens, int64_t(r.tokens.size())};
          tail = openai::StreamChunk(request, id, created, "", FinishReason(r.stop_reason), &usage);
        }
        tail += "data: [DONE]\n\n";
        if (!sink.write(tail.data(), tail.size())) return false;
        sink.done();
        return true;
      });
    };
  };
  http.Post("/v1/completions", handler(Api::kCompletions));
  http.Post("/v1/chat/completions", handler(Api::kChat));

  if (options.port == 0) {
    s->port_ = http.bind_to_any_port(options.host);
    if (s->port_ <= 0) return Status::InvalidArgument("cannot listen on " + options.host);
  } else {
    if (!http.bind_to_port(options.host, options.port))
      return Status::InvalidArgument("cannot listen on " + s->address() +
                                     " (in use, or not an address of this machine)");
    s->port_ = options.port;
  }
  s->thread_ = std::thread([&http] { http.listen_after_bind(); });
  for (int i = 0; i < 5000 && !http.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return s;
}

ModelsServer::~ModelsServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string ModelsServer::address() const {
  return options_.host + ":" + std::to_string(port_ ? port_ : options_.port);
}

}  // namespace refinery::cli
