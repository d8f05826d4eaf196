// Chat prompt formats: a system message and a conversation laid out the way an instruction-tuned
// model was trained to read them, with the markers that must be tokenized as the model's control
// tokens and the end-of-turn tokens that end its answer.
//
//   auto format = ResolveChatFormat("auto", file.String("tokenizer.chat_template"), path);
//   RenderedChat chat = RenderChat(*format, "Be brief.", "What is a graph?");
//   tokenizer.Encode(chat.text, {.parse_special = true, .special_ranges = &chat.special_ranges});
//
// GGUF files carry their template as Jinja (`tokenizer.chat_template`); rather than run Jinja,
// the common families are recognised by their markers (as llama.cpp does) and rendered here.
// Only the template's own markers are parsed as control tokens: a marker inside the user's text
// stays plain text, so a message cannot end its own turn or forge a system message.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "graph/status.h"
#include "nodes/llm/llama_model.h"

namespace refinery::llm {

enum class ChatFormat { kChatMl, kLlama3, kLlama2, kMistral, kZephyr, kPhi3, kGemma };

// "chatml", "llama3", "llama2", "mistral", "zephyr", "phi3", "gemma".
std::vector<std::string> ChatFormatNames();
const char* ChatFormatName(ChatFormat f);

// The family whose markers the Jinja template uses, if one is recognised.
std::optional<ChatFormat> DetectChatFormat(std::string_view jinja);

// `name`: a format name, or "auto" for the model's own template. An unknown name, a model
// without a template, or a template not recognised is an error that names the fix.
StatusOr<ChatFormat> ResolveChatFormat(std::string_view name,
                                       const std::optional<std::string>& chat_template,
                                       const std::string& model);

struct RenderedChat {
  std::string text;
  std::vector<std::pair<size_t, size_t>> special_ranges;  // [begin, end) of the markers
  std::vector<std::string> end_of_turn;                   // control tokens that end the answer
};

// One message of a conversation after the system message.
struct ChatTurn {
  bool assistant = false;  // else the user's
  std::string_view text;
};

// A conversation: `turns` alternate user and assistant, starting and ending with the user's
// (CheckTurns). An empty system message is left out (formats without a system role fold it into
// the first user message). The text ends where the assistant's next answer begins.
RenderedChat RenderChat(ChatFormat f, std::string_view system, std::span<const ChatTurn> turns);
// One user message.
RenderedChat RenderChat(ChatFormat f, std::string_view system, std::string_view user);
// OK, or what is wrong with the order of `turns` (the formats' templates require alternation).
Status CheckTurns(std::span<const ChatTurn> turns);

// A model's chat layout, ready to encode turns: the format, checked against the vocabulary (every
// marker is one of its control tokens), and the ids of its end-of-turn tokens.
struct ChatLayout {
  ChatFormat format;
  std::vector<int32_t> stop_tokens;
  std::vector<int32_t> Encode(const LlamaTokenizer& tokenizer, std::string_view system,
                              std::string_view user) const;
  std::vector<int32_t> Encode(const LlamaTokenizer& tokenizer, std::string_view system,
                              std::span<const ChatTurn> turns) const;
};
// `name` as ResolveChatFormat takes it ("auto": the file's tokenizer.chat_template).
StatusOr<ChatLayout> ChatLayoutFor(const LlamaModel& model, std::string_view name);

}  // namespace refinery::llm
