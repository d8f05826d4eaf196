// embed-example: what a service does with refinery. It registers a node type of its own, loads
// a pipeline from a string, submits requests from its own thread, and reads results and stats.
#include <refinery/graph/engine.h>
#include <refinery/graph/registry.h>

#include <cstdio>
#include <future>
#include <vector>

namespace {

// The service's own node type: tags each request with the service's name. Its options live in a
// struct; each is declared once, below, and the factory receives the struct filled in.
struct TagOptions {
  std::string value;
};

class Tag : public refinery::Node {
 public:
  explicit Tag(const TagOptions& o) : value_(o.value) {}
  void Process(refinery::Item& item) const override { item.set_text("service", value_); }

 private:
  std::string value_;
};

}  // namespace

REFINERY_REGISTER_NODE(service_tag) {
  refinery::BoundContract<TagOptions> c;
  c.type = "tag";
  c.summary = "sets the `service` field";
  c.bind.String("value", &TagOptions::value, "embed-example", "what to write");
  c.fields = [](const refinery::NodeConfig&, const TagOptions&) {
    return refinery::FieldIo{{}, {}, {"service"}};
  };
  c.make = refinery::Construct<Tag, TagOptions>();
  return c.Finish();
}

int main() {
  auto engine = refinery::Engine::FromString(R"(
pipeline: embedded
max_in_flight: 8
nodes:
  - {id: clean, type: normalize}
  - {id: tag,   type: tag, value: my-service}
  - {id: size,  type: measure}
)");
  if (!engine.ok()) {
    std::fprintf(stderr, "%s", engine.status().message().c_str());
    return 2;
  }
  std::vector<std::future<refinery::Result>> pending;
  for (const char* text : {"Hello   world", "Second\n\n\n\nrequest", "Third"}) {
    pending.push_back((*engine)->Submit({.id = text, .fields = {{"text", text}}}));
  }
  pending.push_back((*engine)->Submit({.id = "no-text", .fields = {{"body", "x"}}}));
  int ok = 0, failed = 0;
  for (auto& f : pending) {
    refinery::Result r = f.get();
    if (r.ok) {
      ++ok;
      std::printf("%-20s -> %s (%s)\n", r.id.c_str(),
                  std::get<std::string>(r.fields.at("text")).c_str(),
                  std::get<std::string>(r.fields.at("service")).c_str());
    } else {
      ++failed;
      std::printf("%-20s -> error in %s: %s\n", r.id.c_str(), r.error_node.c_str(),
                  r.error_message.c_str());
    }
  }
  refinery::EngineStats stats = (*engine)->Stats();
  std::printf("results: %d ok, %d failed; %lld completed by the engine\n", ok, failed,
              (long long)stats.completed);
  return ok == 3 && failed == 1 ? 0 : 1;
}
