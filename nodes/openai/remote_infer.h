// The infer node's `backend: openai`: each item's prompt (and system message) rendered from its
// fields and sent to an OpenAI-compatible server through an EndpointClient. The engine thread
// is released while the call is in flight (oneTBB resumable tasks), so slow servers hold no
// graph threads; a batch from the node's queue becomes concurrent calls.
//
// Writes `output`, <id>.prompt_tokens and <id>.generated_tokens (from the response's usage, so
// token trends and budgets see them), <id>.stop_reason, <id>.attempts, <id>.first_token_ms,
// <id>.inter_token_ms (streamed calls) and <id>.cost (when prices are given).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph/node.h"
#include "nodes/openai/endpoint_client.h"
#include "nodes/prompt_template.h"

namespace refinery::openai {

struct RemoteInferSettings {
  std::string id;             // the node's id (field name prefix)
  std::string output;         // field for the generated text
  CompletionRequest request;  // model, api, sampling, stop, stream; prompt/system per item
  double price_prompt_per_1k = 0;
  double price_completion_per_1k = 0;
};

std::unique_ptr<Node> MakeRemoteInfer(RemoteInferSettings settings,
                                      std::shared_ptr<EndpointClient> client,
                                      nodes::PromptTemplate prompt,
                                      std::optional<nodes::PromptTemplate> system);

}  // namespace refinery::openai
