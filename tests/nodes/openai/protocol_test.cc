// The OpenAI wire format both ways (nodes/openai/protocol.h) and the rate limiter.
#include "nodes/openai/protocol.h"

#include <gtest/gtest.h>

#include "nodes/openai/rate_limiter.h"

namespace refinery::openai {
namespace {

TEST(OpenAiProtocol, RequestBodiesReadBackAsWritten) {
  for (Api api : {Api::kChat, Api::kCompletions}) {
    CompletionRequest r;
    r.model = "m-1";
    r.api = api;
    r.system = api == Api::kChat ? "Be \"brief\".\n" : "";
    r.prompt = "Summarize: caf\xc3\xa9 {x}";
    r.max_tokens = 17;
    r.temperature = 0.5;
    r.top_p = 0.9;
    r.seed = 42;
    r.stop = {"\n\n", "END"};
    r.stream = true;
    auto back = ParseRequest(RequestBody(r), api);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->model, r.model);
    EXPECT_EQ(back->system, r.system);
    EXPECT_EQ(back->prompt, r.prompt);
    EXPECT_EQ(back->max_tokens, 17);
    EXPECT_DOUBLE_EQ(back->temperature, 0.5);
    EXPECT_DOUBLE_EQ(back->top_p, 0.9);
    EXPECT_EQ(back->seed, 42);
    EXPECT_EQ(back->stop, r.stop);
    EXPECT_TRUE(back->stream);
  }
}

TEST(OpenAiProtocol, AConversationKeepsItsTurns) {
  CompletionRequest r;
  r.api = Api::kChat;
  r.system = "S";
  r.history = {{false, "first question"}, {true, "first answer"}};
  r.prompt = "second question";
  auto back = ParseRequest(RequestBody(r), Api::kChat);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->system, "S");
  ASSERT_EQ(back->history.size(), 2u);
  EXPECT_FALSE(back->history[0].assistant);
  EXPECT_EQ(back->history[0].content, "first question");
  EXPECT_TRUE(back->history[1].assistant);
  EXPECT_EQ(back->history[1].content, "first answer");
  EXPECT_EQ(back->prompt, "second question");
  // Consecutive messages of one role are one turn; system messages may come anywhere.
  auto merged = ParseRequest(
      R"({"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "s"},)"
      R"({"role": "user", "content": "b"}, {"role": "assistant", "content": "c"},)"
      R"({"role": "user", "content": "d"}]})",
      Api::kChat);
  ASSERT_TRUE(merged.ok()) << merged.status().message();
  EXPECT_EQ(merged->system, "s");
  ASSERT_EQ(merged->history.size(), 2u);
  EXPECT_EQ(merged->history[0].content, "a\nb");
  EXPECT_EQ(merged->prompt, "d");
  auto assistant_first = ParseRequest(
      R"({"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}]})",
      Api::kChat);
  EXPECT_NE(assistant_first.status().message().find("must be the user's"), std::string::npos);
  auto assistant_last = ParseRequest(
      R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})",
      Api::kChat);
  EXPECT_NE(assistant_last.status().message().find("the last message must be the user's"),
            std::string::npos);
  auto only_system =
      ParseRequest(R"({"messages": [{"role": "system", "content": "s"}]})", Api::kChat);
  EXPECT_NE(only_system.status().message().find("no user message"), std::string::npos);
}

TEST(OpenAiProtocol, RequestErrorsSayWhatIsWrong) {
  EXPECT_NE(ParseRequest("{", Api::kChat).status().message().find("JSON"), std::string::npos);
  EXPECT_NE(ParseRequest("{\"messages\": []}", Api::kChat).status().message().find("messages"),
            std::string::npos);
  EXPECT_NE(ParseRequest("{\"prompt\": 3}", Api::kCompletions).status().message().find("prompt"),
            std::string::npos);
  auto bad_temp = ParseRequest("{\"prompt\": \"x\", \"temperature\": 99}", Api::kCompletions);
  EXPECT_NE(bad_temp.status().message().find("temperature"), std::string::npos);
  auto bad_role =
      ParseRequest("{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}", Api::kChat);
  EXPECT_NE(bad_role.status().message().find("tool"), std::string::npos);
}

TEST(OpenAiProtocol, ResponsesParseAsServersWriteThem) {
  auto chat = ParseCompletion(
      R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"Hi there"},)"
      R"("finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3}})",
      Api::kChat);
  ASSERT_TRUE(chat.ok()) << chat.status().message();
  EXPECT_EQ(chat->text, "Hi there");
  EXPECT_EQ(chat->finish_reason, "stop");
  EXPECT_EQ(chat->usage.prompt_tokens, 12);
  EXPECT_EQ(chat->usage.completion_tokens, 3);
  auto text = ParseCompletion(R"({"choices":[{"text":"abc","finish_reason":"length"}]})",
                              Api::kCompletions);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->text, "abc");
  EXPECT_EQ(text->usage.prompt_tokens, -1) << "no usage: unknown, not zero";
  EXPECT_FALSE(ParseCompletion("{\"choices\": []}", Api::kChat).ok());
  EXPECT_FALSE(ParseCompletion("<html>", Api::kChat).ok());
  EXPECT_FALSE(ParseCompletion(R"({"choices":[{"text":"abc"}]})", Api::kChat).ok());
}

TEST(OpenAiProtocol, ServerBodiesAreWhatTheClientReads) {
  CompletionRequest r;
  r.model = "tiny";
  for (Api api : {Api::kChat, Api::kCompletions}) {
    r.api = api;
    Completion c{"out \"text\"\n", "length", {5, 7}};
    auto back = ParseCompletion(ResponseBody(r, c, "id-1", 1700000000), api);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->text, c.text);
    EXPECT_EQ(back->finish_reason, "length");
    EXPECT_EQ(back->usage.prompt_tokens, 5);
    EXPECT_EQ(back->usage.completion_tokens, 7);
    // The same as a stream, fed one byte at a time.
    const Usage usage{5, 7};
    const std::string stream = StreamChunk(r, "id", 1, "out ", "", nullptr) +
                               StreamChunk(r, "id", 1, "\"text\"\n", "", nullptr) +
                               StreamChunk(r, "id", 1, "", "length", &usage) + "data: [DONE]\n\n";
    StreamParser parser(api);
    for (char ch : stream) ASSERT_TRUE(parser.Feed(std::string_view(&ch, 1)).ok());
    EXPECT_TRUE(parser.done());
    EXPECT_EQ(parser.completion().text, c.text);
    EXPECT_EQ(parser.completion().finish_reason, "length");
    EXPECT_EQ(parser.completion().usage.completion_tokens, 7);
    EXPECT_EQ(parser.chunks(), 3);
  }
}

TEST(OpenAiProtocol, StreamsWithCrlfCommentsAndErrors) {
  StreamParser parser(Api::kChat);
  ASSERT_TRUE(parser.Feed(": keep-alive\r\n\r\n").ok());
  ASSERT_TRUE(
      parser.Feed("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\r\n\r\n").ok());
  ASSERT_TRUE(parser.Feed("data: {\"choices\":[{\"delta\":{\"content\":\"A\"}}]}\r\n\r\n").ok());
  EXPECT_FALSE(parser.done());
  EXPECT_EQ(parser.completion().text, "A");
  EXPECT_FALSE(parser.Feed("data: {not json}\n\n").ok());
  StreamParser error(Api::kChat);
  Status s = error.Feed("data: {\"error\": {\"message\": \"overloaded\"}}\n\n");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("overloaded"), std::string::npos);
}

TEST(OpenAiProtocol, ErrorMessagesComeFromTheBody) {
  EXPECT_EQ(ErrorMessage(R"({"error": {"message": "model 'x' not found", "type": "e"}})"),
            "model 'x' not found");
  EXPECT_EQ(ErrorMessage(R"({"error": "bad key"})"), "bad key");
  EXPECT_EQ(ErrorMessage("plain\ntext"), "plain text");
  EXPECT_EQ(ErrorMessage(ErrorBody("too long", "invalid_request_error")), "too long");
}

TEST(RateLimiter, WaitsInsteadOfExceedingEitherLimit) {
  RateLimiter requests(60, 0);  // one a second
  for (int i = 0; i < 60; ++i)
    ASSERT_EQ(requests.TryAcquire(0), RateLimiter::Clock::duration::zero());
  const auto wait = requests.TryAcquire(0);
  EXPECT_GT(wait, std::chrono::milliseconds(900));
  EXPECT_LE(wait, std::chrono::milliseconds(1000));

  RateLimiter tokens(0, 6000);  // 100 a second
  EXPECT_EQ(tokens.TryAcquire(5000), RateLimiter::Clock::duration::zero());
  const auto token_wait = tokens.TryAcquire(2000);  // 1000 left: 1000 more takes 10 s
  EXPECT_GT(token_wait, std::chrono::milliseconds(9900));
  EXPECT_LE(token_wait, std::chrono::milliseconds(10000));
  tokens.Adjust(-1000);  // the server said the first call used 1000 fewer
  EXPECT_EQ(tokens.TryAcquire(2000), RateLimiter::Clock::duration::zero());

  RateLimiter none(0, 0);
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(none.TryAcquire(1e9), RateLimiter::Clock::duration::zero());
}

}  // namespace
}  // namespace refinery::openai
