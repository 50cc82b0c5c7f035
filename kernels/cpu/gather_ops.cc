// Kernels that pick or repeat elements: Gather, GatherV2 (batch_dims),
// ResourceGather, DynamicStitch, BroadcastTo and Tile. Like the layout
// kernels they copy bytes, so one kernel serves every fixed-size dtype.
#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/byte_kernels.h"
#include "kernels/cpu/int_values.h"
#include "kernels/cpu/variable_update.h"

namespace rill {
namespace {

class BroadcastToOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& in = ctx->input(0);
    const std::vector<int64_t> target = IntValues(ctx->input(1));
    if (ctx->input(1).dims() != 1) {
      return ctx->InvalidArgument("shape must be a vector");
    }
    const int rank = static_cast<int>(target.size());
    if (in.dims() > rank) {
      return ctx->InvalidArgument(
          absl::StrCat("cannot broadcast a tensor of shape ",
                       in.shape().DebugString(), " to rank ", rank));
    }
    const std::vector<int64_t> in_strides = Strides(in.shape().dim_sizes());
    std::vector<int64_t> strides(rank, 0);
    for (int d = 0; d < rank; ++d) {
      if (target[d] < 0) {
        return ctx->InvalidArgument(
            absl::StrCat("shape has a negative dimension ", target[d]));
      }
      const int id = d - (rank - in.dims());
      if (id < 0) continue;
      const int64_t have = in.dim_size(id);
      if (have == target[d]) {
        strides[d] = have == 1 ? 0 : in_strides[id];
      } else if (have != 1) {
        return ctx->InvalidArgument(absl::StrCat(
            "cannot broadcast a tensor of shape ", in.shape().DebugString(),
            " to [", absl::StrJoin(target, ","), "]: dimension ", d, " is ",
            have, ", not 1 or ", target[d]));
      }
    }
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(target));
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, shape));
    if (out->NumElements() == 0) return absl::OkStatus();
    StridedCopy(ctx, Bytes(in), strides, target, DataTypeSize(in.dtype()),
                Bytes(out));
    return absl::OkStatus();
  }
};

// Tile is a broadcast: input [d0, d1, ...] seen as [1, d0, 1, d1, ...] and
// broadcast to [m0, d0, m1, d1, ...], which in row-major order is the tiled
// output [m0*d0, m1*d1, ...].
class TileOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& in = ctx->input(0);
    const std::vector<int64_t> mult = IntValues(ctx->input(1));
    if (static_cast<int>(mult.size()) != in.dims()) {
      return ctx->InvalidArgument(absl::StrCat("multiples has ", mult.size(),
                                               " entries for an input of rank ",
                                               in.dims()));
    }
    const std::vector<int64_t> in_strides = Strides(in.shape().dim_sizes());
    std::vector<int64_t> dims, pair_dims, pair_strides;
    for (int i = 0; i < in.dims(); ++i) {
      if (mult[i] < 0) return ctx->InvalidArgument("multiples must be >= 0");
      dims.push_back(in.dim_size(i) * mult[i]);
      pair_dims.insert(pair_dims.end(), {mult[i], in.dim_size(i)});
      pair_strides.insert(pair_strides.end(), {0, in_strides[i]});
    }
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, shape));
    if (out->NumElements() == 0) return absl::OkStatus();
    StridedCopy(ctx, Bytes(in), pair_strides, pair_dims,
                DataTypeSize(in.dtype()), Bytes(out));
    return absl::OkStatus();
  }
};

// out[b, o, i, j] = params[b, o, indices[b, i], j] with params viewed as
// [batch, outer, limit, inner] around the gather axis and indices as
// [batch, n].
absl::Status GatherInto(OpKernelContext* ctx, const Tensor& params,
                        const Tensor& indices_tensor, int64_t axis_value,
                        int64_t batch_dims) {
  if (batch_dims < 0) batch_dims += indices_tensor.dims();
  if (batch_dims < 0 || batch_dims > indices_tensor.dims()) {
    return ctx->InvalidArgument(
        absl::StrCat("batch_dims ", batch_dims, " is not in [0, ",
                     indices_tensor.dims(), "] (the rank of indices)"));
  }
  if (params.dims() == 0)
    return ctx->InvalidArgument("params must be at least 1-D");
  absl::StatusOr<int> axis_or = CanonicalAxis(axis_value, params.dims());
  if (!axis_or.ok()) return ctx->InvalidArgument(axis_or.status().message());
  const int axis = *axis_or;
  if (axis < batch_dims) {
    return ctx->InvalidArgument(
        absl::StrCat("axis ", axis, " is less than batch_dims ", batch_dims));
  }
  int64_t batch = 1, outer = 1, inner = 1, n = 1;
  std::vector<int64_t> dims;
  for (int d = 0; d < batch_dims; ++d) {
    if (params.dim_size(d) != indices_tensor.dim_size(d)) {
      return ctx->InvalidArgument(
          absl::StrCat("params ", params.shape().DebugString(), " and indices ",
                       indices_tensor.shape().DebugString(),
                       " differ in batch dimension ", d));
    }
    batch *= params.dim_size(d);
    dims.push_back(params.dim_size(d));
  }
  for (int d = static_cast<int>(batch_dims); d < axis; ++d) {
    outer *= params.dim_size(d);
    dims.push_back(params.dim_size(d));
  }
  for (int d = static_cast<int>(batch_dims); d < indices_tensor.dims(); ++d) {
    n *= indices_tensor.dim_size(d);
    dims.push_back(indices_tensor.dim_size(d));
  }
  for (int d = axis + 1; d < params.dims(); ++d) {
    inner *= params.dim_size(d);
    dims.push_back(params.dim_size(d));
  }
  const int64_t limit = params.dim_size(axis);
  const std::vector<int64_t> indices = IntValues(indices_tensor);
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0 || indices[i] >= limit) {
      return ctx->InvalidArgument(absl::StrCat(
          "indices[", i, "] = ", indices[i], " is not in [0, ", limit, ")"));
    }
  }
  ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
  ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output_for_overwrite(0, shape));
  if (params.dtype() == DT_STRING) {
    // Strings are objects, not bytes (a Saver's boolean_mask of variable
    // names gathers them).
    auto from = params.flat<std::string>();
    auto to = out->flat<std::string>();
    for (int64_t bo = 0; bo < batch * outer; ++bo) {
      const int64_t b = bo / outer;
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t k = 0; k < inner; ++k) {
          to[(bo * n + i) * inner + k] =
              from[(bo * limit + indices[b * n + i]) * inner + k];
        }
      }
    }
    return absl::OkStatus();
  }
  const size_t row = inner * DataTypeSize(params.dtype());
  const char* src = Bytes(params);
  char* dst = Bytes(out);
  ParallelFor(ctx, batch * outer, n * static_cast<int64_t>(row),
              [&](int64_t lo, int64_t hi) {
                for (int64_t bo = lo; bo < hi; ++bo) {
                  const int64_t b = bo / outer;
                  for (int64_t i = 0; i < n; ++i) {
                    std::memcpy(dst + (bo * n + i) * row,
                                src + (bo * limit + indices[b * n + i]) * row,
                                row);
                  }
                }
              });
  return absl::OkStatus();
}

// Gather (axis 0), GatherV2 (axis input, batch_dims attr).
class GatherOp : public OpKernel {
 public:
  explicit GatherOp(OpKernelConstruction* c) : OpKernel(c) {
    if (c->attrs().contains("batch_dims"))
      status_ = c->GetAttr("batch_dims", &batch_dims_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    int64_t axis = 0;
    if (ctx->num_inputs() == 3) {
      const std::vector<int64_t> a = IntValues(ctx->input(2));
      if (a.size() != 1) return ctx->InvalidArgument("axis must be a scalar");
      axis = a[0];
    }
    return GatherInto(ctx, ctx->input(0), ctx->input(1), axis, batch_dims_);
  }

 private:
  absl::Status status_;
  int64_t batch_dims_ = 0;
};

// Gathers from a resource variable's current value, along axis batch_dims.
class ResourceGatherOp : public OpKernel {
 public:
  explicit ResourceGatherOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("batch_dims", &batch_dims_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(Tensor params, ReadResourceVariable(ctx, output_type(0)));
    return GatherInto(ctx, params, ctx->input(1), batch_dims_, batch_dims_);
  }

 private:
  absl::Status status_;
  int64_t batch_dims_ = 0;
};

// merged[indices[m][i...], ...] = data[m][i..., ...]; later inputs win.
class DynamicStitchOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const int n = ctx->num_inputs() / 2;
    int64_t first = 0;
    std::vector<int64_t> suffix;
    for (int m = 0; m < n; ++m) {
      const Tensor& idx = ctx->input(m);
      const Tensor& data = ctx->input(n + m);
      const auto data_dims = data.shape().dim_sizes();
      const auto idx_dims = idx.shape().dim_sizes();
      if (data.dims() < idx.dims() ||
          !std::equal(idx_dims.begin(), idx_dims.end(), data_dims.begin())) {
        return ctx->InvalidArgument(
            absl::StrCat("data[", m, "] of shape ", data.shape().DebugString(),
                         " does not start with indices[", m, "].shape ",
                         idx.shape().DebugString()));
      }
      std::vector<int64_t> rest(data_dims.begin() + idx.dims(),
                                data_dims.end());
      if (m == 0) {
        suffix = rest;
      } else if (rest != suffix) {
        return ctx->InvalidArgument(
            absl::StrCat("data[", m, "] of shape ", data.shape().DebugString(),
                         " has another element shape than data[0]"));
      }
      for (int32_t v : idx.flat<int32_t>()) {
        if (v < 0) {
          return ctx->InvalidArgument(
              absl::StrCat("indices[", m, "] holds ", v, ", which is < 0"));
        }
        first = std::max<int64_t>(first, int64_t{v} + 1);
      }
    }
    std::vector<int64_t> dims = {first};
    dims.insert(dims.end(), suffix.begin(), suffix.end());
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, shape));
    const size_t row = (first == 0 ? 0 : out->NumElements() / first) *
                       DataTypeSize(out->dtype());
    for (int m = 0; m < n; ++m) {
      const char* src = Bytes(ctx->input(n + m));
      const auto idx = ctx->input(m).flat<int32_t>();
      for (size_t i = 0; i < idx.size(); ++i) {
        std::memcpy(Bytes(out) + idx[i] * row, src + i * row, row);
      }
    }
    return absl::OkStatus();
  }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterByteKernel<BroadcastToOp>("BroadcastTo", "T");
  RegisterByteKernel<TileOp>("Tile", "T");
  for (const char* op : {"Gather", "GatherV2"}) {
    RegisterByteKernel<GatherOp>(op, "Tparams");
    RegisterKernel<GatherOp>(
        KernelDef(op, kDeviceCpu).TypeConstraint("Tparams", {DT_STRING}));
  }
  RegisterByteKernel<ResourceGatherOp>("ResourceGather", "dtype");
  RegisterByteKernel<DynamicStitchOp>("DynamicStitch", "T");
  RegisterByteKernel<DynamicStitchOp>("ParallelDynamicStitch", "T");
  return true;
}();

}  // namespace
}  // namespace rill
