// ScalarSummary and MergeSummary: serialized tensorflow.Summary protos
// (core/protos/summary.proto), as TensorFlow's kernels make them.
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "core/protos/summary.pb.h"

namespace rill {
namespace {

template <typename T>
class ScalarSummaryOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& tags = ctx->input(0);
    const Tensor& values = ctx->input(1);
    if (tags.shape() != values.shape()) {
      return ctx->InvalidArgument(absl::StrCat(
          "tags and values must have the same shape, not ",
          tags.shape().DebugString(), " and ", values.shape().DebugString()));
    }
    ::tensorflow::Summary summary;
    auto t = tags.flat<std::string>();
    auto v = values.flat<T>();
    for (int64_t i = 0; i < tags.NumElements(); ++i) {
      auto* value = summary.add_value();
      value->set_tag(t[i]);
      value->set_simple_value(static_cast<float>(v[i]));
    }
    ctx->set_output(0,
                    Tensor::Scalar<std::string>(summary.SerializeAsString()));
    return absl::OkStatus();
  }
};

class MergeSummaryOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ::tensorflow::Summary merged;
    absl::flat_hash_set<std::string> tags;
    for (int i = 0; i < ctx->num_inputs(); ++i) {
      for (const std::string& bytes : ctx->input(i).flat<std::string>()) {
        ::tensorflow::Summary one;
        if (!one.ParseFromString(bytes)) {
          return ctx->InvalidArgument(absl::StrCat(
              "input ", i, " holds a string that is not a Summary"));
        }
        for (auto& value : *one.mutable_value()) {
          if (!tags.insert(value.tag()).second) {
            return ctx->InvalidArgument(absl::StrCat(
                "duplicate tag '", value.tag(), "' in the summaries merged"));
          }
          *merged.add_value() = std::move(value);
        }
      }
    }
    ctx->set_output(0, Tensor::Scalar<std::string>(merged.SerializeAsString()));
    return absl::OkStatus();
  }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernelForTypes<ScalarSummaryOp, float, double, int32_t, int64_t>(
      KernelDef("ScalarSummary", kDeviceCpu), "T");
  RegisterKernel<MergeSummaryOp>(KernelDef("MergeSummary", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill
