// ResourceMgr: state that outlives one step, such as variables, keyed by
// (container, name) and owned by a device for the life of a session.
//
// Thread-safe. Resources are shared_ptrs, so a kernel may keep using one
// that another step deletes.
#ifndef RILL_CORE_FRAMEWORK_RESOURCE_MGR_H_
#define RILL_CORE_FRAMEWORK_RESOURCE_MGR_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/framework/tensor.h"

namespace rill {

class ResourceBase {
 public:
  virtual ~ResourceBase() = default;
  virtual std::string DebugString() const = 0;
};

// A mutable tensor: what VariableV2 and VarHandleOp name. `tensor` is
// uninitialized until the first assignment; `mu` guards it.
class Var : public ResourceBase {
 public:
  explicit Var(DataType dtype) : dtype_(dtype) {}
  std::string DebugString() const override;

  DataType dtype() const { return dtype_; }
  absl::Mutex* mu() { return &mu_; }
  Tensor* tensor() { return &tensor_; }
  bool is_initialized() const { return tensor_.IsInitialized(); }

 private:
  const DataType dtype_;
  absl::Mutex mu_;
  Tensor tensor_;
};

class ResourceMgr {
 public:
  // The resource named (container, name) of type T, created by `create` if
  // missing. INVALID_ARGUMENT when one of another type has that name.
  template <typename T>
  absl::StatusOr<std::shared_ptr<T>> LookupOrCreate(
      const std::string& container, const std::string& name,
      const std::function<std::shared_ptr<T>()>& create) {
    absl::MutexLock lock(&mu_);
    auto key = std::make_pair(container, name);
    auto it = resources_.find(key);
    if (it != resources_.end()) {
      auto typed = std::dynamic_pointer_cast<T>(it->second);
      if (typed == nullptr) return TypeMismatch(container, name);
      return typed;
    }
    std::shared_ptr<T> created = create();
    resources_[key] = created;
    return created;
  }

  // NOT_FOUND naming the resource when it does not exist.
  template <typename T>
  absl::StatusOr<std::shared_ptr<T>> Lookup(const std::string& container,
                                            const std::string& name) const {
    absl::MutexLock lock(&mu_);
    auto it = resources_.find(std::make_pair(container, name));
    if (it == resources_.end()) return NotFound(container, name);
    auto typed = std::dynamic_pointer_cast<T>(it->second);
    if (typed == nullptr) return TypeMismatch(container, name);
    return typed;
  }

  // Removes every resource of a container ("" is the default one).
  void Cleanup(const std::string& container);
  int size() const;

 private:
  static absl::Status NotFound(const std::string& container,
                               const std::string& name);
  static absl::Status TypeMismatch(const std::string& container,
                                   const std::string& name);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::pair<std::string, std::string>,
                      std::shared_ptr<ResourceBase>>
      resources_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_RESOURCE_MGR_H_
