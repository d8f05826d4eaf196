// delay: holds each item for a fixed time, sleeping or spinning. For load tests and benchmarks
// of pipelines (a stand-in for a slow model call), and for trying back-pressure by hand.
//
//   - {id: slow, type: delay, micros: 2000, mode: sleep, concurrency: serial}
#include <chrono>
#include <thread>

#include "graph/registry.h"

namespace refinery::nodes {
namespace {

class Delay : public Node {
 public:
  explicit Delay(const NodeConfig& c)
      : micros_(c.options.Int("micros")), spin_(c.options.String("mode") == "spin") {}

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

FieldIo DelayIo(const NodeConfig&) { return {}; }

}  // namespace

REFINERY_REGISTER_NODE(delay) {
  NodeContract c;
  c.type = "delay";
  c.summary = "holds each item for a fixed time (load tests, benchmarks)";
  c.options.Int("micros", 1000, 0, 60'000'000, "how long to hold each item, in microseconds")
      .Enum("mode", "sleep", {"sleep", "spin"}, "sleep frees the thread; spin keeps it busy");
  c.cacheable = false;
  c.io = DelayIo;
  c.factory = MakeFactory<Delay>();
  return c;
}

}  // namespace refinery::nodes
