#include "graph/registry.h"

#include <algorithm>
#include <cstdio>

namespace refinery {

NodeRegistry& NodeRegistry::Global() {
  static NodeRegistry* registry = new NodeRegistry();  // never destroyed: used at exit too
  return *registry;
}

Status NodeRegistry::Register(NodeContract contract) {
  if (contract.type.empty()) return Status::InvalidArgument("node contract without a type name");
  if (!contract.factory) {
    return Status::InvalidArgument("node type '" + contract.type + "' has no factory");
  }
  if (!contract.io) {
    return Status::InvalidArgument("node type '" + contract.type +
                                   "' has no io (the fields it reads and writes)");
  }
  for (const OptionDef& def : contract.options.defs()) {
    static const char* kReserved[] = {"id", "type", "concurrency", "cache", "description"};
    for (const char* r : kReserved) {
      if (def.name == r) {
        return Status::InvalidArgument("node type '" + contract.type + "' declares option '" +
                                       def.name + "', which is reserved for the engine");
      }
    }
  }
  std::lock_guard lock(mu_);
  for (const auto& c : contracts_) {
    if (c->type == contract.type) {
      return Status::InvalidArgument("node type '" + contract.type + "' is registered twice");
    }
  }
  contracts_.push_back(std::make_unique<NodeContract>(std::move(contract)));
  return Status::Ok();
}

const NodeContract* NodeRegistry::Find(std::string_view type) const {
  std::lock_guard lock(mu_);
  for (const auto& c : contracts_) {
    if (c->type == type) return c.get();
  }
  return nullptr;
}

std::vector<std::string> NodeRegistry::Types() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> types;
  for (const auto& c : contracts_) types.push_back(c->type);
  std::sort(types.begin(), types.end());
  return types;
}

std::string Concurrency::ToString() const {
  if (limit == 0) return "unlimited";
  if (limit == 1) return "serial";
  return std::to_string(limit);
}

void Node::ProcessBatch(const std::vector<Item*>& items, std::vector<std::string>& errors) const {
  for (size_t i = 0; i < items.size(); ++i) {
    try {
      Process(*items[i]);
    } catch (const std::exception& e) {
      errors[i] = e.what();
    } catch (...) {
      errors[i] = "unknown exception";
    }
  }
}

namespace internal {
NodeRegistration::NodeRegistration(NodeContract (*make)()) {
  Status s = NodeRegistry::Global().Register(make());
  // Static initialisation has no caller to return to; say it loudly once.
  if (!s.ok())
    std::fprintf(stderr, "refinery: node registration failed: %s\n", s.message().c_str());
}
}  // namespace internal

}  // namespace refinery
