// Exposition: a Prometheus text exposition (format 0.0.4) being written. Samples are collected
// per family, so each family's HELP and TYPE is written once and its samples stay together even
// when they come from several sources (several pipelines, the gRPC service's own counters).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace refinery::monitor {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Exposition {
 public:
  // Declares a family; declaring it again (from another source) is a no-op.
  void Family(const std::string& name, const std::string& type, const std::string& help);
  void Sample(const std::string& family, const std::string& name, const Labels& labels, double v);
  void Value(const std::string& name, const Labels& labels, double v) {
    Sample(name, name, labels, v);
  }
  // A histogram from cumulative counts at `bounds` (seconds), plus total count and sum.
  void Histogram(const std::string& name, const Labels& labels,
                 const std::vector<int64_t>& cumulative, const std::vector<double>& bounds,
                 int64_t count, double sum);
  std::string Text() const;

 private:
  std::map<std::string, size_t> families_;
  std::vector<std::pair<std::string, std::string>> order_;
};

}  // namespace refinery::monitor
