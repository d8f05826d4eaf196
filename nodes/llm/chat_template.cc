#include "nodes/llm/chat_template.h"

namespace refinery::llm {
namespace {

struct Named {
  ChatFormat format;
  const char* name;
};
constexpr Named kFormats[] = {
    {ChatFormat::kChatMl, "chatml"}, {ChatFormat::kLlama3, "llama3"},
    {ChatFormat::kLlama2, "llama2"}, {ChatFormat::kMistral, "mistral"},
    {ChatFormat::kZephyr, "zephyr"}, {ChatFormat::kPhi3, "phi3"},
    {ChatFormat::kGemma, "gemma"},
};

bool Has(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// Appends template text; markers are recorded as ranges where control tokens may be parsed.
class Builder {
 public:
  Builder& Marker(std::string_view m) {
    out_.special_ranges.emplace_back(out_.text.size(), out_.text.size() + m.size());
    out_.text += m;
    return *this;
  }
  Builder& Text(std::string_view t) {
    out_.text += t;
    return *this;
  }
  RenderedChat Done(std::vector<std::string> end_of_turn) {
    out_.end_of_turn = std::move(end_of_turn);
    return std::move(out_);
  }

 private:
  RenderedChat out_;
};

std::string Joined(std::string_view system, std::string_view user) {
  return system.empty() ? std::string(user) : std::string(system) + "\n\n" + std::string(user);
}

}  // namespace

std::vector<std::string> ChatFormatNames() {
  std::vector<std::string> names;
  for (const Named& n : kFormats) names.push_back(n.name);
  return names;
}

const char* ChatFormatName(ChatFormat f) {
  for (const Named& n : kFormats)
    if (n.format == f) return n.name;
  return "?";
}

std::optional<ChatFormat> DetectChatFormat(std::string_view t) {
  if (Has(t, "<|im_start|>")) return ChatFormat::kChatMl;  // Qwen, SmolLM, Hermes, ...
  if (Has(t, "<|start_header_id|>") && Has(t, "<|eot_id|>")) return ChatFormat::kLlama3;
  if (Has(t, "<start_of_turn>")) return ChatFormat::kGemma;
  if (Has(t, "<|user|>") && Has(t, "<|end|>")) return ChatFormat::kPhi3;
  if (Has(t, "<|user|>")) return ChatFormat::kZephyr;  // Zephyr, TinyLlama-chat
  if (Has(t, "[INST]") && Has(t, "<<SYS>>")) return ChatFormat::kLlama2;
  if (Has(t, "[INST]")) return ChatFormat::kMistral;
  return std::nullopt;
}

StatusOr<ChatFormat> ResolveChatFormat(std::string_view name,
                                       const std::optional<std::string>& chat_template,
                                       const std::string& model) {
  std::string names;
  for (const Named& n : kFormats) names += std::string(names.empty() ? "" : ", ") + n.name;
  if (name != "auto") {
    for (const Named& n : kFormats)
      if (name == n.name) return n.format;
    return Status::InvalidArgument("chat: unknown format '" + std::string(name) + "' (auto, " +
                                   names + ")");
  }
  if (!chat_template || chat_template->empty()) {
    return Status::InvalidArgument(model +
                                   ": the model has no tokenizer.chat_template; name its format "
                                   "with chat: (" +
                                   names + ")");
  }
  if (auto f = DetectChatFormat(*chat_template)) return *f;
  return Status::InvalidArgument(model +
                                 ": its chat template is not one refinery recognises; name the "
                                 "format it follows with chat: (" +
                                 names + ")");
}

RenderedChat RenderChat(ChatFormat f, std::string_view system, std::span<const ChatTurn> turns) {
  Builder b;
  // The first user message with the system message in front, for formats without a system role.
  auto first_user = [&](size_t i) {
    return i == 0 ? Joined(system, turns[i].text) : std::string(turns[i].text);
  };
  switch (f) {
    case ChatFormat::kChatMl:
      if (!system.empty())
        b.Marker("<|im_start|>").Text("system\n").Text(system).Marker("<|im_end|>").Text("\n");
      for (const ChatTurn& t : turns) {
        b.Marker("<|im_start|>").Text(t.assistant ? "assistant\n" : "user\n").Text(t.text);
        b.Marker("<|im_end|>").Text("\n");
      }
      b.Marker("<|im_start|>").Text("assistant\n");
      return b.Done({"<|im_end|>", "<|endoftext|>"});
    case ChatFormat::kLlama3:
      if (!system.empty()) {
        b.Marker("<|start_header_id|>").Text("system").Marker("<|end_header_id|>");
        b.Text("\n\n").Text(system).Marker("<|eot_id|>");
      }
      for (const ChatTurn& t : turns) {
        b.Marker("<|start_header_id|>").Text(t.assistant ? "assistant" : "user");
        b.Marker("<|end_header_id|>").Text("\n\n").Text(t.text).Marker("<|eot_id|>");
      }
      b.Marker("<|start_header_id|>").Text("assistant").Marker("<|end_header_id|>").Text("\n\n");
      return b.Done({"<|eot_id|>", "<|end_of_text|>"});
    case ChatFormat::kLlama2:
      // <s> (the tokenizer's BOS) [INST] u1 [/INST] a1 </s><s>[INST] u2 [/INST]
      for (size_t i = 0; i < turns.size(); ++i) {
        if (turns[i].assistant) {
          b.Text(" ").Text(turns[i].text).Text(" ").Marker("</s>").Marker("<s>");
          continue;
        }
        b.Text("[INST] ");
        if (i == 0 && !system.empty()) b.Text("<<SYS>>\n").Text(system).Text("\n<</SYS>>\n\n");
        b.Text(turns[i].text).Text(" [/INST]");
      }
      return b.Done({});
    case ChatFormat::kMistral:
      // <s>[INST] u1 [/INST]a1</s>[INST] u2 [/INST]
      for (size_t i = 0; i < turns.size(); ++i) {
        if (turns[i].assistant)
          b.Text(turns[i].text).Marker("</s>");
        else
          b.Text("[INST] ").Text(first_user(i)).Text(" [/INST]");
      }
      return b.Done({});
    case ChatFormat::kZephyr:
      if (!system.empty()) b.Text("<|system|>\n").Text(system).Marker("</s>").Text("\n");
      for (const ChatTurn& t : turns)
        b.Text(t.assistant ? "<|assistant|>\n" : "<|user|>\n")
            .Text(t.text)
            .Marker("</s>")
            .Text("\n");
      b.Text("<|assistant|>\n");
      return b.Done({});
    case ChatFormat::kPhi3:
      if (!system.empty())
        b.Marker("<|system|>").Text("\n").Text(system).Marker("<|end|>").Text("\n");
      for (const ChatTurn& t : turns) {
        b.Marker(t.assistant ? "<|assistant|>" : "<|user|>").Text("\n").Text(t.text);
        b.Marker("<|end|>").Text("\n");
      }
      b.Marker("<|assistant|>").Text("\n");
      return b.Done({"<|end|>", "<|endoftext|>"});
    case ChatFormat::kGemma:
      for (size_t i = 0; i < turns.size(); ++i) {
        b.Marker("<start_of_turn>").Text(turns[i].assistant ? "model\n" : "user\n");
        b.Text(turns[i].assistant ? std::string(turns[i].text) : first_user(i));
        b.Marker("<end_of_turn>").Text("\n");
      }
      b.Marker("<start_of_turn>").Text("model\n");
      return b.Done({"<end_of_turn>"});
  }
  return b.Done({});
}

RenderedChat RenderChat(ChatFormat f, std::string_view system, std::string_view user) {
  const ChatTurn turn{false, user};
  return RenderChat(f, system, std::span<const ChatTurn>(&turn, 1));
}

Status CheckTurns(std::span<const ChatTurn> turns) {
  if (turns.empty()) return Status::InvalidArgument("a chat needs at least one user message");
  for (size_t i = 0; i < turns.size(); ++i) {
    if (turns[i].assistant != (i % 2 == 1)) {
      return Status::InvalidArgument(
          "chat messages must alternate user and assistant, starting with user (message " +
          std::to_string(i + 1) + " is " + (turns[i].assistant ? "assistant" : "user") + ")");
    }
  }
  if (turns.back().assistant)
    return Status::InvalidArgument("the last chat message must be the user's, not the assistant's");
  return Status::Ok();
}

std::vector<int32_t> ChatLayout::Encode(const LlamaTokenizer& tokenizer, std::string_view system,
                                        std::string_view user) const {
  const ChatTurn turn{false, user};
  return Encode(tokenizer, system, std::span<const ChatTurn>(&turn, 1));
}

std::vector<int32_t> ChatLayout::Encode(const LlamaTokenizer& tokenizer, std::string_view system,
                                        std::span<const ChatTurn> turns) const {
  const RenderedChat chat = RenderChat(format, system, turns);
  return tokenizer.Encode(
      chat.text, {.add_bos = true, .parse_special = true, .special_ranges = &chat.special_ranges});
}

StatusOr<ChatLayout> ChatLayoutFor(const LlamaModel& model, std::string_view name) {
  auto format = ResolveChatFormat(name, model.file->String("tokenizer.chat_template"), model.path);
  if (!format.ok()) return format.status();
  // A sample with every kind of turn, so every marker the format can use is checked.
  const ChatTurn turns[] = {{false, "u"}, {true, "a"}, {false, "u"}};
  const RenderedChat sample = RenderChat(*format, "s", turns);
  for (const auto& [begin, end] : sample.special_ranges) {
    const std::string marker = sample.text.substr(begin, end - begin);
    if (!model.tokenizer.ControlId(marker)) {
      return Status::InvalidArgument(model.path + ": chat format " + ChatFormatName(*format) +
                                     " needs the control token " + marker +
                                     ", which this model's vocabulary does not have");
    }
  }
  ChatLayout layout{*format, {}};
  for (const std::string& marker : sample.end_of_turn)
    if (auto id = model.tokenizer.ControlId(marker)) layout.stop_tokens.push_back(*id);
  return layout;
}

}  // namespace refinery::llm
