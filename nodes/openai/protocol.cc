#include "nodes/openai/protocol.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

namespace refinery::openai {
namespace {

namespace pb = google::protobuf;

pb::Value String(std::string s) {
  pb::Value v;
  v.set_string_value(std::move(s));
  return v;
}
pb::Value Number(double d) {
  pb::Value v;
  v.set_number_value(d);
  return v;
}
pb::Value Bool(bool b) {
  pb::Value v;
  v.set_bool_value(b);
  return v;
}
pb::Value Null() {
  pb::Value v;
  v.set_null_value(pb::NULL_VALUE);
  return v;
}
pb::Value Object(pb::Struct s) {
  pb::Value v;
  *v.mutable_struct_value() = std::move(s);
  return v;
}
pb::Value List(std::vector<pb::Value> items) {
  pb::Value v;
  for (auto& item : items) *v.mutable_list_value()->add_values() = std::move(item);
  return v;
}

std::string ToJson(const pb::Value& v) {
  std::string out;
  (void)pb::util::MessageToJsonString(v, &out);  // cannot fail for a Value we built
  return out;
}

StatusOr<pb::Value> FromJson(std::string_view text) {
  pb::Value v;
  auto status = pb::util::JsonStringToMessage(pb::StringPiece(text.data(), text.size()), &v);
  if (!status.ok()) return Status::InvalidArgument("not JSON: " + std::string(status.message()));
  return v;
}

const pb::Value* Member(const pb::Value& v, const std::string& key) {
  if (v.kind_case() != pb::Value::kStructValue) return nullptr;
  auto it = v.struct_value().fields().find(key);
  return it == v.struct_value().fields().end() ? nullptr : &it->second;
}

const pb::Value* FirstChoice(const pb::Value& v) {
  const pb::Value* choices = Member(v, "choices");
  if (choices == nullptr || choices->kind_case() != pb::Value::kListValue ||
      choices->list_value().values_size() == 0)
    return nullptr;
  return &choices->list_value().values(0);
}

std::string StringOr(const pb::Value* v, std::string fallback = "") {
  return v != nullptr && v->kind_case() == pb::Value::kStringValue ? v->string_value() : fallback;
}

Usage ParseUsage(const pb::Value& v) {
  Usage u;
  if (const pb::Value* usage = Member(v, "usage")) {
    if (const pb::Value* p = Member(*usage, "prompt_tokens");
        p && p->kind_case() == pb::Value::kNumberValue)
      u.prompt_tokens = int64_t(p->number_value());
    if (const pb::Value* c = Member(*usage, "completion_tokens");
        c && c->kind_case() == pb::Value::kNumberValue)
      u.completion_tokens = int64_t(c->number_value());
  }
  return u;
}

// The text of a choice: message.content (chat), delta.content (chat chunk) or text.
std::optional<std::string> ChoiceText(const pb::Value& choice, Api api, bool chunk) {
  if (api == Api::kCompletions) {
    const pb::Value* text = Member(choice, "text");
    if (text == nullptr) return chunk ? std::optional<std::string>("") : std::nullopt;
    if (text->kind_case() != pb::Value::kStringValue) return std::nullopt;
    return text->string_value();
  }
  const pb::Value* message = Member(choice, chunk ? "delta" : "message");
  if (message == nullptr) return chunk ? std::optional<std::string>("") : std::nullopt;
  const pb::Value* content = Member(*message, "content");
  if (content == nullptr || content->kind_case() == pb::Value::kNullValue) return std::string();
  if (content->kind_case() != pb::Value::kStringValue) return std::nullopt;
  return content->string_value();
}

std::string Shorten(std::string_view s) {
  constexpr size_t kMax = 300;
  std::string out(s.substr(0, kMax));
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  if (s.size() > kMax) out += "...";
  return out;
}

}  // namespace

std::string RequestBody(const CompletionRequest& r) {
  pb::Struct body;
  auto& f = *body.mutable_fields();
  f["model"] = String(r.model);
  if (r.api == Api::kChat) {
    std::vector<pb::Value> messages;
    auto message = [](const std::string& role, const std::string& content) {
      pb::Struct m;
      (*m.mutable_fields())["role"] = String(role);
      (*m.mutable_fields())["content"] = String(content);
      return Object(std::move(m));
    };
    if (!r.system.empty()) messages.push_back(message("system", r.system));
    for (const ChatMessage& m : r.history)
      messages.push_back(message(m.assistant ? "assistant" : "user", m.content));
    messages.push_back(message("user", r.prompt));
    f["messages"] = List(std::move(messages));
  } else {
    f["prompt"] = String(r.prompt);
  }
  f["max_tokens"] = Number(r.max_tokens);
  f["temperature"] = Number(r.temperature);
  f["top_p"] = Number(r.top_p);
  if (r.seed) f["seed"] = Number(double(*r.seed));
  if (!r.stop.empty()) {
    std::vector<pb::Value> stop;
    for (const auto& s : r.stop) stop.push_back(String(s));
    f["stop"] = List(std::move(stop));
  }
  if (r.stream) {
    f["stream"] = Bool(true);
    pb::Struct options;  // the last chunk then carries usage (OpenAI, vLLM, llama-server)
    (*options.mutable_fields())["include_usage"] = Bool(true);
    f["stream_options"] = Object(std::move(options));
  }
  return ToJson(Object(std::move(body)));
}

StatusOr<Completion> ParseCompletion(std::string_view body, Api api) {
  auto v = FromJson(body);
  if (!v.ok()) return Status::InvalidArgument("malformed response (" + v.status().message() + ")");
  const pb::Value* choice = FirstChoice(*v);
  if (choice == nullptr) return Status::InvalidArgument("malformed response: no choices");
  auto text = ChoiceText(*choice, api, false);
  if (!text) {
    return Status::InvalidArgument(api == Api::kChat
                                       ? "malformed response: no choices[0].message.content"
                                       : "malformed response: no choices[0].text");
  }
  Completion c;
  c.text = std::move(*text);
  c.finish_reason = StringOr(Member(*choice, "finish_reason"));
  c.usage = ParseUsage(*v);
  return c;
}

std::string ErrorMessage(std::string_view body) {
  if (auto v = FromJson(body); v.ok()) {
    if (const pb::Value* error = Member(*v, "error")) {
      if (error->kind_case() == pb::Value::kStringValue) return Shorten(error->string_value());
      if (auto m = StringOr(Member(*error, "message")); !m.empty()) return Shorten(m);
    }
  }
  return Shorten(body);
}

Status StreamParser::Feed(std::string_view bytes) {
  if (done_) return Status::Ok();
  pending_.append(bytes);
  // Events end with a blank line; lines may end with \r\n.
  for (;;) {
    size_t end = pending_.find("\n\n");
    size_t sep = 2;
    if (size_t crlf = pending_.find("\r\n\r\n"); crlf != std::string::npos && crlf < end) {
      end = crlf;
      sep = 4;
    }
    if (end == std::string::npos) break;
    const std::string event = pending_.substr(0, end);
    pending_.erase(0, end + sep);
    std::string data;
    size_t start = 0;
    while (start <= event.size()) {
      size_t nl = event.find('\n', start);
      if (nl == std::string::npos) nl = event.size();
      std::string_view line(event.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.rfind("data:", 0) == 0) {
        line.remove_prefix(5);
        if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        if (!data.empty()) data += '\n';
        data.append(line);
      }
      start = nl + 1;
    }
    if (data.empty()) continue;  // comments (": keep-alive") and other fields
    if (data == "[DONE]") {
      done_ = true;
      return Status::Ok();
    }
    if (Status s = Event(data); !s.ok()) return s;
  }
  constexpr size_t kMaxEvent = 1 << 20;
  if (pending_.size() > kMaxEvent)
    return Status::InvalidArgument("malformed stream: an event longer than 1 MB");
  return Status::Ok();
}

Status StreamParser::Event(std::string_view data) {
  auto v = FromJson(data);
  if (!v.ok())
    return Status::InvalidArgument("malformed stream event (" + v.status().message() + ")");
  if (Member(*v, "error") != nullptr)
    return Status::Internal("the server reported an error mid-stream: " + ErrorMessage(data));
  ++chunks_;
  if (const pb::Value* choice = FirstChoice(*v)) {
    auto text = ChoiceText(*choice, api_, true);
    if (!text) return Status::InvalidArgument("malformed stream event: a choice without text");
    completion_.text += *text;
    if (auto reason = StringOr(Member(*choice, "finish_reason")); !reason.empty())
      completion_.finish_reason = reason;
  }
  if (Usage u = ParseUsage(*v); u.prompt_tokens >= 0 || u.completion_tokens >= 0)
    completion_.usage = u;
  return Status::Ok();
}

StatusOr<CompletionRequest> ParseRequest(std::string_view body, Api api) {
  auto v = FromJson(body);
  if (!v.ok()) return v.status();
  if (v->kind_case() != pb::Value::kStructValue)
    return Status::InvalidArgument("the body must be a JSON object");
  CompletionRequest r;
  r.api = api;
  r.model = StringOr(Member(*v, "model"));
  if (api == Api::kChat) {
    const pb::Value* messages = Member(*v, "messages");
    if (messages == nullptr || messages->kind_case() != pb::Value::kListValue ||
        messages->list_value().values_size() == 0)
      return Status::InvalidArgument("'messages' must be a non-empty array");
    // Consecutive messages of one role are one turn, so the conversation alternates as the
    // models' chat formats require.
    std::vector<ChatMessage> turns;
    for (const pb::Value& m : messages->list_value().values()) {
      const std::string role = StringOr(Member(m, "role"));
      const pb::Value* content = Member(m, "content");
      if (content == nullptr || content->kind_case() != pb::Value::kStringValue)
        return Status::InvalidArgument("each message needs 'content' as a string");
      if (role == "system") {
        r.system += (r.system.empty() ? "" : "\n") + content->string_value();
      } else if (role == "user" || role == "assistant") {
        const bool assistant = role == "assistant";
        if (!turns.empty() && turns.back().assistant == assistant)
          turns.back().content += "\n" + content->string_value();
        else
          turns.push_back({assistant, content->string_value()});
      } else {
        return Status::InvalidArgument("message role '" + role +
                                       "' is not one of system, user, assistant");
      }
    }
    if (turns.empty()) return Status::InvalidArgument("'messages' has no user message");
    if (turns.front().assistant)
      return Status::InvalidArgument("the first message after the system's must be the user's");
    if (turns.back().assistant) {
      return Status::InvalidArgument(
          "the last message must be the user's (continuing an assistant message is not "
          "supported)");
    }
    r.prompt = std::move(turns.back().content);
    turns.pop_back();
    r.history = std::move(turns);
  } else {
    const pb::Value* prompt = Member(*v, "prompt");
    if (prompt == nullptr || prompt->kind_case() != pb::Value::kStringValue)
      return Status::InvalidArgument("'prompt' must be a string");
    r.prompt = prompt->string_value();
  }
  auto number = [&](const char* key, double lo, double hi, double* out) -> Status {
    const pb::Value* n = Member(*v, key);
    if (n == nullptr || n->kind_case() == pb::Value::kNullValue) return Status::Ok();
    if (n->kind_case() != pb::Value::kNumberValue || !(n->number_value() >= lo) ||
        !(n->number_value() <= hi))
      return Status::InvalidArgument(std::string("'") + key + "' must be a number in [" +
                                     std::to_string(lo) + ", " + std::to_string(hi) + "]");
    *out = n->number_value();
    return Status::Ok();
  };
  double max_tokens = r.max_tokens, seed = -1;
  if (Status s = number("max_tokens", 0, 1e6, &max_tokens); !s.ok()) return s;
  if (Status s = number("temperature", 0, 10, &r.temperature); !s.ok()) return s;
  if (Status s = number("top_p", 1e-4, 1, &r.top_p); !s.ok()) return s;
  if (Status s = number("seed", 0, 9e15, &seed); !s.ok()) return s;
  r.max_tokens = int(max_tokens);
  if (seed >= 0) r.seed = int64_t(seed);
  if (const pb::Value* stop = Member(*v, "stop")) {
    if (stop->kind_case() == pb::Value::kStringValue) {
      r.stop.push_back(stop->string_value());
    } else if (stop->kind_case() == pb::Value::kListValue) {
      for (const pb::Value& s : stop->list_value().values()) {
        if (s.kind_case() != pb::Value::kStringValue)
          return Status::InvalidArgument("'stop' must be a string or an array of strings");
        r.stop.push_back(s.string_value());
      }
    } else if (stop->kind_case() != pb::Value::kNullValue) {
      return Status::InvalidArgument("'stop' must be a string or an array of strings");
    }
  }
  if (const pb::Value* stream = Member(*v, "stream"))
    r.stream = stream->kind_case() == pb::Value::kBoolValue && stream->bool_value();
  return r;
}

namespace {
pb::Struct Envelope(const CompletionRequest& r, const std::string& id, int64_t created,
                    bool chunk) {
  pb::Struct body;
  auto& f = *body.mutable_fields();
  f["id"] = String(id);
  f["object"] = String(r.api == Api::kChat ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                           : "text_completion");
  f["created"] = Number(double(created));
  f["model"] = String(r.model);
  return body;
}

pb::Value UsageValue(const Usage& u) {
  pb::Struct s;
  (*s.mutable_fields())["prompt_tokens"] = Number(double(u.prompt_tokens));
  (*s.mutable_fields())["completion_tokens"] = Number(double(u.completion_tokens));
  (*s.mutable_fields())["total_tokens"] = Number(double(u.prompt_tokens + u.completion_tokens));
  return Object(std::move(s));
}

pb::Value Choice(Api api, bool chunk, std::string_view text, const std::string& finish_reason) {
  pb::Struct choice;
  auto& f = *choice.mutable_fields();
  f["index"] = Number(0);
  if (api == Api::kChat) {
    pb::Struct message;
    if (!chunk) (*message.mutable_fields())["role"] = String("assistant");
    (*message.mutable_fields())["content"] = String(std::string(text));
    f[chunk ? "delta" : "message"] = Object(std::move(message));
  } else {
    f["text"] = String(std::string(text));
  }
  f["finish_reason"] = finish_reason.empty() ? Null() : String(finish_reason);
  return Object(std::move(choice));
}
}  // namespace

std::string ResponseBody(const CompletionRequest& r, const Completion& c, const std::string& id,
                         int64_t created) {
  pb::Struct body = Envelope(r, id, created, false);
  (*body.mutable_fields())["choices"] = List({Choice(r.api, false, c.text, c.finish_reason)});
  (*body.mutable_fields())["usage"] = UsageValue(c.usage);
  return ToJson(Object(std::move(body)));
}

std::string StreamChunk(const CompletionRequest& r, const std::string& id, int64_t created,
                        std::string_view delta, const std::string& finish_reason,
                        const Usage* usage) {
  pb::Struct body = Envelope(r, id, created, true);
  (*body.mutable_fields())["choices"] = List({Choice(r.api, true, delta, finish_reason)});
  if (usage != nullptr) (*body.mutable_fields())["usage"] = UsageValue(*usage);
  return "data: " + ToJson(Object(std::move(body))) + "\n\n";
}

std::string ErrorBody(const std::string& message, const std::string& type) {
  pb::Struct error;
  (*error.mutable_fields())["message"] = String(message);
  (*error.mutable_fields())["type"] = String(type);
  pb::Struct body;
  (*body.mutable_fields())["error"] = Object(std::move(error));
  return ToJson(Object(std::move(body)));
}

}  // namespace refinery::openai
