// ModelsServer: local GGUF models served with the OpenAI HTTP API (graph-runner serve-models),
// so any OpenAI client, and refinery's own `infer` with `backend: openai`, can use them.
//
//   GET  /v1/models             the models, named as given (NAME=FILE) or by file stem
//   POST /v1/completions        {"model", "prompt", "max_tokens", "temperature", "top_p",
//   POST /v1/chat/completions    "seed", "stop", "stream"} / {"messages": [...], ...}
//   GET  /health
//
// Each model has one continuous-batching Generator (nodes/llm/generator.h), so concurrent calls
// are decoded together. A prompt is encoded with BOS, exactly as `infer` with `backend: local`
// does, so both backends give the same greedy text. Chat messages have no template yet (local
// chat templates are issue 20): the system message, a blank line, then the user and assistant
// messages joined by newlines. Streaming sends each piece as the generator makes it final.
// Loopback by default; a bearer token (constant-time compare) when --auth-token-file is given.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "graph/status.h"
#include "nodes/llm/chat_template.h"
#include "nodes/llm/generator.h"

namespace httplib {
class Server;
}

namespace refinery::cli {

struct ModelsServerOptions {
  std::vector<std::pair<std::string, std::string>> models;  // name, GGUF path
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  std::string weights = "f32";
  llm::GeneratorOptions generator;
  std::string auth_token;         // "" = no authentication
  std::string tls_cert, tls_key;  // PEM files: serve HTTPS ("" = plain HTTP)
  size_t max_body_bytes = 8 << 20;
  int max_connections = 64;
};

class ModelsServer {
 public:
  // Loads every model first: a file that does not load is an error before the port opens.
  static StatusOr<std::unique_ptr<ModelsServer>> Start(const ModelsServerOptions& options);
  ~ModelsServer();
  int port() const { return port_; }
  std::string address() const;
  // One line per model on how chat calls are laid out: its chat format, or why it has none
  // (then the plain layout below is used), so the fallback is never silent.
  const std::vector<std::string>& chat_notes() const { return chat_notes_; }

  struct Model {
    std::string name;
    std::shared_ptr<llm::Generator> generator;
    // The model's chat format when its file's template is one refinery lays out; chat calls
    // to other models get the system message, a blank line and the user message.
    std::optional<llm::ChatLayout> chat;
  };

 private:
  ModelsServer() = default;
  ModelsServerOptions options_;
  std::vector<Model> models_;
  std::vector<std::string> chat_notes_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace refinery::cli
