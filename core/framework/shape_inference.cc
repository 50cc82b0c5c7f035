#include "core/framework/shape_inference.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"

namespace rill {

InferenceContext::InferenceContext(
    std::string node_name, const AttrMap* attrs,
    std::vector<DataType> input_types,
    std::vector<PartialTensorShape> input_shapes,
    std::vector<const Tensor*> input_tensors,
    std::vector<std::optional<PartialTensorShape>> input_shape_values,
    int num_outputs)
    : node_name_(std::move(node_name)),
      attrs_(attrs),
      input_types_(std::move(input_types)),
      inputs_(std::move(input_shapes)),
      input_tensors_(std::move(input_tensors)),
      input_shape_values_(std::move(input_shape_values)),
      outputs_(num_outputs),
      output_shape_values_(num_outputs) {
  input_tensors_.resize(inputs_.size(), nullptr);
  input_shape_values_.resize(inputs_.size());
}

absl::Status InferenceContext::Error(absl::string_view message) const {
  return absl::InvalidArgumentError(message);
}

absl::StatusOr<PartialTensorShape> InferenceContext::WithRank(int i,
                                                              int rank) const {
  const PartialTensorShape& s = inputs_[i];
  if (s.unknown_rank()) return PartialTensorShape::UnknownDims(rank);
  if (s.dims() != rank) {
    return Error(absl::StrCat("input ", i, " must have rank ", rank,
                              ", got shape ", s.DebugString()));
  }
  return s;
}

absl::Status InferenceContext::WithRankAtLeast(int i, int rank) const {
  const PartialTensorShape& s = inputs_[i];
  if (!s.unknown_rank() && s.dims() < rank) {
    return Error(absl::StrCat("input ", i, " must have rank at least ", rank,
                              ", got shape ", s.DebugString()));
  }
  return absl::OkStatus();
}

absl::Status InferenceContext::WithRankAtMost(int i, int rank) const {
  const PartialTensorShape& s = inputs_[i];
  if (!s.unknown_rank() && s.dims() > rank) {
    return Error(absl::StrCat("input ", i, " must have rank at most ", rank,
                              ", got shape ", s.DebugString()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::vector<int64_t>>>
InferenceContext::ConstantInts(int i) const {
  const Tensor* t = input_tensors_[i];
  if (t == nullptr) return std::optional<std::vector<int64_t>>();
  std::vector<int64_t> out;
  if (t->dtype() == ::tensorflow::DT_INT32) {
    for (int32_t v : t->flat<int32_t>()) out.push_back(v);
  } else if (t->dtype() == ::tensorflow::DT_INT64) {
    for (int64_t v : t->flat<int64_t>()) out.push_back(v);
  } else {
    return Error(absl::StrCat("input ", i, " must be int32 or int64, got ",
                              DataTypeName(t->dtype())));
  }
  return std::optional<std::vector<int64_t>>(std::move(out));
}

absl::StatusOr<PartialTensorShape> InferenceContext::ShapeFromShapeTensor(
    int i) const {
  ASSIGN_OR_RETURN(auto values, ConstantInts(i));
  if (values.has_value()) {
    if (input_tensors_[i]->dims() > 1) {
      return Error(absl::StrCat("input ", i, " must be a vector, got shape ",
                                input_tensors_[i]->shape().DebugString()));
    }
    for (int64_t v : *values) {
      if (v < -1) {
        return Error(
            absl::StrCat("input ", i, " has dimension ", v, ", must be >= -1"));
      }
    }
    return PartialTensorShape::Create(*values);
  }
  if (input_shape_values_[i].has_value()) return *input_shape_values_[i];
  const PartialTensorShape& s = inputs_[i];
  if (!s.unknown_rank() && s.dims() > 1) {
    return Error(absl::StrCat("input ", i, " must be a vector, got shape ",
                              s.DebugString()));
  }
  if (s.dims() == 1 && s.dim_size(0) >= 0) {
    return PartialTensorShape::UnknownDims(static_cast<int>(s.dim_size(0)));
  }
  return PartialTensorShape::UnknownRank();
}

absl::StatusOr<PartialTensorShape> BroadcastShapes(
    const PartialTensorShape& a, const PartialTensorShape& b) {
  if (a.unknown_rank() || b.unknown_rank()) {
    return PartialTensorShape::UnknownRank();
  }
  const int rank = std::max(a.dims(), b.dims());
  PartialTensorShape out = PartialTensorShape::UnknownDims(rank);
  DimVector dims(rank, -1);
  for (int i = 0; i < rank; ++i) {
    const int ia = a.dims() - rank + i;
    const int ib = b.dims() - rank + i;
    const int64_t da = ia >= 0 ? a.dim_size(ia) : 1;
    const int64_t db = ib >= 0 ? b.dim_size(ib) : 1;
    if (da == 1) {
      dims[i] = db;
    } else if (db == 1) {
      dims[i] = da;
    } else if (da < 0) {
      dims[i] = db;  // db > 1 or unknown: the result is db (or unknown).
    } else if (db < 0 || da == db) {
      dims[i] = da;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "incompatible shapes for broadcasting: ", a.DebugString(), " and ",
          b.DebugString()));
    }
  }
  return PartialTensorShape::Create(dims);
}

absl::StatusOr<int> CanonicalAxis(int64_t axis, int rank) {
  if (axis < -rank || axis >= std::max(rank, 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "axis ", axis, " is out of range for a tensor of rank ", rank));
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

namespace shape_fns {

absl::Status UnknownShape(InferenceContext* c) {
  for (int i = 0; i < c->num_outputs(); ++i) {
    c->set_output(i, PartialTensorShape::UnknownRank());
  }
  return absl::OkStatus();
}

absl::Status UnchangedShape(InferenceContext* c) {
  c->set_output(0, c->input(0));
  return absl::OkStatus();
}

absl::Status ScalarShape(InferenceContext* c) {
  for (int i = 0; i < c->num_outputs(); ++i) {
    c->set_output(i, PartialTensorShape::Scalar());
  }
  return absl::OkStatus();
}

absl::Status BroadcastBinaryOp(InferenceContext* c) {
  ASSIGN_OR_RETURN(PartialTensorShape out,
                   BroadcastShapes(c->input(0), c->input(1)));
  c->set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status MergeAllInputs(InferenceContext* c) {
  PartialTensorShape out;
  for (int i = 0; i < c->num_inputs(); ++i) {
    absl::StatusOr<PartialTensorShape> m = out.Merge(c->input(i));
    if (!m.ok()) {
      return c->Error(absl::StrCat("input ", i, " has shape ",
                                   c->input(i).DebugString(),
                                   ", incompatible with ", out.DebugString()));
    }
    out = *std::move(m);
  }
  c->set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status Reduction(InferenceContext* c) {
  bool keep_dims = false;
  RETURN_IF_ERROR(c->GetAttr("keep_dims", &keep_dims));
  const PartialTensorShape& in = c->input(0);
  ASSIGN_OR_RETURN(auto axes, c->ConstantInts(1));
  if (!axes.has_value() || in.unknown_rank()) {
    // Without the axes only keep_dims with a known rank says anything.
    if (keep_dims && !in.unknown_rank()) {
      c->set_output(0, PartialTensorShape::UnknownDims(in.dims()));
    } else {
      c->set_output(0, PartialTensorShape::UnknownRank());
    }
    return absl::OkStatus();
  }
  absl::flat_hash_set<int> reduced;
  for (int64_t a : *axes) {
    absl::StatusOr<int> axis = CanonicalAxis(a, in.dims());
    if (!axis.ok()) return c->Error(axis.status().message());
    reduced.insert(*axis);
  }
  PartialTensorShape out = PartialTensorShape::Scalar();
  for (int i = 0; i < in.dims(); ++i) {
    if (!reduced.contains(i)) {
      out.AddDim(in.dim_size(i));
    } else if (keep_dims) {
      out.AddDim(1);
    }
  }
  c->set_output(0, std::move(out));
  return absl::OkStatus();
}

}  // namespace shape_fns
}  // namespace rill
