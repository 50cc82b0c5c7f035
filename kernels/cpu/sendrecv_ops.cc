// _Send and _Recv on the CPU: hand tensors to the step's rendezvous.
#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

absl::StatusOr<std::string> KeyFromAttrs(OpKernelConstruction* c) {
  std::string send_device, recv_device, tensor_name;
  int64_t incarnation = 0;
  RETURN_IF_ERROR(c->GetAttr("send_device", &send_device));
  RETURN_IF_ERROR(c->GetAttr("recv_device", &recv_device));
  RETURN_IF_ERROR(c->GetAttr("tensor_name", &tensor_name));
  RETURN_IF_ERROR(c->GetAttr("send_device_incarnation", &incarnation));
  return Rendezvous::CreateKey(send_device, incarnation, recv_device,
                               tensor_name);
}

class SendOp : public OpKernel {
 public:
  explicit SendOp(OpKernelConstruction* c) : OpKernel(c) {
    absl::StatusOr<std::string> key = KeyFromAttrs(c);
    if (key.ok()) {
      key_ = *key;
    } else {
      status_ = key.status();
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    if (ctx->rendezvous() == nullptr) {
      return absl::InternalError(
          absl::StrCat("node '", name(), "' has no rendezvous"));
    }
    // A dead input (an untaken Switch branch) is sent as such, so the
    // receiving device learns that no value will come.
    return ctx->rendezvous()->Send(key_, ctx->input(0), ctx->is_input_dead());
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  std::string key_;
};

class RecvOp : public AsyncOpKernel {
 public:
  explicit RecvOp(OpKernelConstruction* c) : AsyncOpKernel(c) {
    absl::StatusOr<std::string> key = KeyFromAttrs(c);
    if (key.ok()) {
      key_ = *key;
    } else {
      status_ = key.status();
    }
  }
  void ComputeAsync(OpKernelContext* ctx, DoneCallback done) const override {
    if (!status_.ok()) {
      done(status_);
      return;
    }
    if (ctx->rendezvous() == nullptr) {
      done(absl::InternalError(
          absl::StrCat("node '", name(), "' has no rendezvous")));
      return;
    }
    ctx->rendezvous()->RecvAsync(
        key_, [ctx, done = std::move(done)](const absl::Status& s,
                                            const Tensor& t, bool is_dead) {
          if (s.ok()) {
            if (is_dead || ctx->is_input_dead()) {
              ctx->set_output_dead(0);
            } else {
              ctx->set_output(0, t);
            }
          }
          done(s);
        });
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  std::string key_;
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<SendOp>(KernelDef("_Send", kDeviceCpu));
  RegisterKernel<RecvOp>(KernelDef("_Recv", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill
