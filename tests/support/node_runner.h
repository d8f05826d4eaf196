// NodeRunner: runs one node type from inline YAML on inline inputs, through the public Engine
// API (so tests exercise validation, the wrapper and the cache exactly as pipelines do).
//
//   NodeRunner runner("{id: n, type: normalize, max_blank_lines: 0}");
//   Result r = runner.Run({{"text", "a  b"}});
//   EXPECT_EQ(std::get<std::string>(r.fields.at("text")), "a b");
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "graph/engine.h"

namespace refinery::testing {

class NodeRunner {
 public:
  explicit NodeRunner(const std::string& node_yaml) {
    auto engine = Engine::FromString("pipeline: node-runner\nnodes:\n  - " + node_yaml + "\n",
                                     "node-runner.yaml");
    if (!engine.ok()) {
      ADD_FAILURE() << engine.status().message();
      return;
    }
    engine_ = std::move(engine).value();
  }
  bool ok() const { return engine_ != nullptr; }
  Result Run(std::map<std::string, std::string> fields, std::string id = "r") {
    Request r;
    r.id = std::move(id);
    for (auto& [k, v] : fields) r.fields[k] = std::move(v);
    return engine_->Submit(std::move(r)).get();
  }
  Engine& engine() { return *engine_; }

 private:
  std::unique_ptr<Engine> engine_;
};

inline std::string Text(const Result& r, const std::string& name) {
  auto it = r.fields.find(name);
  if (it == r.fields.end()) return "<absent>";
  const auto* s = std::get_if<std::string>(&it->second);
  return s ? *s : "<not text>";
}

inline double Number(const Result& r, const std::string& name) {
  auto it = r.fields.find(name);
  if (it == r.fields.end()) return -1e300;
  const auto* d = std::get_if<double>(&it->second);
  return d ? *d : -1e300;
}

}  // namespace refinery::testing
