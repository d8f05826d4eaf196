// BatchFirstNode: a node whose work is done a batch at a time (infer, locally or remotely):
// ProcessBatch is the real implementation and a single item is a batch of one.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "graph/node.h"

namespace refinery::nodes {

class BatchFirstNode : public Node {
 public:
  void Process(Item& item) const final {
    std::vector<std::string> errors(1);
    ProcessBatch({&item}, errors);
    if (!errors[0].empty()) throw std::runtime_error(errors[0]);
  }
};

}  // namespace refinery::nodes
