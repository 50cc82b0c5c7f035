// ScalarSummary, HistogramSummary and MergeSummary: serialized
// tensorflow.Summary protos
// (core/protos/summary.proto), as TensorFlow's kernels make them. And
// Assert, which fails the step with its data when its condition is false.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

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

// TensorFlow's histogram buckets: 0, and from 1e-12 up to 1e20 growing by
// 10% each, mirrored below 0, with DBL_MAX and -DBL_MAX at the ends. Each
// limit is a bucket's exclusive upper end.
const std::vector<double>& BucketLimits() {
  static const std::vector<double>* limits = [] {
    std::vector<double> positive;
    for (double v = 1.0e-12; v < 1.0e20; v *= 1.1) positive.push_back(v);
    positive.push_back(std::numeric_limits<double>::max());
    auto* all = new std::vector<double>();
    for (auto it = positive.rbegin(); it != positive.rend(); ++it) {
      all->push_back(-*it);
    }
    all->push_back(0.0);
    all->insert(all->end(), positive.begin(), positive.end());
    return all;
  }();
  return *limits;
}

// HistogramSummary: counts per bucket, with runs of empty buckets written
// as one (the run's last limit), as TensorFlow encodes them. NaN and
// infinities are refused, as TensorFlow does.
template <typename T>
class HistogramSummaryOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& tag = ctx->input(0);
    if (tag.dims() != 0) {
      return ctx->InvalidArgument(absl::StrCat("tag must be a scalar, got ",
                                               tag.shape().DebugString()));
    }
    const std::vector<double>& limits = BucketLimits();
    std::vector<double> counts(limits.size(), 0.0);
    double lo = limits.back(), hi = -limits.back(), sum = 0, squares = 0;
    for (const T& x : ctx->input(1).flat<T>()) {
      const double v = static_cast<double>(x);
      if (std::isnan(v) || std::isinf(v)) {
        return ctx->InvalidArgument(absl::StrCat(
            std::isnan(v) ? "NaN" : "infinity", " in the histogram of '",
            tag.scalar<std::string>(), "'"));
      }
      counts[std::upper_bound(limits.begin(), limits.end(), v) -
             limits.begin()] += 1.0;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
      squares += v * v;
    }
    ::tensorflow::Summary summary;
    auto* value = summary.add_value();
    value->set_tag(tag.scalar<std::string>());
    ::tensorflow::HistogramProto* h = value->mutable_histo();
    h->set_min(lo);
    h->set_max(hi);
    h->set_num(static_cast<double>(ctx->input(1).NumElements()));
    h->set_sum(sum);
    h->set_sum_squares(squares);
    for (size_t i = 0; i < counts.size();) {
      double end = limits[i];
      const double count = counts[i++];
      while (count <= 0.0 && i < counts.size() && counts[i] <= 0.0) {
        end = limits[i++];
      }
      h->add_bucket_limit(end);
      h->add_bucket(count);
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

class AssertOp : public OpKernel {
 public:
  explicit AssertOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("summarize", &summarize_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& cond = ctx->input(0);
    if (cond.dtype() != DT_BOOL || cond.NumElements() != 1) {
      return ctx->InvalidArgument(absl::StrCat(
          "condition must be a bool scalar, got ", DataTypeName(cond.dtype()),
          " ", cond.shape().DebugString()));
    }
    if (cond.flat<bool>()[0]) return absl::OkStatus();
    // A message string is shown as it is; other data summarized.
    std::string message = "assertion failed:";
    const int entries = summarize_ < 0 ? 1 << 20 : static_cast<int>(summarize_);
    for (int i = 1; i < ctx->num_inputs(); ++i) {
      const Tensor& t = ctx->input(i);
      if (t.dtype() == DT_STRING && t.dims() == 0) {
        absl::StrAppend(&message, " [", t.scalar<std::string>(), "]");
      } else {
        absl::StrAppend(&message, " [", t.DebugString(entries), "]");
      }
    }
    return ctx->InvalidArgument(message);
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  int64_t summarize_ = 3;
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<AssertOp>(KernelDef("Assert", kDeviceCpu));
  RegisterKernelForTypes<ScalarSummaryOp, float, double, int32_t, int64_t>(
      KernelDef("ScalarSummary", kDeviceCpu), "T");
  RegisterKernelForTypes<HistogramSummaryOp, float, double, int32_t, int64_t,
                         uint8_t, int16_t, int8_t, uint16_t, uint32_t,
                         uint64_t>(KernelDef("HistogramSummary", kDeviceCpu),
                                   "T");
  RegisterKernel<MergeSummaryOp>(KernelDef("MergeSummary", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill
