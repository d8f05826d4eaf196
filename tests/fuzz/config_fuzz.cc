// Runtime configs (--config): cache overrides and the `monitoring:` section (alerts, drift,
// trends, sinks). Any input must give a config or a located error, never a crash. Each input is
// written to a file because the loader takes a path, as graph-runner does.
#include <unistd.h>

#include <fstream>

#include "graph/runtime_config.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/refinery-config-fuzz-" + std::to_string(::getpid());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  (void)refinery::fuzz::Input(data, 0);
  (void)refinery::LoadRuntimeConfig(path);
  return 0;
}
