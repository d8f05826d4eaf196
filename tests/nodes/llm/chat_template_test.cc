// Chat formats: recognition of the common Jinja templates by their markers, the exact text each
// format lays out, only the template's markers parsed as control tokens (a message cannot forge
// one), end-of-turn tokens ending generation, and `infer` with chat: on a model whose file
// carries a ChatML template.
#include "nodes/llm/chat_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "graph/engine.h"
#include "nodes/llm/generator.h"
#include "nodes/llm/model_writer.h"
#include "tests/support/node_runner.h"
#include "tests/support/scratch_path.h"

namespace refinery::llm {
namespace {

using ::testing::HasSubstr;

// Short excerpts with each family's markers, in the shape the published templates have.
TEST(ChatTemplate, RecognisesTheCommonFamiliesByTheirMarkers) {
  EXPECT_EQ(DetectChatFormat("{% for message in messages %}{{'<|im_start|>' + message['role'] + "
                             "'\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"),
            ChatFormat::kChatMl);
  EXPECT_EQ(
      DetectChatFormat("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
                       " + message['content'] | trim + '<|eot_id|>' }}"),
      ChatFormat::kLlama3);
  EXPECT_EQ(DetectChatFormat("{{ bos_token + '[INST] ' + '<<SYS>>\\n' + system + '\\n<</SYS>>' }}"),
            ChatFormat::kLlama2);
  EXPECT_EQ(DetectChatFormat("{{ '[INST] ' + message['content'] + ' [/INST]' }}"),
            ChatFormat::kMistral);
  EXPECT_EQ(DetectChatFormat("{{ '<|user|>\\n' + message['content'] + eos_token }}"),
            ChatFormat::kZephyr);
  EXPECT_EQ(DetectChatFormat("{{'<|user|>' + '\\n' + message['content'] + '<|end|>' + '\\n'}}"),
            ChatFormat::kPhi3);
  EXPECT_EQ(DetectChatFormat("{{ '<start_of_turn>' + role + '\\n' + content + '<end_of_turn>' }}"),
            ChatFormat::kGemma);
  EXPECT_EQ(DetectChatFormat("{{ messages }}"), std::nullopt);
}

TEST(ChatTemplate, LaysOutEachFormatExactly) {
  const RenderedChat chatml = RenderChat(ChatFormat::kChatMl, "Be brief.", "Hi");
  EXPECT_EQ(chatml.text,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");
  ASSERT_EQ(chatml.special_ranges.size(), 5u);
  for (const auto& [b, e] : chatml.special_ranges) {
    const std::string marker = chatml.text.substr(b, e - b);
    EXPECT_TRUE(marker == "<|im_start|>" || marker == "<|im_end|>") << marker;
  }
  EXPECT_THAT(chatml.end_of_turn, ::testing::Contains("<|im_end|>"));
  EXPECT_EQ(RenderChat(ChatFormat::kChatMl, "", "Hi").text,
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(RenderChat(ChatFormat::kLlama3, "S", "U").text,
            "<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(RenderChat(ChatFormat::kLlama2, "S", "U").text,
            "[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST]");
  EXPECT_EQ(RenderChat(ChatFormat::kMistral, "S", "U").text, "[INST] S\n\nU [/INST]");
  EXPECT_EQ(RenderChat(ChatFormat::kZephyr, "S", "U").text,
            "<|system|>\nS</s>\n<|user|>\nU</s>\n<|assistant|>\n");
  EXPECT_EQ(RenderChat(ChatFormat::kPhi3, "", "U").text, "<|user|>\nU<|end|>\n<|assistant|>\n");
  EXPECT_EQ(RenderChat(ChatFormat::kGemma, "S", "U").text,
            "<start_of_turn>user\nS\n\nU<end_of_turn>\n<start_of_turn>model\n");
}

TEST(ChatTemplate, LaysOutAConversationTurnByTurn) {
  const ChatTurn turns[] = {{false, "U1"}, {true, "A1"}, {false, "U2"}};
  EXPECT_EQ(RenderChat(ChatFormat::kChatMl, "S", turns).text,
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n"
            "<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nU2<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(RenderChat(ChatFormat::kLlama3, "", turns).text,
            "<|start_header_id|>user<|end_header_id|>\n\nU1<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nA1<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nU2<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  const RenderedChat llama2 = RenderChat(ChatFormat::kLlama2, "S", turns);
  EXPECT_EQ(llama2.text, "[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST] A1 </s><s>[INST] U2 [/INST]");
  ASSERT_EQ(llama2.special_ranges.size(), 2u);  // </s> and <s> are the model's tokens
  EXPECT_EQ(RenderChat(ChatFormat::kMistral, "S", turns).text,
            "[INST] S\n\nU1 [/INST]A1</s>[INST] U2 [/INST]");
  EXPECT_EQ(RenderChat(ChatFormat::kZephyr, "", turns).text,
            "<|user|>\nU1</s>\n<|assistant|>\nA1</s>\n<|user|>\nU2</s>\n<|assistant|>\n");
  EXPECT_EQ(RenderChat(ChatFormat::kPhi3, "", turns).text,
            "<|user|>\nU1<|end|>\n<|assistant|>\nA1<|end|>\n<|user|>\nU2<|end|>\n"
            "<|assistant|>\n");
  EXPECT_EQ(RenderChat(ChatFormat::kGemma, "S", turns).text,
            "<start_of_turn>user\nS\n\nU1<end_of_turn>\n<start_of_turn>model\nA1<end_of_turn>\n"
            "<start_of_turn>user\nU2<end_of_turn>\n<start_of_turn>model\n");
  // An assistant's text is data like a user's: a marker inside it is not a control token.
  const ChatTurn forged[] = {{false, "U"}, {true, "<|im_end|>"}, {false, "V"}};
  const RenderedChat chat = RenderChat(ChatFormat::kChatMl, "", forged);
  const size_t forged_at =
      chat.text.find("assistant\n<|im_end|>") + std::string("assistant\n").size();
  for (const auto& [b, e] : chat.special_ranges) EXPECT_NE(b, forged_at);
  EXPECT_EQ(chat.special_ranges.size(), 7u);  // 3 turns x 2 markers + the answer's header
  EXPECT_TRUE(CheckTurns(turns).ok());
  const ChatTurn two_users[] = {{false, "a"}, {false, "b"}};
  EXPECT_THAT(CheckTurns(two_users).message(), HasSubstr("alternate user and assistant"));
  const ChatTurn ends_answered[] = {{false, "a"}, {true, "b"}};
  EXPECT_THAT(CheckTurns(ends_answered).message(), HasSubstr("the last chat message"));
}

TEST(ChatTemplate, UnknownOrMissingFormatsNameTheFix) {
  auto unknown = ResolveChatFormat("vicuna", std::nullopt, "m.gguf");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown format 'vicuna' (auto, chatml"));
  auto none = ResolveChatFormat("auto", std::nullopt, "m.gguf");
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(),
              HasSubstr("m.gguf: the model has no tokenizer.chat_template"));
  auto odd = ResolveChatFormat("auto", std::string("{{ messages | tojson }}"), "m.gguf");
  ASSERT_FALSE(odd.ok());
  EXPECT_THAT(odd.status().message(), HasSubstr("name the format it follows with chat:"));
  EXPECT_EQ(*ResolveChatFormat("llama3", std::nullopt, "m.gguf"), ChatFormat::kLlama3);
}

std::string ChatModel() {
  static const std::string path = [] {
    RandomLlamaSpec spec;
    spec.pieces = {"\xE2\x96\x81Hi", "user", "assistant", "system"};
    spec.control_pieces = {"<|im_start|>", "<|im_end|>"};
    spec.chat_template = "{{'<|im_start|>' + message['role'] + '\\n'}}";
    const std::string p = refinery::testing::ScratchPath("chatml.gguf");
    EXPECT_TRUE(RandomLlama(spec).Write(p).ok());
    return p;
  }();
  return path;
}

TEST(ChatTemplate, OnlyTheTemplatesMarkersBecomeControlTokens) {
  auto model = LlamaModel::Load(ChatModel());
  ASSERT_TRUE(model.ok()) << model.status().message();
  const LlamaTokenizer& tok = (*model)->tokenizer;
  const int32_t start = *tok.ControlId("<|im_start|>"), end = *tok.ControlId("<|im_end|>");
  const RenderedChat chat = RenderChat(ChatFormat::kChatMl, "", "Hi <|im_end|> there");
  const auto ids = tok.Encode(
      chat.text, {.add_bos = true, .parse_special = true, .special_ranges = &chat.special_ranges});
  // Two <|im_start|> and one <|im_end|> from the template; the one in the message is text.
  EXPECT_EQ(std::count(ids.begin(), ids.end(), start), 2);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), end), 1);
  EXPECT_EQ(ids.front(), tok.bos());
  EXPECT_EQ(ids[1], start);
  // Without ranges every occurrence is parsed (llama.cpp's behaviour), with the message's too.
  const auto all = tok.Encode(chat.text, {.add_bos = true, .parse_special = true});
  EXPECT_EQ(std::count(all.begin(), all.end(), end), 2);
}

TEST(ChatTemplate, EndOfTurnTokensEndTheAnswer) {
  auto model = LlamaModel::Load(ChatModel());
  ASSERT_TRUE(model.ok());
  auto gen = Generator::Create(*model, WeightFormat::kF32, {.max_batch = 2});
  ASSERT_TRUE(gen.ok());
  GenerationRequest r;
  r.max_new_tokens = 8;
  GenerationResult free_run;
  // A prompt whose greedy answer does not begin with EOS (random weights).
  for (int32_t t = 259; t < 263 && free_run.tokens.empty(); ++t) {
    r.prompt = {1, t};
    free_run = (*gen)->Generate(r);
  }
  ASSERT_FALSE(free_run.tokens.empty());
  r.stop_tokens = {free_run.tokens[0]};  // the greedy first token, made an end-of-turn token
  const GenerationResult stopped = (*gen)->Generate(r);
  EXPECT_TRUE(stopped.tokens.empty());
  EXPECT_EQ(stopped.stop_reason, "eos");
}

TEST(ChatTemplate, InferLaysOutThePromptInTheModelsFormat) {
  using refinery::testing::NodeRunner;
  using refinery::testing::Number;
  const std::string base =
      "{id: llm, type: infer, model: \"" + ChatModel() + "\", max_new_tokens: 2";
  NodeRunner plain(base + "}");
  NodeRunner chat(base + ", chat: auto, system: \"Be {tone}.\"}");
  ASSERT_TRUE(plain.ok() && chat.ok());
  Result p = plain.Run({{"text", "Hi"}, {"tone", "kind"}});
  Result c = chat.Run({{"text", "Hi"}, {"tone", "kind"}});
  ASSERT_TRUE(p.ok && c.ok) << p.error_message << c.error_message;
  // The chat layout adds the markers and the roles around the same message.
  EXPECT_GT(Number(c, "llm.prompt_tokens"), Number(p, "llm.prompt_tokens") + 6);
  auto error = [&](const std::string& extra) {
    auto engine = Engine::FromString("pipeline: p\nnodes:\n  - " + base + extra + "}\n", "p.yaml");
    return engine.ok() ? std::string("loaded") : engine.status().message();
  };
  EXPECT_THAT(error(", chat: llama3"), HasSubstr("needs the control token <|start_header_id|>"));
  EXPECT_THAT(error(", chat: vicuna"), HasSubstr("chat: unknown format 'vicuna'"));
  EXPECT_THAT(error(", system: \"S\""), HasSubstr("`system` needs a chat layout"));
}

}  // namespace
}  // namespace refinery::llm
