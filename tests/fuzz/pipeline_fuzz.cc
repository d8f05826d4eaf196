// Pipeline YAML: load and validate (every node type's options, loops, conditions, queues,
// caches, parallel groups). Any input must give a spec or a located error, never a crash.
#include "graph/spec/pipeline_loader.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)refinery::LoadPipelineString(refinery::fuzz::Input(data, size), "fuzz.yaml");
  return 0;
}
