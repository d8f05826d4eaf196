// Requests: a JSON Lines line, and the same bytes as a serialized refinery.v1.Request (the
// gRPC and queue paths).
#include "graph/io/json_io.h"
#include "graph/json_io.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = refinery::fuzz::Input(data, size);
  (void)refinery::RequestFromJson(bytes, 1);
  refinery::proto::Request msg;
  if (msg.ParseFromString(bytes)) (void)refinery::RequestFromProto(std::move(msg), 1);
  return 0;
}
