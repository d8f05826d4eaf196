// PipelineSet: the pipelines a server serves, each an Engine addressed by its `pipeline:` name.
//
// A set is immutable once loaded: hot reload (SIGHUP) loads a whole new set and swaps it in
// (ServedPipelines), so a call resolves its pipeline once, against one set, and keeps that
// engine alive (shared_ptr) until its results are in; in-flight requests finish on the old
// graph while new ones go to the new. Nothing inside an engine holds an engine reference (a
// result callback that did would make the last release run the engine's destructor on one of
// its own threads).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "graph/engine.h"
#include "graph/status.h"

namespace refinery::service {

struct ServedPipeline {
  std::shared_ptr<Engine> engine;
  std::string file;
  std::string loaded_at;  // UTC, RFC 3339
  std::chrono::steady_clock::time_point loaded;
};

class PipelineSet {
 public:
  // Loads and validates every file (all errors reported together, each located), then builds
  // the engines. Two files with the same `pipeline:` name are an error.
  static StatusOr<std::shared_ptr<const PipelineSet>> Load(const std::vector<std::string>& files,
                                                           const std::string& config_file,
                                                           const std::vector<std::string>& sets,
                                                           int threads);

  // By name; "" names the only pipeline when there is one. NotFound lists the names served.
  StatusOr<const ServedPipeline*> Find(const std::string& name) const;
  const std::map<std::string, ServedPipeline>& pipelines() const { return pipelines_; }

 private:
  std::map<std::string, ServedPipeline> pipelines_;
};

// The set in service now, swapped whole on reload.
class ServedPipelines {
 public:
  explicit ServedPipelines(std::shared_ptr<const PipelineSet> set) : set_(std::move(set)) {}
  std::shared_ptr<const PipelineSet> current() const {
    std::lock_guard lock(mu_);
    return set_;
  }
  // Returns the set it replaced (its engines drain when the last call using them ends).
  std::shared_ptr<const PipelineSet> Swap(std::shared_ptr<const PipelineSet> next) {
    std::lock_guard lock(mu_);
    std::swap(set_, next);
    return next;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const PipelineSet> set_;
};

}  // namespace refinery::service
