// refinery's OpenAI-compatible model server (graph-runner serve-models) as the real endpoint of
// `infer` with `backend: openai`: the same greedy text as `backend: local` on the same model,
// streamed or not, chat and completions, with auth, errors and token accounting.
#include "tools/graph-runner/models_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <filesystem>

#include "graph/engine.h"
#include "nodes/llm/chat_template.h"
#include "nodes/llm/llama_model.h"
#include "nodes/llm/model_writer.h"
#include "nodes/openai/protocol.h"
#include "tests/support/certificates.h"
#include "tests/support/node_runner.h"
#include "tests/support/scratch_path.h"
#include "tests/support/set_up_material.h"

namespace refinery::cli {
namespace {

using refinery::testing::NodeRunner;
using refinery::testing::Number;
using refinery::testing::Text;

// stories260K (real weights, real text) when ../shared is beside the clone, else the tiny model
// set-up writes.
std::string Model() {
  const std::string shared = refinery::testing::SharedPath("models/stories260K.gguf");
  if (std::filesystem::exists(shared)) return shared;
  return std::string(PROJECT_DIR) + "/.cache/models/tiny-llama.gguf";
}

class ModelsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(Model()))
        << Model() << " is missing (tools/setup.sh writes the tiny model)";
    ModelsServerOptions o;
    o.models = {{"story", Model()}};
    auto s = ModelsServer::Start(o);
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(*s);
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1"; }
  std::string RemoteNode(const std::string& extra) const {
    return "{id: llm, type: infer, backend: openai, endpoint: \"" + Url() +
           "\", model: story, max_new_tokens: 40" + extra + "}";
  }
  std::unique_ptr<ModelsServer> server_;
};

const char* kPrompts[] = {"Once upon a time", "The little dog", "Lily and Tom went to the park"};

TEST_F(ModelsServerTest, RemoteGreedyTextIsTheLocalText) {
  NodeRunner local("{id: llm, type: infer, model: \"" + Model() + "\", max_new_tokens: 40}");
  NodeRunner completions(RemoteNode(", api: completions"));
  NodeRunner streamed(RemoteNode(", api: completions, stream: true"));
  ASSERT_TRUE(local.ok() && completions.ok() && streamed.ok());
  for (const char* prompt : kPrompts) {
    Result want = local.Run({{"text", prompt}});
    ASSERT_TRUE(want.ok) << want.error_message;
    for (NodeRunner* remote : {&completions, &streamed}) {
      Result got = remote->Run({{"text", prompt}});
      ASSERT_TRUE(got.ok) << got.error_message;
      EXPECT_EQ(Text(got, "generated"), Text(want, "generated")) << prompt;
      EXPECT_EQ(Number(got, "llm.prompt_tokens"), Number(want, "llm.prompt_tokens"));
      EXPECT_EQ(Number(got, "llm.generated_tokens"), Number(want, "llm.generated_tokens"));
      EXPECT_GE(Number(got, "llm.first_token_ms"), 0);
      EXPECT_EQ(Number(got, "llm.attempts"), 1);
    }
  }
}

TEST_F(ModelsServerTest, ChatWithASystemMessageAndStopStrings) {
  // Chat has no template yet: the server gives the model "system\n\nuser".
  NodeRunner local("{id: llm, type: infer, model: \"" + Model() +
                   "\", max_new_tokens: 40, prompt: \"Be kind.\\n\\n{text}\", stop: [\".\"]}");
  NodeRunner chat(RemoteNode(", api: chat, system: \"Be kind.\", stop: [\".\"], stream: true"));
  for (const char* prompt : kPrompts) {
    Result want = local.Run({{"text", prompt}});
    Result got = chat.Run({{"text", prompt}});
    ASSERT_TRUE(want.ok && got.ok) << want.error_message << got.error_message;
    EXPECT_EQ(Text(got, "generated"), Text(want, "generated")) << prompt;
    EXPECT_EQ(Text(got, "generated").find('.'), std::string::npos) << "cut before the stop";
  }
}

// A model whose file carries a ChatML template: chat calls are laid out in it, as `infer` with
// chat: auto lays out the same turn locally.
TEST(ModelsServerChat, ChatCallsUseTheModelsChatFormat) {
  llm::RandomLlamaSpec spec;
  spec.pieces = {"\xE2\x96\x81Hi", "user", "assistant", "system"};
  spec.control_pieces = {"<|im_start|>", "<|im_end|>"};
  spec.chat_template = "{{'<|im_start|>' + message['role'] + '\\n'}}";
  const std::string path = refinery::testing::ScratchPath("chatml-served.gguf");
  ASSERT_TRUE(llm::RandomLlama(spec).Write(path).ok());
  ModelsServerOptions o;
  llm::RandomLlamaSpec no_template = spec;
  no_template.chat_template.clear();
  const std::string plain_path = refinery::testing::ScratchPath("plain-served.gguf");
  ASSERT_TRUE(llm::RandomLlama(no_template).Write(plain_path).ok());
  o.models = {{"chat", path}, {"plain", plain_path}};
  auto server = ModelsServer::Start(o);
  ASSERT_TRUE(server.ok()) << server.status().message();
  // Which layout each model's chat calls get is said at start, the fallback with its reason.
  ASSERT_EQ((*server)->chat_notes().size(), 2u);
  EXPECT_EQ((*server)->chat_notes()[0], "model chat: chat calls in its chatml format");
  EXPECT_THAT((*server)->chat_notes()[1],
              ::testing::StartsWith("model plain: chat calls as plain text"));
  const std::string url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/v1";
  NodeRunner local("{id: llm, type: infer, model: \"" + path +
                   "\", max_new_tokens: 6, chat: auto, system: \"Be kind.\"}");
  NodeRunner remote("{id: llm, type: infer, backend: openai, endpoint: \"" + url +
                    "\", model: chat, api: chat, system: \"Be kind.\", max_new_tokens: 6}");
  ASSERT_TRUE(local.ok() && remote.ok());
  Result want = local.Run({{"text", "Hi"}});
  Result got = remote.Run({{"text", "Hi"}});
  ASSERT_TRUE(want.ok && got.ok) << want.error_message << got.error_message;
  EXPECT_EQ(Number(got, "llm.prompt_tokens"), Number(want, "llm.prompt_tokens"));
  EXPECT_EQ(Text(got, "generated"), Text(want, "generated"));
  // Laid out as ChatML: more tokens than the plain "system\n\nuser" text.
  NodeRunner plain("{id: llm, type: infer, model: \"" + path +
                   "\", max_new_tokens: 6, prompt: \"Be kind.\\n\\n{text}\"}");
  Result p = plain.Run({{"text", "Hi"}});
  EXPECT_GT(Number(got, "llm.prompt_tokens"), Number(p, "llm.prompt_tokens"));

  // A conversation is laid out turn by turn in the model's format: its prompt is exactly the
  // ChatML rendering of the system message and the three turns, not one joined user message.
  auto model = llm::LlamaModel::Load(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto layout = llm::ChatLayoutFor(**model, "auto");
  ASSERT_TRUE(layout.ok()) << layout.status().message();
  const llm::ChatTurn turns[] = {{false, "Hi"}, {true, "Hi Hi"}, {false, "Hi"}};
  const size_t want_tokens = layout->Encode((*model)->tokenizer, "Be kind.", turns).size();
  httplib::Client http("127.0.0.1", (*server)->port());
  auto conversation = http.Post("/v1/chat/completions",
                                R"({"model": "chat", "max_tokens": 2, "messages": [)"
                                R"({"role": "system", "content": "Be kind."},)"
                                R"({"role": "user", "content": "Hi"},)"
                                R"({"role": "assistant", "content": "Hi Hi"},)"
                                R"({"role": "user", "content": "Hi"}]})",
                                "application/json");
  ASSERT_TRUE(conversation);
  ASSERT_EQ(conversation->status, 200) << conversation->body;
  auto completion = openai::ParseCompletion(conversation->body, openai::Api::kChat);
  ASSERT_TRUE(completion.ok()) << completion.status().message();
  EXPECT_EQ(completion->usage.prompt_tokens, int64_t(want_tokens));
  // Continuing the assistant's own message is refused with the reason, not guessed at.
  auto ends_with_assistant =
      http.Post("/v1/chat/completions",
                R"({"model": "chat", "messages": [{"role": "user", "content": "Hi"},)"
                R"({"role": "assistant", "content": "Hi"}]})",
                "application/json");
  ASSERT_TRUE(ends_with_assistant);
  EXPECT_EQ(ends_with_assistant->status, 400);
  EXPECT_THAT(ends_with_assistant->body,
              ::testing::HasSubstr("the last message must be the user's"));
}

TEST_F(ModelsServerTest, ConcurrentCallsAllAnswerAndCostIsAccounted) {
  auto engine = Engine::FromString(
      "pipeline: remote\nnodes:\n  - " +
          RemoteNode(", api: completions, max_concurrency: 8, price_prompt_per_1k: 2, "
                     "price_completion_per_1k: 4, cache: {enabled: false}") +
          "\n",
      "remote.yaml");
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  std::vector<std::future<Result>> results;
  for (int i = 0; i < 16; ++i) {
    Request r;
    r.id = std::to_string(i);
    r.fields["text"] = kPrompts[i % 3];
    results.push_back((*engine)->Submit(std::move(r)));
  }
  double total = 0;
  for (auto& f : results) {
    Result r = f.get();
    ASSERT_TRUE(r.ok) << r.error_message;
    const double cost =
        Number(r, "llm.prompt_tokens") * 2 / 1000 + Number(r, "llm.generated_tokens") * 4 / 1000;
    EXPECT_NEAR(Number(r, "llm.cost"), cost, 1e-12);
    total += cost;
  }
  // Per request type in the run report (and Prometheus' refinery_cost_total).
  const EngineStats stats = (*engine)->Stats();
  ASSERT_EQ(stats.monitor.types.size(), 1u);
  EXPECT_NEAR(stats.monitor.types[0].cost, total, 1e-9);
  EXPECT_GT(stats.monitor.types[0].tokens_in, 0);
}

TEST_F(ModelsServerTest, ErrorsFailTheItemWithTheServersReason) {
  NodeRunner wrong_model("{id: llm, type: infer, backend: openai, endpoint: \"" + Url() +
                         "\", model: nope, api: completions}");
  Result r = wrong_model.Run({{"text", "x"}});
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error_message.find("HTTP 404"), std::string::npos) << r.error_message;
  EXPECT_NE(r.error_message.find("this server has: story"), std::string::npos) << r.error_message;

  httplib::Client http("127.0.0.1", server_->port());
  auto models = http.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_NE(models->body.find("\"story\""), std::string::npos) << models->body;
  auto bad = http.Post("/v1/completions", "{\"prompt\": 5}", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("'prompt' must be a string"), std::string::npos) << bad->body;
}

TEST(ModelsServerAuth, TokenRequiredAndAcceptedFromTheKeyVariable) {
  ModelsServerOptions o;
  o.models = {{"story", Model()}};
  o.auth_token = "s3cret-token";
  auto server = ModelsServer::Start(o);
  ASSERT_TRUE(server.ok()) << server.status().message();
  const std::string url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/v1";
  NodeRunner anonymous("{id: llm, type: infer, backend: openai, endpoint: \"" + url +
                       "\", model: story, api: completions}");
  Result refused = anonymous.Run({{"text", "x"}});
  ASSERT_FALSE(refused.ok);
  EXPECT_NE(refused.error_message.find("HTTP 401"), std::string::npos) << refused.error_message;
  EXPECT_EQ(refused.error_message.find("s3cret"), std::string::npos);
  ::setenv("REFINERY_TEST_SERVER_KEY", "s3cret-token", 1);
  NodeRunner keyed("{id: llm, type: infer, backend: openai, endpoint: \"" + url +
                   "\", model: story, api: completions, api_key_env: REFINERY_TEST_SERVER_KEY}");
  Result ok = keyed.Run({{"text", "x"}});
  EXPECT_TRUE(ok.ok) << ok.error_message;
}

// HTTPS with a private CA: trusted through tls_ca_file, refused (a TLS error, named) without it.
TEST(ModelsServerTls, HttpsWithAPrivateCa) {
  const std::string dir = refinery::testing::ScratchPath("models-tls");
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(refinery::testing::MakeCertificates(dir))
      << "the openssl program (Debian package openssl, installed by tools/setup.sh --tests) "
         "could not make certificates";
  ModelsServerOptions o;
  o.models = {{"story", Model()}};
  o.tls_cert = dir + "/server.pem";
  o.tls_key = dir + "/server.key";
  auto server = ModelsServer::Start(o);
  ASSERT_TRUE(server.ok()) << server.status().message();
  const std::string url = "https://127.0.0.1:" + std::to_string((*server)->port()) + "/v1";
  const std::string node = "{id: llm, type: infer, backend: openai, endpoint: \"" + url +
                           "\", model: story, api: completions, max_new_tokens: 8";
  NodeRunner trusted(node + ", tls_ca_file: \"" + dir + "/ca.pem\"}");
  Result ok = trusted.Run({{"text", "Once upon a time"}});
  EXPECT_TRUE(ok.ok) << ok.error_message;
  NodeRunner untrusted(node + ", max_retries: 0}");
  Result refused = untrusted.Run({{"text", "Once upon a time"}});
  ASSERT_FALSE(refused.ok);
  EXPECT_NE(refused.error_message.find("TLS"), std::string::npos) << refused.error_message;
  o.tls_key = dir + "/ca.pem";  // not the certificate's key
  EXPECT_FALSE(ModelsServer::Start(o).ok());
}

TEST(InferBackendOptions, ValidationNamesTheMissingOrMisplacedOption) {
  auto no_endpoint = Engine::FromString(
      "pipeline: p\nnodes:\n  - {id: llm, type: infer, backend: openai, model: m}\n", "p.yaml");
  ASSERT_FALSE(no_endpoint.ok());
  EXPECT_NE(no_endpoint.status().message().find("needs `endpoint`"), std::string::npos)
      << no_endpoint.status().message();
  auto local_system = Engine::FromString(
      "pipeline: p\nnodes:\n  - {id: llm, type: infer, model: m.gguf, system: hi}\n", "p.yaml");
  ASSERT_FALSE(local_system.ok());
  EXPECT_NE(local_system.status().message().find("`system` needs a chat layout"), std::string::npos)
      << local_system.status().message();
}

}  // namespace
}  // namespace refinery::cli
