// NodeRegistry: the table of node types, filled by self-registration (no central switch).
//
//   REFINERY_REGISTER_NODE(upper) {
//     refinery::BoundContract<UpperOptions> c;   // graph/node.h
//     c.type = "upper";
//     ...
//     return c.Finish();
//   }
//
// Registration runs during static initialisation; libraries holding nodes must be linked whole
// (CMake OBJECT library or WHOLE_ARCHIVE) so the linker keeps them. Thread safety: registering
// while pipelines are being loaded is safe (internally locked).
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "graph/node.h"

namespace refinery {

class NodeRegistry {
 public:
  static NodeRegistry& Global();

  // Fails (and keeps the first) when the type is already registered or the contract is invalid.
  Status Register(NodeContract contract);
  // Null when unknown. The pointer stays valid for the life of the process.
  const NodeContract* Find(std::string_view type) const;
  std::vector<std::string> Types() const;  // sorted

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<NodeContract>> contracts_;
};

namespace internal {
struct NodeRegistration {
  explicit NodeRegistration(NodeContract (*make)());
};
}  // namespace internal

}  // namespace refinery

#define REFINERY_REGISTER_NODE(name)                                                     \
  static ::refinery::NodeContract refinery_node_contract_##name();                       \
  static const ::refinery::internal::NodeRegistration refinery_node_registration_##name{ \
      &refinery_node_contract_##name};                                                   \
  static ::refinery::NodeContract refinery_node_contract_##name()
