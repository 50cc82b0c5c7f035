#include "core/framework/resource_mgr.h"

#include "absl/strings/str_cat.h"

namespace rill {

std::string Var::DebugString() const {
  return absl::StrCat(
      "Var(", DataTypeName(dtype_), ", ",
      tensor_.IsInitialized() ? tensor_.shape().DebugString() : "uninitialized",
      ")");
}

void ResourceMgr::Cleanup(const std::string& container) {
  absl::MutexLock lock(&mu_);
  absl::erase_if(resources_,
                 [&](const auto& kv) { return kv.first.first == container; });
}

int ResourceMgr::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(resources_.size());
}

absl::Status ResourceMgr::NotFound(const std::string& container,
                                   const std::string& name) {
  return absl::NotFoundError(absl::StrCat(
      "resource '", name, "'", container.empty() ? "" : " in container '",
      container, container.empty() ? "" : "'", " does not exist"));
}

absl::Status ResourceMgr::TypeMismatch(const std::string& container,
                                       const std::string& name) {
  return absl::InvalidArgumentError(
      absl::StrCat("resource '", name, "' in container '", container,
                   "' has another type than requested"));
}

}  // namespace rill
