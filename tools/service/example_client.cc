// A whole refinery client: sends texts to a running `graph-runner serve` and prints the results.
//
//   graph-runner serve pipelines/clean-text.yaml --listen 127.0.0.1:50051 &
//   refinery_example_client 127.0.0.1:50051 clean-text "  Some   text  " "More text"
#include <cstdio>
#include <string>
#include <vector>

#include "graph/json_io.h"
#include "tools/service/client.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s HOST:PORT PIPELINE TEXT...\n", argv[0]);
    return 2;
  }
  auto client = refinery::client::Client::Connect({.target = argv[1]});
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().message().c_str());
    return 2;
  }
  // One request, unary.
  refinery::Request first{.id = "1", .fields = {{"text", std::string(argv[3])}}};
  auto result = (*client)->Run(argv[2], first, std::chrono::seconds(10));
  if (!result.ok()) {
    std::fprintf(stderr, "Run: %s\n", result.status().message().c_str());
    return 1;
  }
  std::printf("%s\n", refinery::ResultToJson(*result).c_str());
  // The rest, streamed.
  int next = 4;
  auto source = [&](refinery::Request* r) {
    if (next >= argc) return false;
    r->id = std::to_string(next - 2);
    r->fields["text"] = std::string(argv[next++]);
    return true;
  };
  refinery::Status s = (*client)->Stream(argv[2], source, [](refinery::Result&& r) {
    std::printf("%s\n", refinery::ResultToJson(r).c_str());
  });
  if (!s.ok()) {
    std::fprintf(stderr, "RunStream: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}
