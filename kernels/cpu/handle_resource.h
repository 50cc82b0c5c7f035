// Resources that handle ops make (queues, accumulators, dataset
// iterators): a handle op creates its resource in the device's ResourceMgr
// (shared by every session and step on the device) and outputs a ref to the
// resource's handle tensor, the string pair (container, name) that
// consumers look the resource up by.
#ifndef RILL_KERNELS_CPU_HANDLE_RESOURCE_H_
#define RILL_KERNELS_CPU_HANDLE_RESOURCE_H_

#include <memory>
#include <span>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/framework/op_kernel.h"
#include "core/framework/resource_mgr.h"

namespace rill {

class NamedResource : public ResourceBase {
 public:
  NamedResource(const std::string& kind, const std::string& container,
                const std::string& name)
      : kind_(kind),
        name_(name),
        handle_(Tensor::FromVector<std::string>({container, name})) {}

  std::string DebugString() const override {
    return absl::StrCat(kind_, " '", name_, "'");
  }
  const std::string& kind() const { return kind_; }
  const std::string& name() const { return name_; }
  absl::Mutex* handle_mu() { return &handle_mu_; }
  Tensor* handle() { return &handle_; }

 private:
  const std::string kind_;
  const std::string name_;
  absl::Mutex handle_mu_;
  Tensor handle_;
};

// The resource of type R that handle input `i` names.
template <typename R>
absl::StatusOr<std::shared_ptr<R>> LookupHandle(OpKernelContext* ctx, int i) {
  if (!ctx->input_is_ref(i)) {
    return ctx->InvalidArgument(
        absl::StrCat("input ", i, " is not a resource handle"));
  }
  Tensor handle;
  {
    absl::MutexLock lock(ctx->input_ref_mutex(i));
    handle = *ctx->mutable_input(i);
  }
  if (handle.dtype() != DT_STRING || handle.NumElements() != 2) {
    return ctx->InvalidArgument(absl::StrCat(
        "input ", i, " is not a resource handle: ",
        handle.IsInitialized() ? handle.DebugString() : "uninitialized"));
  }
  std::span<const std::string> names = handle.flat<std::string>();
  absl::StatusOr<std::shared_ptr<R>> r =
      ctx->resources()->Lookup<R>(names[0], names[1]);
  if (!r.ok()) {
    return absl::Status(r.status().code(),
                        absl::StrCat("node '", ctx->kernel().name(),
                                     "': ", r.status().message()));
  }
  return r;
}

// The handle ops' shared part: container and shared_name (the node's name
// when empty, so each handle node names one resource for the life of the
// device).
class HandleOpBase : public OpKernel {
 public:
  explicit HandleOpBase(OpKernelConstruction* c) : OpKernel(c) {
    status_.Update(c->GetAttr("container", &container_));
    status_.Update(c->GetAttr("shared_name", &shared_name_));
    if (shared_name_.empty()) shared_name_ = c->node().name();
  }
  bool IsExpensive() const override { return false; }

 protected:
  // Outputs the ref to `r`'s handle.
  static void SetHandle(OpKernelContext* ctx, NamedResource* r) {
    ctx->set_output_ref(0, r->handle_mu(), r->handle(), &r->name());
  }

  absl::Status status_;
  std::string container_;
  std::string shared_name_;
};

}  // namespace rill

#endif  // RILL_KERNELS_CPU_HANDLE_RESOURCE_H_
