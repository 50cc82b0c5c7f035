// Array ops: constants, placeholders, identities, and the ops that reshape,
// slice, join and index tensors. Schemas follow TensorFlow's.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/framework/strided_slice.h"
#include "core/framework/tensor_proto.h"
#include "core/ops/type_sets.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

using shape_fns::UnchangedShape;

// Reads the int scalar input i when its value is known.
absl::StatusOr<std::optional<int64_t>> ConstantScalar(InferenceContext* c,
                                                      int i) {
  ASSIGN_OR_RETURN(auto v, c->ConstantInts(i));
  if (!v.has_value()) return std::optional<int64_t>();
  if (v->size() != 1) {
    return c->Error(absl::StrCat("input ", i, " must be a scalar, got ",
                                 v->size(), " values"));
  }
  return std::optional<int64_t>((*v)[0]);
}

absl::Status ConstShape(InferenceContext* c) {
  const ::tensorflow::TensorProto* value;
  RETURN_IF_ERROR(c->GetAttr("value", &value));
  DataType dtype;
  RETURN_IF_ERROR(c->GetAttr("dtype", &dtype));
  if (value->dtype() != dtype) {
    return c->Error(
        absl::StrCat("value has dtype ", DataTypeName(value->dtype()),
                     " but the dtype attr is ", DataTypeName(dtype)));
  }
  absl::Status valid = ValidateTensorProto(*value);
  if (!valid.ok()) return c->Error(valid.message());
  absl::StatusOr<TensorShape> shape =
      TensorShape::FromProto(value->tensor_shape());
  if (!shape.ok()) return c->Error(shape.status().message());
  c->set_output(0, PartialTensorShape(*shape));
  return absl::OkStatus();
}

absl::Status PlaceholderShape(InferenceContext* c) {
  PartialTensorShape shape;
  RETURN_IF_ERROR(c->GetAttr("shape", &shape));
  c->set_output(0, shape);
  return absl::OkStatus();
}

absl::Status PlaceholderWithDefaultShape(InferenceContext* c) {
  PartialTensorShape shape;
  RETURN_IF_ERROR(c->GetAttr("shape", &shape));
  if (!shape.IsCompatibleWith(c->input(0))) {
    return c->Error(
        absl::StrCat("default value of shape ", c->input(0).DebugString(),
                     " does not fit the shape attr ", shape.DebugString()));
  }
  c->set_output(0, shape);
  return absl::OkStatus();
}

absl::Status IdentityNShape(InferenceContext* c) {
  for (int i = 0; i < c->num_outputs(); ++i) c->set_output(i, c->input(i));
  return absl::OkStatus();
}

absl::Status ShapeShape(InferenceContext* c) {
  for (int i = 0; i < c->num_outputs(); ++i) {
    const PartialTensorShape& in = c->input(i);
    c->set_output(i, in.unknown_rank() ? PartialTensorShape({-1})
                                       : PartialTensorShape({in.dims()}));
    c->set_output_shape_value(i, in);
  }
  return absl::OkStatus();
}

absl::Status ReshapeShape(InferenceContext* c) {
  ASSIGN_OR_RETURN(PartialTensorShape target, c->ShapeFromShapeTensor(1));
  const PartialTensorShape& in = c->input(0);
  if (target.unknown_rank()) {
    c->set_output(0, target);
    return absl::OkStatus();
  }
  int unknown = -1;
  int64_t known_product = 1;
  bool all_known = true;
  for (int i = 0; i < target.dims(); ++i) {
    if (target.dim_size(i) < 0) {
      if (unknown >= 0 && c->input_tensor(1) != nullptr) {
        return c->Error("shape may contain at most one -1");
      }
      unknown = i;
      all_known = false;
    } else {
      known_product *= target.dim_size(i);
    }
  }
  const int64_t n = in.num_elements();
  if (all_known && n >= 0 && n != known_product) {
    return c->Error(absl::StrCat("cannot reshape a tensor of ", n,
                                 " elements (shape ", in.DebugString(),
                                 ") to shape ", target.DebugString()));
  }
  if (unknown >= 0 && n >= 0 && c->input_tensor(1) != nullptr) {
    if (known_product == 0 || n % known_product != 0) {
      if (!(known_product == 0 && n == 0)) {
        return c->Error(absl::StrCat("cannot reshape a tensor of ", n,
                                     " elements (shape ", in.DebugString(),
                                     ") to shape ", target.DebugString()));
      }
    } else {
      DimVector dims(target.dim_sizes().begin(), target.dim_sizes().end());
      dims[unknown] = n / known_product;
      ASSIGN_OR_RETURN(target, PartialTensorShape::Create(dims));
    }
  }
  c->set_output(0, target);
  return absl::OkStatus();
}

absl::Status SqueezeShape(InferenceContext* c) {
  const PartialTensorShape& in = c->input(0);
  std::vector<int64_t> squeeze;
  RETURN_IF_ERROR(c->GetAttr("squeeze_dims", &squeeze));
  if (in.unknown_rank()) {
    c->set_output(0, PartialTensorShape::UnknownRank());
    return absl::OkStatus();
  }
  std::vector<bool> drop(in.dims(), false);
  for (int64_t a : squeeze) {
    absl::StatusOr<int> axis = CanonicalAxis(a, in.dims());
    if (!axis.ok()) return c->Error(axis.status().message());
    if (in.dim_size(*axis) > 1 || in.dim_size(*axis) == 0) {
      return c->Error(absl::StrCat("cannot squeeze dimension ", a, " of size ",
                                   in.dim_size(*axis)));
    }
    drop[*axis] = true;
  }
  PartialTensorShape out = PartialTensorShape::Scalar();
  for (int i = 0; i < in.dims(); ++i) {
    if (squeeze.empty()) {
      if (in.dim_size(i) < 0) {
        c->set_output(0, PartialTensorShape::UnknownRank());
        return absl::OkStatus();
      }
      if (in.dim_size(i) == 1) continue;
    } else if (drop[i]) {
      continue;
    }
    out.AddDim(in.dim_size(i));
  }
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status ExpandDimsShape(InferenceContext* c) {
  const PartialTensorShape& in = c->input(0);
  ASSIGN_OR_RETURN(auto dim, ConstantScalar(c, 1));
  if (!dim.has_value() || in.unknown_rank()) {
    c->set_output(0, in.unknown_rank()
                         ? PartialTensorShape::UnknownRank()
                         : PartialTensorShape::UnknownDims(in.dims() + 1));
    return absl::OkStatus();
  }
  absl::StatusOr<int> axis = CanonicalAxis(*dim, in.dims() + 1);
  if (!axis.ok()) return c->Error(axis.status().message());
  DimVector dims(in.dim_sizes().begin(), in.dim_sizes().end());
  dims.insert(dims.begin() + *axis, 1);
  ASSIGN_OR_RETURN(PartialTensorShape out, PartialTensorShape::Create(dims));
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status TransposeShape(InferenceContext* c) {
  const PartialTensorShape& in = c->input(0);
  ASSIGN_OR_RETURN(auto perm, c->ConstantInts(1));
  if (!perm.has_value()) {
    c->set_output(0, in.unknown_rank()
                         ? PartialTensorShape::UnknownRank()
                         : PartialTensorShape::UnknownDims(in.dims()));
    return absl::OkStatus();
  }
  const int rank = static_cast<int>(perm->size());
  if (!in.unknown_rank() && in.dims() != rank) {
    return c->Error(absl::StrCat("perm has ", rank,
                                 " entries for an input of shape ",
                                 in.DebugString()));
  }
  std::vector<bool> seen(rank, false);
  PartialTensorShape out = PartialTensorShape::Scalar();
  for (int64_t p : *perm) {
    if (p < 0 || p >= rank || seen[p]) {
      return c->Error(
          absl::StrCat("perm is not a permutation of 0..", rank - 1));
    }
    seen[p] = true;
    out.AddDim(in.unknown_rank() ? -1 : in.dim_size(p));
  }
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status ConcatV2Shape(InferenceContext* c) {
  const int n = c->num_inputs() - 1;
  ASSIGN_OR_RETURN(auto axis_value, ConstantScalar(c, n));
  PartialTensorShape merged;  // Every dim but the axis.
  int rank = -1;
  for (int i = 0; i < n; ++i) {
    if (c->input(i).unknown_rank()) continue;
    if (rank >= 0 && c->input(i).dims() != rank) {
      return c->Error(absl::StrCat(
          "input ", i, " has shape ", c->input(i).DebugString(),
          ", of another rank than input 0's ", c->input(0).DebugString()));
    }
    rank = c->input(i).dims();
  }
  if (rank < 0) {
    c->set_output(0, PartialTensorShape::UnknownRank());
    return absl::OkStatus();
  }
  if (rank == 0) return c->Error("cannot concatenate scalars");
  if (!axis_value.has_value()) {
    c->set_output(0, PartialTensorShape::UnknownDims(rank));
    return absl::OkStatus();
  }
  absl::StatusOr<int> axis = CanonicalAxis(*axis_value, rank);
  if (!axis.ok()) return c->Error(axis.status().message());
  DimVector dims(rank, -1);
  int64_t total = 0;
  for (int i = 0; i < n; ++i) {
    const PartialTensorShape& s = c->input(i);
    if (s.unknown_rank()) {
      total = -1;
      continue;
    }
    for (int d = 0; d < rank; ++d) {
      const int64_t v = s.dim_size(d);
      if (d == *axis) {
        total = (total < 0 || v < 0) ? -1 : total + v;
      } else if (v >= 0) {
        if (dims[d] >= 0 && dims[d] != v) {
          return c->Error(absl::StrCat("dimension ", d, " of input ", i, " is ",
                                       v, ", but an earlier input has ",
                                       dims[d]));
        }
        dims[d] = v;
      }
    }
  }
  dims[*axis] = total;
  ASSIGN_OR_RETURN(PartialTensorShape out, PartialTensorShape::Create(dims));
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status PackShape(InferenceContext* c) {
  RETURN_IF_ERROR(shape_fns::MergeAllInputs(c));
  PartialTensorShape merged = c->output(0);
  int64_t axis_attr;
  RETURN_IF_ERROR(c->GetAttr("axis", &axis_attr));
  if (merged.unknown_rank()) {
    c->set_output(0, merged);
    return absl::OkStatus();
  }
  absl::StatusOr<int> axis = CanonicalAxis(axis_attr, merged.dims() + 1);
  if (!axis.ok()) return c->Error(axis.status().message());
  DimVector dims(merged.dim_sizes().begin(), merged.dim_sizes().end());
  dims.insert(dims.begin() + *axis, c->num_inputs());
  ASSIGN_OR_RETURN(PartialTensorShape out, PartialTensorShape::Create(dims));
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status UnpackShape(InferenceContext* c) {
  const PartialTensorShape& in = c->input(0);
  int64_t axis_attr;
  RETURN_IF_ERROR(c->GetAttr("axis", &axis_attr));
  PartialTensorShape out;
  if (!in.unknown_rank()) {
    absl::StatusOr<int> axis = CanonicalAxis(axis_attr, in.dims());
    if (!axis.ok()) return c->Error(axis.status().message());
    const int64_t d = in.dim_size(*axis);
    if (d >= 0 && d != c->num_outputs()) {
      return c->Error(absl::StrCat("cannot unpack ", d, " values into ",
                                   c->num_outputs(), " outputs"));
    }
    DimVector dims(in.dim_sizes().begin(), in.dim_sizes().end());
    dims.erase(dims.begin() + *axis);
    ASSIGN_OR_RETURN(out, PartialTensorShape::Create(dims));
  }
  for (int i = 0; i < c->num_outputs(); ++i) c->set_output(i, out);
  return absl::OkStatus();
}

// Shared by Split and SplitV: input `value` split along the scalar input
// `dim_input` into `sizes` (-1 unknown).
absl::Status SplitInto(InferenceContext* c, int value_input, int dim_input,
                       const std::vector<int64_t>& sizes) {
  const PartialTensorShape& in = c->input(value_input);
  ASSIGN_OR_RETURN(auto dim_value, ConstantScalar(c, dim_input));
  for (int i = 0; i < c->num_outputs(); ++i) {
    if (in.unknown_rank()) {
      c->set_output(i, in);
    } else if (!dim_value.has_value()) {
      c->set_output(i, PartialTensorShape::UnknownDims(in.dims()));
    } else {
      absl::StatusOr<int> axis = CanonicalAxis(*dim_value, in.dims());
      if (!axis.ok()) return c->Error(axis.status().message());
      DimVector dims(in.dim_sizes().begin(), in.dim_sizes().end());
      dims[*axis] = sizes[i];
      ASSIGN_OR_RETURN(PartialTensorShape out,
                       PartialTensorShape::Create(dims));
      c->set_output(i, out);
    }
  }
  return absl::OkStatus();
}

// The size of dimension `dim_input` of input `value_input`, or -1.
absl::StatusOr<int64_t> SplitDimSize(InferenceContext* c, int value_input,
                                     int dim_input) {
  const PartialTensorShape& in = c->input(value_input);
  ASSIGN_OR_RETURN(auto dim_value, ConstantScalar(c, dim_input));
  if (in.unknown_rank() || !dim_value.has_value()) return -1;
  absl::StatusOr<int> axis = CanonicalAxis(*dim_value, in.dims());
  if (!axis.ok()) return c->Error(axis.status().message());
  return in.dim_size(*axis);
}

absl::Status SplitShape(InferenceContext* c) {
  ASSIGN_OR_RETURN(int64_t size, SplitDimSize(c, 1, 0));
  const int n = c->num_outputs();
  if (size >= 0 && size % n != 0) {
    return c->Error(absl::StrCat("dimension of size ", size,
                                 " cannot be split evenly into ", n, " parts"));
  }
  return SplitInto(c, 1, 0, std::vector<int64_t>(n, size < 0 ? -1 : size / n));
}

absl::Status SplitVShape(InferenceContext* c) {
  ASSIGN_OR_RETURN(int64_t size, SplitDimSize(c, 0, 2));
  ASSIGN_OR_RETURN(auto splits, c->ConstantInts(1));
  const int n = c->num_outputs();
  std::vector<int64_t> sizes(n, -1);
  if (splits.has_value()) {
    if (static_cast<int>(splits->size()) != n) {
      return c->Error(absl::StrCat("size_splits has ", splits->size(),
                                   " entries for ", n, " outputs"));
    }
    int unknown = -1;
    int64_t sum = 0;
    for (int i = 0; i < n; ++i) {
      const int64_t v = (*splits)[i];
      if (v == -1) {
        if (unknown >= 0) return c->Error("size_splits has more than one -1");
        unknown = i;
      } else if (v < 0) {
        return c->Error(absl::StrCat("size_splits has a negative entry ", v));
      } else {
        sum += v;
      }
      sizes[i] = v;
    }
    if (size >= 0) {
      if ((unknown < 0 && sum != size) || (unknown >= 0 && sum > size)) {
        return c->Error(absl::StrCat("size_splits sum to ", sum,
                                     " but the dimension has size ", size));
      }
      if (unknown >= 0) sizes[unknown] = size - sum;
    }
  }
  return SplitInto(c, 0, 2, sizes);
}

absl::Status SliceShape(InferenceContext* c) {
  const PartialTensorShape& in = c->input(0);
  ASSIGN_OR_RETURN(auto begin, c->ConstantInts(1));
  ASSIGN_OR_RETURN(auto size, c->ConstantInts(2));
  if (!begin.has_value() || !size.has_value()) {
    ASSIGN_OR_RETURN(PartialTensorShape s, c->ShapeFromShapeTensor(2));
    c->set_output(
        0, s.unknown_rank() ? s : PartialTensorShape::UnknownDims(s.dims()));
    return absl::OkStatus();
  }
  if (begin->size() != size->size() ||
      (!in.unknown_rank() && static_cast<int>(begin->size()) != in.dims())) {
    return c->Error(absl::StrCat("begin and size must have one entry per ",
                                 "input dimension; input shape ",
                                 in.DebugString()));
  }
  PartialTensorShape out = PartialTensorShape::Scalar();
  for (size_t i = 0; i < begin->size(); ++i) {
    const int64_t b = (*begin)[i], s = (*size)[i];
    const int64_t d = in.unknown_rank() ? -1 : in.dim_size(i);
    if (b < 0 || s < -1 || (d >= 0 && (b > d || (s >= 0 && b + s > d)))) {
      return c->Error(absl::StrCat("slice begin ", b, " size ", s,
                                   " is out of range for dimension ", i,
                                   " of size ", d));
    }
    out.AddDim(s >= 0 ? s : (d >= 0 ? d - b : -1));
  }
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status StridedSliceShape(InferenceContext* c) {
  const PartialTensorShape& in = c->input(0);
  ASSIGN_OR_RETURN(auto begin, c->ConstantInts(1));
  ASSIGN_OR_RETURN(auto end, c->ConstantInts(2));
  ASSIGN_OR_RETURN(auto strides, c->ConstantInts(3));
  if (in.unknown_rank() || !begin.has_value() || !end.has_value() ||
      !strides.has_value()) {
    c->set_output(0, PartialTensorShape::UnknownRank());
    return absl::OkStatus();
  }
  StridedSliceMasks m;
  RETURN_IF_ERROR(c->GetAttr("begin_mask", &m.begin));
  RETURN_IF_ERROR(c->GetAttr("end_mask", &m.end));
  RETURN_IF_ERROR(c->GetAttr("ellipsis_mask", &m.ellipsis));
  RETURN_IF_ERROR(c->GetAttr("new_axis_mask", &m.new_axis));
  RETURN_IF_ERROR(c->GetAttr("shrink_axis_mask", &m.shrink_axis));
  absl::StatusOr<StridedSliceSpec> spec =
      ComputeStridedSlice(in, *begin, *end, *strides, m);
  if (!spec.ok()) return c->Error(spec.status().message());
  c->set_output(0, spec->output_shape);
  return absl::OkStatus();
}

absl::Status GatherV2Shape(InferenceContext* c) {
  const PartialTensorShape& params = c->input(0);
  const PartialTensorShape& indices = c->input(1);
  int64_t batch_dims = 0;
  std::optional<int64_t> axis_value = 0;
  if (c->num_inputs() == 3) {
    RETURN_IF_ERROR(c->GetAttr("batch_dims", &batch_dims));
    ASSIGN_OR_RETURN(axis_value, ConstantScalar(c, 2));
  }
  if (params.unknown_rank() || indices.unknown_rank() ||
      !axis_value.has_value()) {
    c->set_output(0, PartialTensorShape::UnknownRank());
    return absl::OkStatus();
  }
  if (params.dims() == 0) return c->Error("params must be at least a vector");
  absl::StatusOr<int> axis = CanonicalAxis(*axis_value, params.dims());
  if (!axis.ok()) return c->Error(axis.status().message());
  if (batch_dims < 0) batch_dims += indices.dims();
  if (batch_dims < 0 || batch_dims > indices.dims() || batch_dims > *axis) {
    return c->Error(
        absl::StrCat("batch_dims ", batch_dims, " is out of range"));
  }
  PartialTensorShape out = PartialTensorShape::Scalar();
  for (int i = 0; i < *axis; ++i) out.AddDim(params.dim_size(i));
  for (int i = batch_dims; i < indices.dims(); ++i) {
    out.AddDim(indices.dim_size(i));
  }
  for (int i = *axis + 1; i < params.dims(); ++i)
    out.AddDim(params.dim_size(i));
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status TileShape(InferenceContext* c) {
  const PartialTensorShape& in = c->input(0);
  ASSIGN_OR_RETURN(auto multiples, c->ConstantInts(1));
  if (!multiples.has_value()) {
    ASSIGN_OR_RETURN(PartialTensorShape m, c->ShapeFromShapeTensor(1));
    c->set_output(0,
                  in.unknown_rank()
                      ? PartialTensorShape::UnknownDims(std::max(m.dims(), 0))
                      : PartialTensorShape::UnknownDims(in.dims()));
    if (in.unknown_rank() && m.unknown_rank()) {
      c->set_output(0, PartialTensorShape::UnknownRank());
    }
    return absl::OkStatus();
  }
  if (!in.unknown_rank() && static_cast<int>(multiples->size()) != in.dims()) {
    return c->Error(absl::StrCat("multiples has ", multiples->size(),
                                 " entries for an input of shape ",
                                 in.DebugString()));
  }
  PartialTensorShape out = PartialTensorShape::Scalar();
  for (size_t i = 0; i < multiples->size(); ++i) {
    const int64_t m = (*multiples)[i];
    if (m < 0)
      return c->Error(absl::StrCat("multiples has a negative entry ", m));
    const int64_t d = in.unknown_rank() ? -1 : in.dim_size(i);
    out.AddDim(d < 0 ? (m == 0 ? 0 : -1) : d * m);
  }
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status FillShape(InferenceContext* c) {
  RETURN_IF_ERROR(c->WithRank(1, 0).status());
  ASSIGN_OR_RETURN(PartialTensorShape out, c->ShapeFromShapeTensor(0));
  if (c->input_tensor(0) != nullptr) {
    for (int64_t d : out.dim_sizes()) {
      if (d < 0) return c->Error("dims must be non-negative");
    }
  }
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status RangeShape(InferenceContext* c) {
  for (int i = 0; i < 3; ++i) RETURN_IF_ERROR(c->WithRank(i, 0).status());
  const Tensor* t[3] = {c->input_tensor(0), c->input_tensor(1),
                        c->input_tensor(2)};
  if (t[0] == nullptr || t[1] == nullptr || t[2] == nullptr) {
    c->set_output(0, PartialTensorShape({-1}));
    return absl::OkStatus();
  }
  double v[3];
  for (int i = 0; i < 3; ++i) {
    v[i] = VisitDataType(
        t[i]->dtype(),
        [&]<typename T>() -> double {
          if constexpr (std::is_arithmetic_v<T>) {
            return static_cast<double>(t[i]->scalar<T>());
          } else {
            return 0;
          }
        },
        [] { return 0.0; });
  }
  if (v[2] == 0) return c->Error("delta must not be zero");
  if ((v[2] > 0 && v[0] > v[1]) || (v[2] < 0 && v[0] < v[1])) {
    return c->Error("start and limit are in the wrong order for delta");
  }
  c->set_output(0, PartialTensorShape({static_cast<int64_t>(
                       std::ceil(std::abs((v[1] - v[0]) / v[2])))}));
  return absl::OkStatus();
}

absl::Status OneHotShape(InferenceContext* c) {
  const PartialTensorShape& indices = c->input(0);
  int64_t axis_attr;
  RETURN_IF_ERROR(c->GetAttr("axis", &axis_attr));
  ASSIGN_OR_RETURN(auto depth, ConstantScalar(c, 1));
  if (depth.has_value() && *depth < 0) {
    return c->Error(absl::StrCat("depth must be non-negative, got ", *depth));
  }
  if (indices.unknown_rank()) {
    c->set_output(0, indices);
    return absl::OkStatus();
  }
  if (axis_attr < -1 || axis_attr > indices.dims()) {
    return c->Error(absl::StrCat("axis ", axis_attr, " is out of range"));
  }
  const int axis = axis_attr == -1 ? indices.dims() : axis_attr;
  DimVector dims(indices.dim_sizes().begin(), indices.dim_sizes().end());
  dims.insert(dims.begin() + axis, depth.value_or(-1));
  ASSIGN_OR_RETURN(PartialTensorShape out, PartialTensorShape::Create(dims));
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status PadShape(InferenceContext* c) {
  const PartialTensorShape& in = c->input(0);
  ASSIGN_OR_RETURN(auto pads, c->ConstantInts(1));
  if (!pads.has_value()) {
    const PartialTensorShape& p = c->input(1);
    int rank = in.dims();
    if (rank < 0 && !p.unknown_rank() && p.dims() >= 1) {
      rank = static_cast<int>(p.dim_size(0));
    }
    c->set_output(0, rank < 0 ? PartialTensorShape::UnknownRank()
                              : PartialTensorShape::UnknownDims(rank));
    return absl::OkStatus();
  }
  const Tensor* t = c->input_tensor(1);
  if (t->dims() != 2 || t->dim_size(1) != 2 ||
      (!in.unknown_rank() && t->dim_size(0) != in.dims())) {
    return c->Error(absl::StrCat("paddings must have shape [", in.dims(),
                                 ",2], got ", t->shape().DebugString()));
  }
  PartialTensorShape out = PartialTensorShape::Scalar();
  for (int64_t i = 0; i < t->dim_size(0); ++i) {
    const int64_t before = (*pads)[2 * i], after = (*pads)[2 * i + 1];
    if (before < 0 || after < 0) return c->Error("paddings must be >= 0");
    const int64_t d = in.unknown_rank() ? -1 : in.dim_size(i);
    out.AddDim(d < 0 ? -1 : d + before + after);
  }
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status BroadcastToShape(InferenceContext* c) {
  ASSIGN_OR_RETURN(PartialTensorShape target, c->ShapeFromShapeTensor(1));
  absl::StatusOr<PartialTensorShape> b = BroadcastShapes(c->input(0), target);
  if (!b.ok()) return c->Error(b.status().message());
  if (!target.unknown_rank() && !c->input(0).unknown_rank() &&
      c->input(0).dims() > target.dims()) {
    return c->Error(absl::StrCat("cannot broadcast shape ",
                                 c->input(0).DebugString(), " to ",
                                 target.DebugString()));
  }
  c->set_output(0, target.unknown_rank() ? target : *b);
  return absl::OkStatus();
}

absl::Status BroadcastGradientArgsShape(InferenceContext* c) {
  RETURN_IF_ERROR(c->WithRank(0, 1).status());
  RETURN_IF_ERROR(c->WithRank(1, 1).status());
  c->set_output(0, PartialTensorShape({-1}));
  c->set_output(1, PartialTensorShape({-1}));
  return absl::OkStatus();
}

absl::Status DynamicStitchShape(InferenceContext* c) {
  const int n = c->num_inputs() / 2;
  PartialTensorShape suffix;
  for (int i = 0; i < n; ++i) {
    const PartialTensorShape& idx = c->input(i);
    const PartialTensorShape& data = c->input(n + i);
    if (idx.unknown_rank() || data.unknown_rank()) continue;
    if (data.dims() < idx.dims()) {
      return c->Error(absl::StrCat("data ", i, " of shape ", data.DebugString(),
                                   " does not start with indices shape ",
                                   idx.DebugString()));
    }
    DimVector rest(data.dim_sizes().begin() + idx.dims(),
                   data.dim_sizes().end());
    ASSIGN_OR_RETURN(PartialTensorShape s, PartialTensorShape::Create(rest));
    absl::StatusOr<PartialTensorShape> m = suffix.Merge(s);
    if (!m.ok()) return c->Error(m.status().message());
    suffix = *m;
  }
  if (suffix.unknown_rank()) {
    c->set_output(0, suffix);
    return absl::OkStatus();
  }
  DimVector dims{-1};
  dims.insert(dims.end(), suffix.dim_sizes().begin(), suffix.dim_sizes().end());
  ASSIGN_OR_RETURN(PartialTensorShape out, PartialTensorShape::Create(dims));
  c->set_output(0, out);
  return absl::OkStatus();
}

RILL_REGISTER_OP("Const")
    .Output("output: dtype")
    .Attr("value: tensor")
    .Attr("dtype: type")
    .SetShapeFn(ConstShape);

RILL_REGISTER_OP("Placeholder")
    .Output("output: dtype")
    .Attr("dtype: type")
    .Attr("shape: shape = { unknown_rank: true }")
    .SetShapeFn(PlaceholderShape);

RILL_REGISTER_OP("PlaceholderWithDefault")
    .Input("input: dtype")
    .Output("output: dtype")
    .Attr("dtype: type")
    .Attr("shape: shape")
    .SetShapeFn(PlaceholderWithDefaultShape);

RILL_REGISTER_OP("Identity")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: type")
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("IdentityN")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: list(type) >= 1")
    .SetShapeFn(IdentityNShape);

RILL_REGISTER_OP("NoOp").SetShapeFn(shape_fns::UnknownShape);

RILL_REGISTER_OP("StopGradient")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: type")
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("PreventGradient")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("message: string = ''")
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("Shape")
    .Input("input: T")
    .Output("output: out_type")
    .Attr("T: type")
    .Attr("out_type: {int32, int64} = DT_INT32")
    .SetShapeFn(ShapeShape);

RILL_REGISTER_OP("ShapeN")
    .Input("input: N * T")
    .Output("output: N * out_type")
    .Attr("N: int >= 1")
    .Attr("T: type")
    .Attr("out_type: {int32, int64} = DT_INT32")
    .SetShapeFn(ShapeShape);

RILL_REGISTER_OP("Size")
    .Input("input: T")
    .Output("output: out_type")
    .Attr("T: type")
    .Attr("out_type: {int32, int64} = DT_INT32")
    .SetShapeFn(shape_fns::ScalarShape);

// The coordinates of the true (nonzero) elements, in row-major order:
// [num_true, rank].
RILL_REGISTER_OP("Where")
    .Input("input: T")
    .Output("index: int64")
    .Attr(
        "T: {float, double, int32, uint8, int16, int8, complex64, int64, "
        "qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, "
        "complex128, half, uint32, uint64, bool} = DT_BOOL")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      const PartialTensorShape& in = c->input(0);
      c->set_output(0, PartialTensorShape({-1, in.dims()}));
      return absl::OkStatus();
    });

RILL_REGISTER_OP("Rank")
    .Input("input: T")
    .Output("output: int32")
    .Attr("T: type")
    .SetShapeFn(shape_fns::ScalarShape);

RILL_REGISTER_OP("Reshape")
    .Input("tensor: T")
    .Input("shape: Tshape")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tshape: {int32, int64} = DT_INT32")
    .SetShapeFn(ReshapeShape);

RILL_REGISTER_OP("Squeeze")
    .Input("input: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("squeeze_dims: list(int) >= 0 = []")
    .SetShapeFn(SqueezeShape);

RILL_REGISTER_OP("ExpandDims")
    .Input("input: T")
    .Input("dim: Tdim")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tdim: {int32, int64} = DT_INT32")
    .SetShapeFn(ExpandDimsShape);

RILL_REGISTER_OP("Transpose")
    .Input("x: T")
    .Input("perm: Tperm")
    .Output("y: T")
    .Attr("T: type")
    .Attr("Tperm: {int32, int64} = DT_INT32")
    .SetShapeFn(TransposeShape);

RILL_REGISTER_OP("ConcatV2")
    .Input("values: N * T")
    .Input("axis: Tidx")
    .Output("output: T")
    .Attr("N: int >= 2")
    .Attr("T: type")
    .Attr("Tidx: {int32, int64} = DT_INT32")
    .SetShapeFn(ConcatV2Shape);

RILL_REGISTER_OP("Pack")
    .Input("values: N * T")
    .Output("output: T")
    .Attr("N: int >= 1")
    .Attr("T: type")
    .Attr("axis: int = 0")
    .SetShapeFn(PackShape);

RILL_REGISTER_OP("Unpack")
    .Input("value: T")
    .Output("output: num * T")
    .Attr("num: int >= 0")
    .Attr("T: type")
    .Attr("axis: int = 0")
    .SetShapeFn(UnpackShape);

RILL_REGISTER_OP("Split")
    .Input("split_dim: int32")
    .Input("value: T")
    .Output("output: num_split * T")
    .Attr("num_split: int >= 1")
    .Attr("T: type")
    .SetShapeFn(SplitShape);

RILL_REGISTER_OP("SplitV")
    .Input("value: T")
    .Input("size_splits: Tlen")
    .Input("split_dim: int32")
    .Output("output: num_split * T")
    .Attr("num_split: int >= 1")
    .Attr("T: type")
    .Attr("Tlen: {int8, int32, int64} = DT_INT64")
    .SetShapeFn(SplitVShape);

RILL_REGISTER_OP("Slice")
    .Input("input: T")
    .Input("begin: Index")
    .Input("size: Index")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Index: {int32, int64}")
    .SetShapeFn(SliceShape);

RILL_REGISTER_OP("StridedSlice")
    .Input("input: T")
    .Input("begin: Index")
    .Input("end: Index")
    .Input("strides: Index")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Index: {int16, int32, int64}")
    .Attr("begin_mask: int = 0")
    .Attr("end_mask: int = 0")
    .Attr("ellipsis_mask: int = 0")
    .Attr("new_axis_mask: int = 0")
    .Attr("shrink_axis_mask: int = 0")
    .SetShapeFn(StridedSliceShape);

RILL_REGISTER_OP("StridedSliceGrad")
    .Input("shape: Index")
    .Input("begin: Index")
    .Input("end: Index")
    .Input("strides: Index")
    .Input("dy: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Index: {int32, int64}")
    .Attr("begin_mask: int = 0")
    .Attr("end_mask: int = 0")
    .Attr("ellipsis_mask: int = 0")
    .Attr("new_axis_mask: int = 0")
    .Attr("shrink_axis_mask: int = 0")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(c->WithRank(0, 1).status());
      ASSIGN_OR_RETURN(PartialTensorShape out, c->ShapeFromShapeTensor(0));
      c->set_output(0, out);
      return absl::OkStatus();
    });

RILL_REGISTER_OP("Gather")
    .Input("params: Tparams")
    .Input("indices: Tindices")
    .Output("output: Tparams")
    .Attr("validate_indices: bool = true")
    .Attr("Tparams: type")
    .Attr("Tindices: {int32, int64}")
    .SetShapeFn(GatherV2Shape);

RILL_REGISTER_OP("GatherV2")
    .Input("params: Tparams")
    .Input("indices: Tindices")
    .Input("axis: Taxis")
    .Output("output: Tparams")
    .Attr("batch_dims: int = 0")
    .Attr("Tparams: type")
    .Attr("Tindices: {int16, int32, int64}")
    .Attr("Taxis: {int32, int64}")
    .SetShapeFn(GatherV2Shape);

RILL_REGISTER_OP("Tile")
    .Input("input: T")
    .Input("multiples: Tmultiples")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tmultiples: {int32, int64} = DT_INT32")
    .SetShapeFn(TileShape);

RILL_REGISTER_OP("Fill")
    .Input("dims: index_type")
    .Input("value: T")
    .Output("output: T")
    .Attr("T: type")
    .Attr("index_type: {int32, int64} = DT_INT32")
    .SetShapeFn(FillShape);

RILL_REGISTER_OP("ZerosLike")
    .Input("x: T")
    .Output("y: T")
    .Attr("T: type")
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("OnesLike")
    .Input("x: T")
    .Output("y: T")
    .Attr(
        "T: {bfloat16, half, float, double, int8, uint8, int16, uint16, int32, "
        "uint32, int64, uint64, complex64, complex128, bool}")
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("Range")
    .Input("start: Tidx")
    .Input("limit: Tidx")
    .Input("delta: Tidx")
    .Output("output: Tidx")
    .Attr(
        "Tidx: {bfloat16, half, float, double, int8, int16, int32, int64, "
        "uint16, uint32, uint64} = DT_INT32")
    .SetShapeFn(RangeShape);

RILL_REGISTER_OP("OneHot")
    .Input("indices: TI")
    .Input("depth: int32")
    .Input("on_value: T")
    .Input("off_value: T")
    .Output("output: T")
    .Attr("axis: int = -1")
    .Attr("T: type")
    .Attr("TI: {uint8, int8, int32, int64} = DT_INT64")
    .SetShapeFn(OneHotShape);

RILL_REGISTER_OP("Pad")
    .Input("input: T")
    .Input("paddings: Tpaddings")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tpaddings: {int32, int64} = DT_INT32")
    .SetShapeFn(PadShape);

RILL_REGISTER_OP("BroadcastTo")
    .Input("input: T")
    .Input("shape: Tidx")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tidx: {int32, int64} = DT_INT32")
    .SetShapeFn(BroadcastToShape);

RILL_REGISTER_OP("BroadcastGradientArgs")
    .Input("s0: T")
    .Input("s1: T")
    .Output("r0: T")
    .Output("r1: T")
    .Attr("T: {int32, int64} = DT_INT32")
    .SetShapeFn(BroadcastGradientArgsShape);

// The shape s0 and s1 broadcast to.
RILL_REGISTER_OP("BroadcastArgs")
    .Input("s0: T")
    .Input("s1: T")
    .Output("r0: T")
    .Attr("T: {int32, int64} = DT_INT32")
    .SetShapeFn([](InferenceContext* c) {
      c->set_output(0, PartialTensorShape({-1}));
      return absl::OkStatus();
    });

// The tensor with the dimensions in `axis` reversed.
RILL_REGISTER_OP("ReverseV2")
    .Input("tensor: T")
    .Input("axis: Tidx")
    .Output("output: T")
    .Attr("Tidx: {int32, int64} = DT_INT32")
    .Attr(
        "T: {uint8, int8, uint16, int16, int32, uint32, int64, uint64, bool, "
        "bfloat16, half, float, double, complex64, complex128, string}")
    .SetShapeFn(shape_fns::UnchangedShape);

RILL_REGISTER_OP("DynamicStitch")
    .Input("indices: N * int32")
    .Input("data: N * T")
    .Output("merged: T")
    .Attr("N: int >= 1")
    .Attr("T: type")
    .SetShapeFn(DynamicStitchShape);

// Stitches in parallel: the same result as DynamicStitch, which the
// partitioned embedding lookup's graph uses.
RILL_REGISTER_OP("ParallelDynamicStitch")
    .Input("indices: N * int32")
    .Input("data: N * T")
    .Output("merged: T")
    .Attr("N: int >= 1")
    .Attr("T: type")
    .SetShapeFn(DynamicStitchShape);

RILL_REGISTER_OP("DynamicPartition")
    .Input("data: T")
    .Input("partitions: int32")
    .Output("outputs: num_partitions * T")
    .Attr("num_partitions: int >= 1")
    .Attr("T: type")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      const PartialTensorShape& data = c->input(0);
      const PartialTensorShape& parts = c->input(1);
      PartialTensorShape out;
      if (!data.unknown_rank() && !parts.unknown_rank()) {
        if (data.dims() < parts.dims()) {
          return c->Error(absl::StrCat("data of shape ", data.DebugString(),
                                       " does not start with partitions' "
                                       "shape ",
                                       parts.DebugString()));
        }
        DimVector dims = {-1};
        dims.insert(dims.end(), data.dim_sizes().begin() + parts.dims(),
                    data.dim_sizes().end());
        ASSIGN_OR_RETURN(out, PartialTensorShape::Create(dims));
      }
      for (int i = 0; i < c->num_outputs(); ++i) c->set_output(i, out);
      return absl::OkStatus();
    });

RILL_REGISTER_OP("Unique")
    .Input("x: T")
    .Output("y: T")
    .Output("idx: out_idx")
    .Attr("T: type")
    .Attr("out_idx: {int32, int64} = DT_INT32")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(c->WithRank(0, 1).status());
      c->set_output(0, PartialTensorShape({-1}));
      c->set_output(1, c->input(0));
      return absl::OkStatus();
    });

// The offsets of each input in a concatenation (every concat's gradient).
RILL_REGISTER_OP("ConcatOffset")
    .Input("concat_dim: int32")
    .Input("shape: N * shape_type")
    .Output("offset: N * shape_type")
    .Attr("N: int >= 2")
    .Attr("shape_type: {int32, int64} = DT_INT32")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      for (int i = 1; i < c->num_inputs(); ++i) {
        c->set_output(i - 1, c->input(i));
      }
      return absl::OkStatus();
    });

RILL_REGISTER_OP("InvertPermutation")
    .Input("x: T")
    .Output("y: T")
    .Attr("T: {int32, int64} = DT_INT32")
    .SetShapeFn([](InferenceContext* c) {
      RETURN_IF_ERROR(c->WithRank(0, 1).status());
      return UnchangedShape(c);
    });

// params [p..., rest...] gathered at indices [i..., r] (r <= rank of params):
// [i..., params' dims from r on].
absl::Status GatherNdShape(InferenceContext* c) {
  const PartialTensorShape& params = c->input(0);
  const PartialTensorShape& indices = c->input(1);
  RETURN_IF_ERROR(c->WithRankAtLeast(1, 1));
  if (params.unknown_rank() || indices.unknown_rank() ||
      indices.dim_size(indices.dims() - 1) < 0) {
    c->set_output(0, PartialTensorShape());
    return absl::OkStatus();
  }
  const int64_t r = indices.dim_size(indices.dims() - 1);
  if (r > params.dims()) {
    return c->Error(absl::StrCat("indices address ", r,
                                 " dimensions of params with only ",
                                 params.dims()));
  }
  PartialTensorShape out;
  for (int d = 0; d + 1 < indices.dims(); ++d) out.AddDim(indices.dim_size(d));
  for (int d = static_cast<int>(r); d < params.dims(); ++d) {
    out.AddDim(params.dim_size(d));
  }
  c->set_output(0, out);
  return absl::OkStatus();
}

RILL_REGISTER_OP("GatherNd")
    .Input("params: Tparams")
    .Input("indices: Tindices")
    .Output("output: Tparams")
    .Attr("Tparams: type")
    .Attr("Tindices: {int16, int32, int64}")
    .Attr("bad_indices_policy: string = ''")
    .SetShapeFn(GatherNdShape);

RILL_REGISTER_OP("ScatterNd")
    .Input("indices: Tindices")
    .Input("updates: T")
    .Input("shape: Tindices")
    .Output("output: T")
    .Attr("T: type")
    .Attr("Tindices: {int16, int32, int64}")
    .Attr("bad_indices_policy: string = ''")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      ASSIGN_OR_RETURN(PartialTensorShape out, c->ShapeFromShapeTensor(2));
      c->set_output(0, out);
      return absl::OkStatus();
    });

}  // namespace
}  // namespace rill
