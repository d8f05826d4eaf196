#include "nodes/openai/remote_infer.h"

#include <oneapi/tbb/task.h>

#include <atomic>

#include "graph/io/utf8.h"
#include "nodes/batch_first_node.h"

namespace refinery::openai {
namespace {

class RemoteInfer : public nodes::BatchFirstNode {
 public:
  RemoteInfer(RemoteInferSettings s, std::shared_ptr<EndpointClient> client,
              nodes::PromptTemplate prompt, std::optional<nodes::PromptTemplate> system)
      : s_(std::move(s)),
        client_(std::move(client)),
        prompt_(std::move(prompt)),
        system_(std::move(system)) {}

  // Every item's call is submitted at once; the task suspends until the last one answers.
  void ProcessBatch(const std::vector<Item*>& items,
                    std::vector<std::string>& errors) const override {
    std::vector<CallResult> results(items.size());
    std::atomic<size_t> remaining{items.size()};
    tbb::task::suspend([&](tbb::task::suspend_point tag) {
      for (size_t i = 0; i < items.size(); ++i) {
        CompletionRequest request = s_.request;
        request.prompt = prompt_.Render(*items[i]);
        if (system_) request.system = system_->Render(*items[i]);
        std::optional<EndpointClient::Clock::time_point> deadline;
        if (auto left = items[i]->time_left()) deadline = EndpointClient::Clock::now() + *left;
        client_->Submit(std::move(request), items[i]->priority(), deadline,
                        [&results, &remaining, tag, i](CallResult r) {
                          results[i] = std::move(r);
                          if (remaining.fetch_sub(1) == 1) tbb::task::resume(tag);
                        });
      }
    });
    for (size_t i = 0; i < items.size(); ++i) {
      const CallResult& r = results[i];
      if (!r.status.ok()) {
        errors[i] = r.status.message();
        continue;
      }
      Item& item = *items[i];
      const Usage& u = r.completion.usage;
      if (u.prompt_tokens >= 0) item.set_number(s_.id + ".prompt_tokens", double(u.prompt_tokens));
      if (u.completion_tokens >= 0)
        item.set_number(s_.id + ".generated_tokens", double(u.completion_tokens));
      item.set_text(s_.id + ".stop_reason", r.completion.finish_reason);
      item.set_number(s_.id + ".attempts", r.attempts);
      item.set_number(s_.id + ".first_token_ms", r.first_token_ms);
      if (s_.request.stream) item.set_number(s_.id + ".inter_token_ms", r.inter_token_ms);
      if ((s_.price_prompt_per_1k > 0 || s_.price_completion_per_1k > 0) && u.prompt_tokens >= 0 &&
          u.completion_tokens >= 0) {
        item.set_number(s_.id + ".cost",
                        double(u.prompt_tokens) * s_.price_prompt_per_1k / 1000 +
                            double(u.completion_tokens) * s_.price_completion_per_1k / 1000);
      }
      item.set_text(s_.output, utf8::ToValidUtf8(r.completion.text));
    }
  }

 private:
  RemoteInferSettings s_;
  std::shared_ptr<EndpointClient> client_;
  nodes::PromptTemplate prompt_;
  std::optional<nodes::PromptTemplate> system_;
};

}  // namespace

std::unique_ptr<Node> MakeRemoteInfer(RemoteInferSettings settings,
                                      std::shared_ptr<EndpointClient> client,
                                      nodes::PromptTemplate prompt,
                                      std::optional<nodes::PromptTemplate> system) {
  return std::make_unique<RemoteInfer>(std::move(settings), std::move(client), std::move(prompt),
                                       std::move(system));
}

}  // namespace refinery::openai
