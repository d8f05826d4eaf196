// delay: holds each item for a fixed time, sleeping or spinning. For load tests and benchmarks
// of pipelines (a stand-in for a slow model call), and for trying back-pressure by hand.
//
//   - {id: slow, type: delay, micros: 2000, mode: sleep, concurrency: serial}
#include <chrono>
#include <thread>

#include "graph/registry.h"

namespace refinery::nodes {
namespace {

struct DelayOptions {
  int64_t micros;
  std::string mode;
};

class Delay : public Node {
 public:
  explicit Delay(const DelayOptions& o) : micros_(o.micros), spin_(o.mode == "spin") {}

  void Process(Item&) const override {
    const auto d = std::chrono::microseconds(micros_);
    if (!spin_) {
      std::this_thread::sleep_for(d);
      return;
    }
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
    }
  }

 private:
  int64_t micros_;
  bool spin_;
};

FieldIo DelayIo(const NodeConfig&, const DelayOptions&) { return {}; }

}  // namespace

REFINERY_REGISTER_NODE(delay) {
  BoundContract<DelayOptions> c;
  c.type = "delay";
  c.summary = "holds each item for a fixed time (load tests, benchmarks)";
  c.bind
      .Int("micros", &DelayOptions::micros, 1000, 0, 60'000'000,
           "how long to hold each item, in microseconds")
      .Enum("mode", &DelayOptions::mode, "sleep", {"sleep", "spin"},
            "sleep frees the thread; spin keeps it busy");
  c.cacheable = false;
  c.fields = DelayIo;
  c.make = Construct<Delay, DelayOptions>();
  return c.Finish();
}

}  // namespace refinery::nodes
