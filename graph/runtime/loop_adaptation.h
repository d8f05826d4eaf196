// LoopAdaptation: per request type, the refinement loop learns which pass items of that type
// usually pass at, and starts new items there (their adjusted options are those of that pass),
// so they pass in fewer passes. `adapt: true` on the loop turns it on (docs/pipeline-format.md).
//
// Policy: the last 32 outcomes per type (the 0-based pass an item passed at, or max_iterations
// when it did not); once 8 are known, new items start at the 25th percentile of them. Starting
// later can only show passes at or after the start, so every 10th item of a type probes one pass
// earlier; its outcome can pull the start back down. Results say where they started
// (`loop.start_pass`), and the run report's metrics give its mean.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace refinery {

class LoopAdaptation {
 public:
  explicit LoopAdaptation(int max_iterations) : max_iterations_(max_iterations) {}
  // The pass (0-based) a new item of this type starts at.
  int StartPass(std::string_view type);
  // The loop ended: passed_at is the 0-based pass it passed at, or -1 when it did not pass.
  void Record(std::string_view type, int passed_at);

  static constexpr size_t kWindow = 32;
  static constexpr size_t kMinOutcomes = 8;
  static constexpr int kProbeEvery = 10;
  static constexpr size_t kMaxTypes = 1000;  // beyond: new types start at pass 0, unlearned

 private:
  struct TypeState {
    std::deque<int> outcomes;
    int64_t started = 0;
  };
  const int max_iterations_;
  std::mutex mu_;
  std::map<std::string, TypeState, std::less<>> types_;
};

}  // namespace refinery
