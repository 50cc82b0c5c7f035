// DynamicPartition (rows of data split by a partition index, the partitioned
// embedding lookup's first step), Unique (first-occurrence order, as
// TensorFlow), and ConcatOffset (each input's offset in a concatenation,
// which every ConcatV2 gradient needs).
#include <cstring>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/byte_kernels.h"
#include "kernels/cpu/int_values.h"

namespace rill {
namespace {

class DynamicPartitionOp : public OpKernel {
 public:
  explicit DynamicPartitionOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("num_partitions", &num_partitions_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& data = ctx->input(0);
    const Tensor& parts = ctx->input(1);
    const auto data_dims = data.shape().dim_sizes();
    const auto part_dims = parts.shape().dim_sizes();
    if (data.dims() < parts.dims() ||
        !std::equal(part_dims.begin(), part_dims.end(), data_dims.begin())) {
      return ctx->InvalidArgument(
          absl::StrCat("data of shape ", data.shape().DebugString(),
                       " does not start with partitions' shape ",
                       parts.shape().DebugString()));
    }
    std::span<const int32_t> p = parts.flat<int32_t>();
    std::vector<int64_t> counts(num_partitions_, 0);
    for (size_t i = 0; i < p.size(); ++i) {
      if (p[i] < 0 || p[i] >= num_partitions_) {
        return ctx->InvalidArgument(absl::StrCat("partitions[", i, "] = ", p[i],
                                                 " is not in [0, ",
                                                 num_partitions_, ")"));
      }
      ++counts[p[i]];
    }
    const int64_t n = static_cast<int64_t>(p.size());
    const size_t row =
        (n == 0 ? 0 : data.NumElements() / n) * DataTypeSize(data.dtype());
    std::vector<char*> out(num_partitions_);
    for (int64_t k = 0; k < num_partitions_; ++k) {
      std::vector<int64_t> dims = {counts[k]};
      dims.insert(dims.end(), data_dims.begin() + parts.dims(),
                  data_dims.end());
      ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
      ASSIGN_OR_RETURN(Tensor * t,
                       ctx->allocate_output_for_overwrite(k, shape));
      out[k] = Bytes(t);
    }
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(out[p[i]], Bytes(data) + i * row, row);
      out[p[i]] += row;
    }
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  int64_t num_partitions_ = 1;
};

template <typename T>
class UniqueOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& x = ctx->input(0);
    if (x.dims() != 1) {
      return ctx->InvalidArgument(absl::StrCat(
          "x must be a vector, not of shape ", x.shape().DebugString()));
    }
    std::span<const T> in = x.flat<T>();
    absl::flat_hash_map<T, int64_t> first;
    std::vector<int64_t> idx(in.size());
    std::vector<T> values;
    for (size_t i = 0; i < in.size(); ++i) {
      auto [it, added] = first.try_emplace(in[i], values.size());
      if (added) values.push_back(in[i]);
      idx[i] = it->second;
    }
    ASSIGN_OR_RETURN(
        Tensor * y, ctx->allocate_output(
                        0, TensorShape({static_cast<int64_t>(values.size())})));
    std::copy(values.begin(), values.end(), y->flat<T>().begin());
    ASSIGN_OR_RETURN(Tensor * out_idx, ctx->allocate_output(1, x.shape()));
    if (out_idx->dtype() == DT_INT32) {
      if (values.size() > static_cast<size_t>(INT32_MAX)) {
        return ctx->InvalidArgument("more unique values than int32 counts");
      }
      for (size_t i = 0; i < idx.size(); ++i) {
        out_idx->flat<int32_t>()[i] = static_cast<int32_t>(idx[i]);
      }
    } else {
      std::copy(idx.begin(), idx.end(), out_idx->flat<int64_t>().begin());
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

template <typename T>
class ConcatOffsetOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    if (ctx->input(0).NumElements() != 1) {
      return ctx->InvalidArgument("concat_dim must be a scalar");
    }
    const int64_t axis_in = ctx->input(0).flat<int32_t>()[0];
    const Tensor& first = ctx->input(1);
    const int64_t rank = first.NumElements();
    if (first.dims() != 1) {
      return ctx->InvalidArgument("each shape must be a vector");
    }
    const int64_t axis = axis_in < 0 ? axis_in + rank : axis_in;
    if (axis < 0 || axis >= rank) {
      return ctx->InvalidArgument(absl::StrCat(
          "concat_dim ", axis_in, " is out of range for rank ", rank));
    }
    std::span<const T> base = first.flat<T>();
    T offset = 0;
    for (int i = 1; i < ctx->num_inputs(); ++i) {
      const Tensor& shape = ctx->input(i);
      if (shape.dims() != 1 || shape.NumElements() != rank) {
        return ctx->InvalidArgument(absl::StrCat("shape ", i - 1, " has ",
                                                 shape.NumElements(),
                                                 " dims; shape 0 has ", rank));
      }
      std::span<const T> s = shape.flat<T>();
      for (int64_t d = 0; d < rank; ++d) {
        if (d != axis && s[d] != base[d]) {
          return ctx->InvalidArgument(absl::StrCat(
              "shape ", i - 1, " differs from shape 0 in dimension ", d, ": ",
              s[d], " vs ", base[d]));
        }
      }
      ASSIGN_OR_RETURN(Tensor * out,
                       ctx->allocate_output(i - 1, TensorShape({rank})));
      out->flat<T>()[axis] = offset;
      offset += s[axis];
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterByteKernel<DynamicPartitionOp>("DynamicPartition", "T");
  RegisterKernelForTypes<UniqueOp, int32_t, int64_t, float, double,
                         std::string>(KernelDef("Unique", kDeviceCpu), "T");
  RegisterKernelForTypes<ConcatOffsetOp, int32_t, int64_t>(
      KernelDef("ConcatOffset", kDeviceCpu), "shape_type");
  return true;
}();

}  // namespace
}  // namespace rill
