// The OpenAI-compatible HTTP API as refinery speaks it, both ways: the JSON bodies of
// /v1/chat/completions and /v1/completions (requests, responses, server-sent-event chunks) and
// the error body. The client (endpoint_client.h) and refinery's own server
// (tools/graph-runner/models_server.cc) share these, so what one writes the other reads.
// JSON goes through protobuf's google.protobuf.Value (a dependency already), not hand parsing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "graph/status.h"

namespace refinery::openai {

enum class Api { kChat, kCompletions };

// A message of a chat before its last one.
struct ChatMessage {
  bool assistant = false;  // else the user's
  std::string content;
};

struct CompletionRequest {
  std::string model;
  Api api = Api::kCompletions;
  std::string system;  // chat only: the system message (none when empty)
  std::string prompt;  // the (last) user message (chat) or the prompt (completions)
  // Chat only: the conversation before `prompt`, user and assistant in turn from a user message.
  std::vector<ChatMessage> history;
  int max_tokens = 64;
  double temperature = 0;
  double top_p = 1;
  std::optional<int64_t> seed;
  std::vector<std::string> stop;
  bool stream = false;
};

struct Usage {
  int64_t prompt_tokens = -1;  // -1: the server did not say
  int64_t completion_tokens = -1;
};

struct Completion {
  std::string text;
  std::string finish_reason;  // stop | length | ... as the server says
  Usage usage;
};

// Client side.
std::string RequestBody(const CompletionRequest& request);
// A whole (non-streamed) response body.
StatusOr<Completion> ParseCompletion(std::string_view body, Api api);
// The server's message from an error body ({"error": {"message": ...}}), or the body itself,
// shortened, when it is not such JSON.
std::string ErrorMessage(std::string_view body);

// Server-sent events of a streamed response, fed as bytes arrive (in any pieces). The text is
// the concatenation of the chunks' deltas; usage comes from the last chunk that has it.
class StreamParser {
 public:
  explicit StreamParser(Api api) : api_(api) {}
  // A malformed event is an error; bytes after `data: [DONE]` are ignored.
  Status Feed(std::string_view bytes);
  bool done() const { return done_; }
  // Chunks received so far (time to first token is measured at the first).
  int64_t chunks() const { return chunks_; }
  const Completion& completion() const { return completion_; }

 private:
  Status Event(std::string_view data);
  Api api_;
  std::string pending_;
  bool done_ = false;
  int64_t chunks_ = 0;
  Completion completion_;
};

// Server side.
StatusOr<CompletionRequest> ParseRequest(std::string_view body, Api api);
std::string ResponseBody(const CompletionRequest& request, const Completion& completion,
                         const std::string& id, int64_t created);
// One `data: ...\n\n` event carrying `delta` (or, with finish_reason, the last chunk with usage).
std::string StreamChunk(const CompletionRequest& request, const std::string& id, int64_t created,
                        std::string_view delta, const std::string& finish_reason,
                        const Usage* usage);
std::string ErrorBody(const std::string& message, const std::string& type);

}  // namespace refinery::openai
