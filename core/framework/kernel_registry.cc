#include "core/framework/kernel_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rill {

KernelRegistry* KernelRegistry::Global() {
  static KernelRegistry* const registry = new KernelRegistry;
  return registry;
}

void KernelRegistry::Register(KernelDef def, KernelFactory factory) {
  absl::MutexLock lock(&mu_);
  std::string op = def.op;
  kernels_[op].push_back(Entry{std::move(def), std::move(factory)});
}

const KernelRegistry::Entry* KernelRegistry::Find(
    const std::string& device_type, const Node& node) const {
  absl::MutexLock lock(&mu_);
  auto it = kernels_.find(node.op());
  if (it == kernels_.end()) return nullptr;
  for (const Entry& e : it->second) {
    if (e.def.device_type != device_type) continue;
    bool fits = true;
    for (const auto& [attr, types] : e.def.constraints) {
      DataType t;
      if (!GetAttr(node.attrs(), attr, &t).ok() ||
          std::find(types.begin(), types.end(), t) == types.end()) {
        fits = false;
        break;
      }
    }
    if (fits) return &e;
  }
  return nullptr;
}

bool KernelRegistry::HasKernel(const std::string& device_type,
                               const Node& node) const {
  return Find(device_type, node) != nullptr;
}

absl::StatusOr<std::unique_ptr<OpKernel>> KernelRegistry::CreateKernel(
    const std::string& device_type, const Node& node,
    const FunctionEnv* functions) const {
  const Entry* e = Find(device_type, node);
  if (e == nullptr) {
    std::vector<std::string> types;
    for (const auto& [name, value] : node.attrs()) {
      if (value.value_case() == AttrValue::kType) {
        types.push_back(absl::StrCat(name, "=", DataTypeName(value.type())));
      }
    }
    return absl::NotFoundError(absl::StrCat(
        "no ", device_type, " kernel for node '", node.name(), "' (op ",
        node.op(), types.empty() ? "" : ", ", absl::StrJoin(types, ", "), ")"));
  }
  OpKernelConstruction c(device_type, &node, functions);
  return e->factory(&c);
}

std::vector<std::string> KernelRegistry::Ops() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ops;
  for (const auto& [op, entries] : kernels_) ops.push_back(op);
  std::sort(ops.begin(), ops.end());
  return ops;
}

}  // namespace rill
