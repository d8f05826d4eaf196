// PipelineSpec: a validated pipeline, ready to compile. Produced only by LoadPipeline
// (pipeline_loader.h), which reports every problem of the file first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/diagnostics.h"
#include "graph/node.h"
#include "graph/options.h"

namespace refinery {

struct CacheSpec {
  bool enabled = true;
  int64_t capacity = 10'000;            // entries
  int64_t max_bytes = 64ll << 20;       // approximate bytes of cached outputs
  double ttl_seconds = 0;               // 0 = entries never expire
};

struct NodeSpec {
  std::string id;
  std::string type;
  const NodeContract* contract = nullptr;
  Concurrency concurrency;
  CacheSpec cache;                      // cache.enabled is false for non-cacheable types
  OptionValues options;                 // every declared option, defaults filled in
  SourceLocation where;
};

struct EdgeSpec {
  std::string from;
  std::string to;
  SourceLocation where;     // where `from` is written
  SourceLocation to_where;  // where `to` is written
};

struct PipelineSpec {
  std::string file;                     // path, or a name for pipelines loaded from a string
  std::string base_dir;                 // for relative paths in node options
  std::string name;
  std::string version;
  std::string description;
  int64_t max_in_flight = 64;
  std::vector<NodeSpec> nodes;          // in file order
  std::vector<EdgeSpec> edges;          // expanded from chains
  // Execution order: a topological order of the edges, ties broken by node id so that the
  // result never depends on the order nodes are declared in.
  std::vector<size_t> order;

  const NodeSpec* FindNode(const std::string& id) const;
};

}  // namespace refinery
