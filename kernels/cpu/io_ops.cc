// SaveV2 and RestoreV2 on Rill's checkpoint files
// (runtime/training/checkpoint_file.h). Whole tensors only: a non-empty
// shape_and_slices entry (TensorFlow's partitioned variables) is refused.
#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "runtime/training/checkpoint_file.h"

namespace rill {
namespace {

// Checks prefix, tensor_names and shape_and_slices; returns the names.
absl::StatusOr<std::vector<std::string>> NameInputs(OpKernelContext* ctx,
                                                    int64_t count) {
  const Tensor& prefix = ctx->input(0);
  const Tensor& names = ctx->input(1);
  const Tensor& slices = ctx->input(2);
  if (prefix.NumElements() != 1 || prefix.scalar<std::string>().empty()) {
    return ctx->InvalidArgument("prefix must be one non-empty string");
  }
  if (names.dims() != 1 || names.NumElements() != count || slices.dims() != 1 ||
      slices.NumElements() != count) {
    return ctx->InvalidArgument(absl::StrCat(
        "tensor_names ", names.shape().DebugString(), " and shape_and_slices ",
        slices.shape().DebugString(), " must both be vectors of ", count,
        " entries, one per tensor"));
  }
  std::vector<std::string> out;
  for (int64_t i = 0; i < count; ++i) {
    if (!slices.flat<std::string>()[i].empty()) {
      return absl::UnimplementedError(
          absl::StrCat("node '", ctx->kernel().name(), "': tensor '",
                       names.flat<std::string>()[i], "' asks for slice '",
                       slices.flat<std::string>()[i],
                       "'; only whole tensors are saved and restored"));
    }
    out.push_back(names.flat<std::string>()[i]);
  }
  return out;
}

class SaveV2Op : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const int64_t count = ctx->num_inputs() - 3;
    ASSIGN_OR_RETURN(std::vector<std::string> names, NameInputs(ctx, count));
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (int64_t i = 0; i < count; ++i) {
      tensors.emplace_back(names[i], ctx->input(3 + i));
    }
    absl::Status s =
        WriteCheckpoint(ctx->input(0).scalar<std::string>(), tensors);
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("node '", name(), "': ", s.message()));
    }
    return absl::OkStatus();
  }
};

class RestoreV2Op : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const int64_t count = ctx->num_outputs();
    ASSIGN_OR_RETURN(std::vector<std::string> names, NameInputs(ctx, count));
    auto reader = CheckpointReader::Open(ctx->input(0).scalar<std::string>());
    if (!reader.ok()) {
      return absl::Status(
          reader.status().code(),
          absl::StrCat("node '", name(), "': ", reader.status().message()));
    }
    for (int64_t i = 0; i < count; ++i) {
      absl::StatusOr<Tensor> t = (*reader)->Read(names[i]);
      if (!t.ok()) {
        return absl::Status(
            t.status().code(),
            absl::StrCat("node '", name(), "': ", t.status().message()));
      }
      const DataType want = output_type(i);
      if (t->dtype() != want) {
        return ctx->InvalidArgument(absl::StrCat(
            "checkpoint tensor '", names[i], "' is ", DataTypeName(t->dtype()),
            ", the restore asks for ", DataTypeName(want)));
      }
      ctx->set_output(i, *std::move(t));
    }
    return absl::OkStatus();
  }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<SaveV2Op>(KernelDef("SaveV2", kDeviceCpu));
  RegisterKernel<RestoreV2Op>(KernelDef("RestoreV2", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill
