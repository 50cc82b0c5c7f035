// Kernels that rearrange elements without computing on them: ConcatV2,
// Pack, Unpack, Split, SplitV, Slice, StridedSlice, Transpose, Pad. They
// move bytes, so one kernel serves every fixed-size dtype.
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/framework/shape_inference.h"
#include "core/framework/strided_slice.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/byte_kernels.h"
#include "kernels/cpu/int_values.h"

namespace rill {
namespace {

// Views a tensor as [outer, axis, inner] around `axis`.
struct AxisView {
  int64_t outer = 1, axis = 1, inner = 1;
};
AxisView View(const TensorShape& s, int axis) {
  AxisView v;
  for (int d = 0; d < s.dims(); ++d) {
    if (d < axis) v.outer *= s.dim_size(d);
    if (d > axis) v.inner *= s.dim_size(d);
  }
  v.axis = s.dims() == 0 ? 1 : s.dim_size(axis);
  return v;
}

// Copies `parts` (each [outer, len_i, inner]) into or out of a whole
// [outer, sum(len_i), inner] buffer.
void Interleave(const std::vector<std::pair<char*, int64_t>>& parts,
                char* whole, int64_t outer, int64_t inner, size_t elem,
                bool into_whole) {
  int64_t total = 0;
  for (const auto& p : parts) total += p.second;
  for (int64_t o = 0; o < outer; ++o) {
    int64_t offset = 0;
    for (const auto& [data, len] : parts) {
      const size_t bytes = static_cast<size_t>(len * inner) * elem;
      char* w =
          whole + (static_cast<size_t>((o * total + offset) * inner)) * elem;
      char* p = data + static_cast<size_t>(o * len * inner) * elem;
      if (bytes > 0) {
        if (into_whole) {
          std::memcpy(w, p, bytes);
        } else {
          std::memcpy(p, w, bytes);
        }
      }
      offset += len;
    }
  }
}

// ConcatV2 and Pack (which concatenates along a new axis).
class ConcatOp : public OpKernel {
 public:
  explicit ConcatOp(OpKernelConstruction* c) : OpKernel(c) {
    if (type_string() == "Pack") status_ = c->GetAttr("axis", &pack_axis_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const bool pack = type_string() == "Pack";
    const int n = pack ? ctx->num_inputs() : ctx->num_inputs() - 1;
    const Tensor& first = ctx->input(0);
    int64_t axis_value = pack_axis_;
    if (!pack) {
      std::vector<int64_t> a = IntValues(ctx->input(n));
      if (a.size() != 1) return ctx->InvalidArgument("axis must be a scalar");
      axis_value = a[0];
    }
    const int rank = pack ? first.dims() + 1 : first.dims();
    absl::StatusOr<int> axis = CanonicalAxis(axis_value, rank);
    if (!axis.ok() || rank == 0) {
      return ctx->InvalidArgument(absl::StrCat(
          "axis ", axis_value, " is out of range for rank ", rank));
    }
    std::vector<std::pair<char*, int64_t>> parts;
    std::vector<int64_t> dims(first.shape().dim_sizes().begin(),
                              first.shape().dim_sizes().end());
    if (pack) dims.insert(dims.begin() + *axis, 0);
    int64_t total = 0;
    for (int i = 0; i < n; ++i) {
      const Tensor& t = ctx->input(i);
      bool fits = pack ? t.shape() == first.shape() : t.dims() == first.dims();
      for (int d = 0; fits && !pack && d < t.dims(); ++d) {
        fits = d == *axis || t.dim_size(d) == first.dim_size(d);
      }
      if (!fits) {
        return ctx->InvalidArgument(absl::StrCat(
            "input ", i, " has shape ", t.shape().DebugString(),
            ", which does not fit input 0's ", first.shape().DebugString()));
      }
      const int64_t len = pack ? 1 : t.dim_size(*axis);
      parts.emplace_back(const_cast<char*>(Bytes(t)), len);
      total += len;
    }
    dims[*axis] = total;
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, shape));
    const AxisView v = View(shape, *axis);
    if (out->dtype() == DT_STRING) {
      // Strings are objects, not bytes: copied element by element.
      auto o = out->flat<std::string>();
      int64_t at = 0;
      for (int64_t outer = 0; outer < v.outer; ++outer) {
        for (int i = 0; i < n; ++i) {
          auto in = ctx->input(i).flat<std::string>();
          const int64_t chunk = parts[i].second * v.inner;
          for (int64_t k = 0; k < chunk; ++k) o[at++] = in[outer * chunk + k];
        }
      }
      return absl::OkStatus();
    }
    Interleave(parts, Bytes(out), v.outer, v.inner, DataTypeSize(out->dtype()),
               true);
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  int64_t pack_axis_ = 0;
};

// Split, SplitV and Unpack: one input cut into num outputs along an axis.
class SplitOp : public OpKernel {
 public:
  explicit SplitOp(OpKernelConstruction* c) : OpKernel(c) {
    if (type_string() == "Unpack") status_ = c->GetAttr("axis", &unpack_axis_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const std::string& op = type_string();
    const int value_input = op == "Split" ? 1 : 0;
    const Tensor& value = ctx->input(value_input);
    int64_t axis_value = unpack_axis_;
    if (op == "Split") axis_value = IntValues(ctx->input(0)).at(0);
    if (op == "SplitV") axis_value = IntValues(ctx->input(2)).at(0);
    absl::StatusOr<int> axis = CanonicalAxis(axis_value, value.dims());
    if (!axis.ok() || value.dims() == 0) {
      return ctx->InvalidArgument(absl::StrCat(
          "axis ", axis_value, " is out of range for rank ", value.dims()));
    }
    const int n = num_outputs();
    const int64_t size = value.dim_size(*axis);
    std::vector<int64_t> sizes(n, 1);
    if (op == "Split") {
      if (size % n != 0) {
        return ctx->InvalidArgument(absl::StrCat("dimension of size ", size,
                                                 " cannot be split into ", n,
                                                 " equal parts"));
      }
      sizes.assign(n, size / n);
    } else if (op == "SplitV") {
      sizes = IntValues(ctx->input(1));
      int unknown = -1;
      int64_t sum = 0;
      for (int i = 0; i < static_cast<int>(sizes.size()); ++i) {
        if (sizes[i] == -1 && unknown < 0) {
          unknown = i;
        } else if (sizes[i] < 0) {
          return ctx->InvalidArgument("bad size_splits");
        } else {
          sum += sizes[i];
        }
      }
      if (static_cast<int>(sizes.size()) != n) {
        return ctx->InvalidArgument("size_splits must have num_split entries");
      }
      if (unknown >= 0) sizes[unknown] = size - sum;
      if ((unknown >= 0 && sum > size) || (unknown < 0 && sum != size)) {
        return ctx->InvalidArgument(absl::StrCat("size_splits sum to ", sum,
                                                 ", the dimension has ", size));
      }
    } else if (size != n) {
      return ctx->InvalidArgument(
          absl::StrCat("cannot unpack ", size, " into ", n));
    }
    std::vector<std::pair<char*, int64_t>> parts;
    for (int i = 0; i < n; ++i) {
      std::vector<int64_t> dims(value.shape().dim_sizes().begin(),
                                value.shape().dim_sizes().end());
      if (op == "Unpack") {
        dims.erase(dims.begin() + *axis);
      } else {
        dims[*axis] = sizes[i];
      }
      ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
      ASSIGN_OR_RETURN(Tensor * out,
                       ctx->allocate_output_for_overwrite(i, shape));
      parts.emplace_back(Bytes(out), sizes[i]);
    }
    const AxisView v = View(value.shape(), *axis);
    Interleave(parts, const_cast<char*>(Bytes(value)), v.outer, v.inner,
               DataTypeSize(value.dtype()), false);
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  int64_t unpack_axis_ = 0;
};

// Copies a strided box of `in` into `out`: out[i] = in[begin + i * stride]
// per dimension (Slice is stride 1).
// The mask attrs of StridedSlice and StridedSliceGrad.
absl::Status ReadMasks(OpKernelConstruction* c, StridedSliceMasks* masks) {
  absl::Status s;
  s.Update(c->GetAttr("begin_mask", &masks->begin));
  s.Update(c->GetAttr("end_mask", &masks->end));
  s.Update(c->GetAttr("ellipsis_mask", &masks->ellipsis));
  s.Update(c->GetAttr("new_axis_mask", &masks->new_axis));
  s.Update(c->GetAttr("shrink_axis_mask", &masks->shrink_axis));
  return s;
}

void CopyBox(const OpKernelContext* ctx, const Tensor& in, Tensor* out,
             const std::vector<int64_t>& begin,
             const std::vector<int64_t>& stride,
             const std::vector<int64_t>& len) {
  if (out->NumElements() == 0) return;
  const size_t elem = DataTypeSize(in.dtype());
  const std::vector<int64_t> in_strides = Strides(in.shape().dim_sizes());
  int64_t first = 0;
  std::vector<int64_t> steps(in.dims());
  for (int d = 0; d < in.dims(); ++d) {
    first += begin[d] * in_strides[d];
    steps[d] = stride[d] * in_strides[d];
  }
  StridedCopy(ctx, Bytes(in) + first * elem, steps, len, elem, Bytes(out));
}

class SliceOp : public OpKernel {
 public:
  explicit SliceOp(OpKernelConstruction* c) : OpKernel(c) {
    if (type_string() == "StridedSlice") status_ = ReadMasks(c, &masks_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& in = ctx->input(0);
    const int rank = in.dims();
    std::vector<int64_t> begin, stride, len, out_dims;
    if (type_string() == "Slice") {
      begin = IntValues(ctx->input(1));
      const std::vector<int64_t> size = IntValues(ctx->input(2));
      if (static_cast<int>(begin.size()) != rank ||
          static_cast<int>(size.size()) != rank) {
        return ctx->InvalidArgument(
            "begin and size need one entry per dimension");
      }
      for (int d = 0; d < rank; ++d) {
        const int64_t l = size[d] == -1 ? in.dim_size(d) - begin[d] : size[d];
        if (begin[d] < 0 || l < 0 || begin[d] + l > in.dim_size(d)) {
          return ctx->InvalidArgument(
              absl::StrCat("slice [", begin[d], ", +", size[d],
                           ") is out of range for dimension ", d, " of size ",
                           in.dim_size(d)));
        }
        stride.push_back(1);
        len.push_back(l);
      }
      out_dims = len;
    } else {
      absl::StatusOr<StridedSliceSpec> spec = ComputeStridedSlice(
          PartialTensorShape(in.shape()), IntValues(ctx->input(1)),
          IntValues(ctx->input(2)), IntValues(ctx->input(3)), masks_);
      if (!spec.ok()) return ctx->InvalidArgument(spec.status().message());
      begin = spec->begin;
      stride = spec->stride;
      len = spec->length;
      out_dims.assign(spec->output_shape.dim_sizes().begin(),
                      spec->output_shape.dim_sizes().end());
    }
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(out_dims));
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, shape));
    CopyBox(ctx, in, out, begin, stride, len);
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  StridedSliceMasks masks_;
};

// StridedSliceGrad: zeros of `shape` with dy written where StridedSlice
// would have read it.
class StridedSliceGradOp : public OpKernel {
 public:
  explicit StridedSliceGradOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = ReadMasks(c, &masks_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& dy = ctx->input(4);
    absl::StatusOr<TensorShape> shape =
        TensorShape::Create(IntValues(ctx->input(0)));
    if (!shape.ok() || ctx->input(0).dims() != 1) {
      return ctx->InvalidArgument(
          "shape must be a vector of non-negative sizes");
    }
    absl::StatusOr<StridedSliceSpec> spec = ComputeStridedSlice(
        PartialTensorShape(*shape), IntValues(ctx->input(1)),
        IntValues(ctx->input(2)), IntValues(ctx->input(3)), masks_);
    if (!spec.ok()) return ctx->InvalidArgument(spec.status().message());
    if (PartialTensorShape(dy.shape()) != spec->output_shape) {
      return ctx->InvalidArgument(
          absl::StrCat("dy has shape ", dy.shape().DebugString(),
                       ", the slice has ", spec->output_shape.DebugString()));
    }
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, *shape));
    if (dy.NumElements() == 0) return absl::OkStatus();  // Zero-filled.
    const size_t elem = DataTypeSize(dy.dtype());
    const std::vector<int64_t> strides = Strides(shape->dim_sizes());
    int64_t first = 0;
    std::vector<int64_t> steps(shape->dims());
    for (int d = 0; d < shape->dims(); ++d) {
      first += spec->begin[d] * strides[d];
      steps[d] = spec->stride[d] * strides[d];
    }
    StridedScatter(ctx, Bytes(dy), spec->length, steps, elem,
                   Bytes(out) + first * elem);
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  StridedSliceMasks masks_;
};

class TransposeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& in = ctx->input(0);
    const std::vector<int64_t> perm = IntValues(ctx->input(1));
    const int rank = in.dims();
    if (static_cast<int>(perm.size()) != rank) {
      return ctx->InvalidArgument(
          absl::StrCat("perm has ", perm.size(), " entries for rank ", rank));
    }
    std::vector<bool> seen(rank, false);
    std::vector<int64_t> dims;
    for (int64_t p : perm) {
      if (p < 0 || p >= rank || seen[p])
        return ctx->InvalidArgument("perm is not a permutation");
      seen[p] = true;
      dims.push_back(in.dim_size(p));
    }
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, shape));
    if (out->NumElements() == 0) return absl::OkStatus();
    const std::vector<int64_t> in_strides = Strides(in.shape().dim_sizes());
    std::vector<int64_t> steps;
    for (int64_t p : perm) steps.push_back(in_strides[p]);
    StridedCopy(ctx, Bytes(in), steps, dims, DataTypeSize(in.dtype()),
                Bytes(out));
    return absl::OkStatus();
  }
};

class PadOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& in = ctx->input(0);
    const Tensor& paddings = ctx->input(1);
    const int rank = in.dims();
    if (paddings.dims() != 2 || paddings.dim_size(0) != rank ||
        paddings.dim_size(1) != 2) {
      return ctx->InvalidArgument(absl::StrCat("paddings must have shape [",
                                               rank, ",2], got ",
                                               paddings.shape().DebugString()));
    }
    const std::vector<int64_t> p = IntValues(paddings);
    std::vector<int64_t> dims;
    for (int d = 0; d < rank; ++d) {
      if (p[2 * d] < 0 || p[2 * d + 1] < 0)
        return ctx->InvalidArgument("paddings must be >= 0");
      dims.push_back(in.dim_size(d) + p[2 * d] + p[2 * d + 1]);
    }
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, shape));  // Zeros.
    const size_t elem = DataTypeSize(in.dtype());
    const std::vector<int64_t> out_strides = Strides(dims);
    std::vector<int64_t> idx(rank, 0);
    const char* src = Bytes(in);
    char* dst = Bytes(out);
    for (int64_t i = 0; i < in.NumElements(); ++i) {
      int64_t offset = 0;
      for (int d = 0; d < rank; ++d)
        offset += (idx[d] + p[2 * d]) * out_strides[d];
      std::memcpy(dst + offset * elem, src + i * elem, elem);
      for (int d = rank - 1; d >= 0 && ++idx[d] == in.dim_size(d); --d)
        idx[d] = 0;
    }
    return absl::OkStatus();
  }
};

// ReverseV2: each axis named once, any sign.
class ReverseOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& in = ctx->input(0);
    const int rank = in.dims();
    const Tensor& axis = ctx->input(1);
    if (axis.dims() > 1) {
      return ctx->InvalidArgument(absl::StrCat(
          "axis must be a vector, got shape ", axis.shape().DebugString()));
    }
    std::vector<bool> reversed(rank, false);
    for (int64_t a : IntValues(axis)) {
      absl::StatusOr<int> d = CanonicalAxis(a, rank);
      if (!d.ok()) return ctx->InvalidArgument(d.status().message());
      if (reversed[*d]) {
        return ctx->InvalidArgument(
            absl::StrCat("axis ", a, " is named more than once"));
      }
      reversed[*d] = true;
    }
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output_for_overwrite(0, in.shape()));
    if (in.NumElements() == 0) return absl::OkStatus();
    const size_t elem = DataTypeSize(in.dtype());
    const std::vector<int64_t> dims(in.shape().dim_sizes().begin(),
                                    in.shape().dim_sizes().end());
    const std::vector<int64_t> strides = Strides(dims);
    std::vector<int64_t> steps(rank);
    int64_t first = 0;
    for (int d = 0; d < rank; ++d) {
      if (reversed[d]) {
        first += (dims[d] - 1) * strides[d];
        steps[d] = -strides[d];
      } else {
        steps[d] = strides[d];
      }
    }
    StridedCopy(ctx, Bytes(in) + first * elem, steps, dims, elem, Bytes(out));
    return absl::OkStatus();
  }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterByteKernel<ReverseOp>("ReverseV2", "T");
  for (const char* op : {"ConcatV2", "Pack"}) {
    RegisterByteKernel<ConcatOp>(op, "T");
    // (A sharded Saver packs its shards' file names.)
    RegisterKernel<ConcatOp>(
        KernelDef(op, kDeviceCpu).TypeConstraint("T", {DT_STRING}));
  }
  for (const char* op : {"Split", "SplitV", "Unpack"}) {
    RegisterByteKernel<SplitOp>(op, "T");
  }
  RegisterByteKernel<SliceOp>("Slice", "T");
  RegisterByteKernel<SliceOp>("StridedSlice", "T");
  RegisterByteKernel<StridedSliceGradOp>("StridedSliceGrad", "T");
  RegisterByteKernel<TransposeOp>("Transpose", "T");
  RegisterByteKernel<PadOp>("Pad", "T");
  return true;
}();

}  // namespace
}  // namespace rill
