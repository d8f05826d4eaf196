// `--set` overrides applied to a pipeline that has a node of each common kind and a loop.
#include "graph/runtime_config.h"
#include "graph/spec/pipeline_loader.h"
#include "tests/fuzz/fuzz_support.h"

namespace {
constexpr const char* kPipeline = R"(pipeline: fuzz
max_in_flight: 8
nodes:
  - {id: clean, type: normalize}
  - {id: tok, type: tokenize, fields: [text], ids: false}
  - {id: cut, type: truncate, field: text, max_tokens: 64}
  - {id: m, type: measure}
edges: [clean -> tok, tok -> cut, cut -> m]
)";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto o = refinery::ParseOverride(refinery::fuzz::Input(data, size));
  if (o.ok()) (void)refinery::LoadPipelineString(kPipeline, "fuzz.yaml", {*o});
  return 0;
}
