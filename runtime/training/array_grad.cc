// Gradients of the array ops (shapes, slicing, joining, gathering,
// padding, tiling), of variable reads, and the declarations of the ops
// through which no gradient flows.
#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"
#include "runtime/training/grad_helpers.h"

namespace rill {
namespace {

using grad::In;
using grad::OpWithAttrsOf;

using Grads = std::vector<Output>;

// An index-typed tensor as int32 (shapes here are int32).
Output Int32(const Scope& s, const Output& x) {
  return BaseType(x.type()) == DT_INT32 ? x : Output(ops::Cast(s, x, DT_INT32));
}

// An axis input made non-negative against the rank of `of`.
Output PositiveAxis(const Scope& s, const Output& axis, const Output& of) {
  return ops::FloorMod(s, Int32(s, axis), ops::Rank(s, of));
}

absl::Status IdentityGrad(const Scope& s, const Operation& op, const Grads& g,
                          Grads* dx) {
  dx->push_back(g[0]);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Identity", IdentityGrad);
RILL_REGISTER_GRADIENT_OP("PlaceholderWithDefault", IdentityGrad);
// A read of a resource variable: the gradient goes to its handle (and from
// there to an optimizer's ResourceApply*).
RILL_REGISTER_GRADIENT_OP("ReadVariableOp", IdentityGrad);

absl::Status IdentityNGrad(const Scope& s, const Operation& op, const Grads& g,
                           Grads* dx) {
  *dx = g;
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("IdentityN", IdentityNGrad);

absl::Status PreventGradientGrad(const Scope& s, const Operation& op,
                                 const Grads& g, Grads* dx) {
  std::string message;
  (void)GetAttr(op.node()->attrs(), "message", &message);
  return absl::InvalidArgumentError(absl::StrCat(
      "gradient requested through PreventGradient node '", op.node()->name(),
      "'", message.empty() ? "" : ": ", message));
}
RILL_REGISTER_GRADIENT_OP("PreventGradient", PreventGradientGrad);

// Ops that only rearrange x into another shape: the gradient is g in x's
// shape.
absl::Status ReshapeGrad(const Scope& s, const Operation& op, const Grads& g,
                         Grads* dx) {
  dx->push_back(ops::Reshape(s, g[0], ops::Shape(s, In(op, 0))));
  for (int i = 1; i < op.node()->num_inputs(); ++i) dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Reshape", ReshapeGrad);
RILL_REGISTER_GRADIENT_OP("ExpandDims", ReshapeGrad);
RILL_REGISTER_GRADIENT_OP("Squeeze", ReshapeGrad);

absl::Status TransposeGrad(const Scope& s, const Operation& op, const Grads& g,
                           Grads* dx) {
  dx->push_back(ops::Transpose(s, g[0], ops::InvertPermutation(s, In(op, 1))));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Transpose", TransposeGrad);

// SparseFillEmptyRows(indices, values, dense_shape, default_value): the
// output values' gradient goes back to the values and, for the filled
// entries, to default_value.
absl::Status SparseFillEmptyRowsGrad(const Scope& s, const Operation& op,
                                     const Grads& g, Grads* dx) {
  auto back = ops::SparseFillEmptyRowsGrad(s, Output(op, 3),
                                           grad::GradOrZeros(s, op, g, 1));
  *dx = {Output(), back.d_values, Output(), back.d_default_value};
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("SparseFillEmptyRows", SparseFillEmptyRowsGrad);
RILL_REGISTER_NO_GRADIENT_OP("SparseFillEmptyRowsGrad");
RILL_REGISTER_NO_GRADIENT_OP("SparseReshape");

// ReverseV2: the gradient reversed back.
absl::Status ReverseGrad(const Scope& s, const Operation& op, const Grads& g,
                         Grads* dx) {
  dx->push_back(ops::ReverseV2(s, g[0], In(op, 1)));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("ReverseV2", ReverseGrad);

// ConcatV2(values..., axis): g split back into pieces of each value's size
// along the axis.
absl::Status ConcatV2Grad(const Scope& s, const Operation& op, const Grads& g,
                          Grads* dx) {
  const int n = op.node()->num_inputs() - 1;
  Output axis = PositiveAxis(s, In(op, n), In(op, 0));
  std::vector<Output> sizes;
  for (int i = 0; i < n; ++i) {
    sizes.push_back(ops::GatherV2(s, ops::Shape(s, In(op, i)), axis, 0));
  }
  auto parts = ops::SplitV(s, g[0], ops::Pack(s, sizes), axis, n);
  *dx = parts.output;
  if (static_cast<int>(dx->size()) != n) dx->resize(n);
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("ConcatV2", ConcatV2Grad);

absl::Status PackGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  int64_t axis = 0;
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "axis", &axis));
  const int n = op.node()->num_inputs();
  *dx = ops::Unpack(s, g[0], n, ops::Unpack::Axis(axis)).output;
  if (static_cast<int>(dx->size()) != n) dx->resize(n);
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Pack", PackGrad);

absl::Status UnpackGrad(const Scope& s, const Operation& op, const Grads& g,
                        Grads* dx) {
  int64_t axis = 0;
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "axis", &axis));
  std::vector<Output> parts;
  for (int i = 0; i < op.node()->num_outputs(); ++i) {
    parts.push_back(grad::GradOrZeros(s, op, g, i));
  }
  dx->push_back(ops::Pack(s, parts, ops::Pack::Axis(axis)));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Unpack", UnpackGrad);

// Split and SplitV: the pieces' gradients concatenated back.
Output ConcatPieces(const Scope& s, const Operation& op, const Grads& g,
                    const Output& axis) {
  std::vector<Output> parts;
  for (int i = 0; i < op.node()->num_outputs(); ++i) {
    parts.push_back(grad::GradOrZeros(s, op, g, i));
  }
  return ops::ConcatV2(s, parts, axis);
}

absl::Status SplitGrad(const Scope& s, const Operation& op, const Grads& g,
                       Grads* dx) {
  dx->push_back(Output());
  dx->push_back(ConcatPieces(s, op, g, In(op, 0)));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Split", SplitGrad);

absl::Status SplitVGrad(const Scope& s, const Operation& op, const Grads& g,
                        Grads* dx) {
  dx->push_back(ConcatPieces(s, op, g, In(op, 2)));
  dx->push_back(Output());
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("SplitV", SplitVGrad);

// Slice(x, begin, size): g padded back to x's shape.
absl::Status SliceGrad(const Scope& s, const Operation& op, const Grads& g,
                       Grads* dx) {
  Output x = In(op, 0);
  auto begin = Int32(s, In(op, 1));
  auto after =
      ops::Sub(s, ops::Sub(s, ops::Shape(s, x), begin), ops::Shape(s, g[0]));
  auto paddings = ops::Pack(s, {begin, after}, ops::Pack::Axis(1));
  dx->push_back(ops::Pad(s, g[0], paddings));
  dx->push_back(Output());
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Slice", SliceGrad);

constexpr std::initializer_list<const char*> kMasks = {
    "begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
    "shrink_axis_mask"};

absl::Status StridedSliceGrad(const Scope& s, const Operation& op,
                              const Grads& g, Grads* dx) {
  Output begin = In(op, 1);
  auto shape = ops::Shape(s, In(op, 0), ops::Shape::OutType(begin.type()));
  dx->push_back(OpWithAttrsOf(s, "StridedSliceGrad",
                              {shape, begin, In(op, 2), In(op, 3), g[0]},
                              op.node(), kMasks));
  for (int i = 0; i < 3; ++i) dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("StridedSlice", StridedSliceGrad);

// StridedSliceGrad is linear in dy; its adjoint is the slice itself.
absl::Status StridedSliceGradGrad(const Scope& s, const Operation& op,
                                  const Grads& g, Grads* dx) {
  for (int i = 0; i < 4; ++i) dx->push_back(Output());
  dx->push_back(OpWithAttrsOf(s, "StridedSlice",
                              {g[0], In(op, 1), In(op, 2), In(op, 3)},
                              op.node(), kMasks));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("StridedSliceGrad", StridedSliceGradGrad);

// Pad(x, paddings): the slice of g where x sits.
absl::Status PadGrad(const Scope& s, const Operation& op, const Grads& g,
                     Grads* dx) {
  Output x = In(op, 0);
  auto before = ops::Reshape(
      s, ops::Slice(s, Int32(s, In(op, 1)), {0, 0}, {-1, 1}), {-1});
  dx->push_back(ops::Slice(s, g[0], before, ops::Shape(s, x)));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Pad", PadGrad);

// Tile(x, multiples): g viewed as [m0, d0, m1, d1, ...] summed over the
// multiples.
absl::Status TileGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  Output x = In(op, 0);
  auto shape = ops::Shape(s, x);
  auto split = ops::Reshape(
      s, ops::Transpose(s, ops::Pack(s, {Int32(s, In(op, 1)), shape}), {1, 0}),
      {-1});
  auto axes = ops::Range(s, 0, ops::Size(s, split), 2);
  dx->push_back(
      ops::Reshape(s, ops::Sum(s, ops::Reshape(s, g[0], split), axes), shape));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Tile", TileGrad);

absl::Status BroadcastToGrad(const Scope& s, const Operation& op,
                             const Grads& g, Grads* dx) {
  Output x = In(op, 0);
  auto shape = ops::Shape(s, x);
  auto r = ops::BroadcastGradientArgs(s, shape, Int32(s, In(op, 1)));
  dx->push_back(ops::Reshape(s, ops::Sum(s, g[0], r.r0), shape));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("BroadcastTo", BroadcastToGrad);

// Fill(dims, value): every element came from value.
absl::Status FillGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  dx->push_back(Output());
  dx->push_back(ops::Sum(s, g[0], ops::Range(s, 0, ops::Rank(s, g[0]), 1)));
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Fill", FillGrad);

// The dense gradient of gathering `indices` from a tensor of shape
// `params_shape` along `axis`: g's slices summed into their rows.
Output ScatterRows(const Scope& s, const Output& params_shape,
                   const Output& indices, const Output& axis, const Output& g) {
  auto axis1 = ops::Reshape(s, axis, {1});
  auto outer = ops::Prod(s, ops::Slice(s, params_shape, {0}, axis1), 0);
  auto inner = ops::Prod(
      s, ops::Slice(s, params_shape, ops::AddV2(s, axis1, 1), {-1}), 0);
  auto rows = ops::GatherV2(s, params_shape, axis, 0);
  auto flat_indices = ops::Reshape(s, indices, {-1});
  auto g3 = ops::Reshape(
      s, g, ops::Pack(s, {outer, ops::Size(s, flat_indices), inner}));
  auto summed = ops::UnsortedSegmentSum(s, ops::Transpose(s, g3, {1, 0, 2}),
                                        flat_indices, rows);
  return ops::Reshape(s, ops::Transpose(s, summed, {1, 0, 2}), params_shape);
}

absl::Status GatherGrad(const Scope& s, const Operation& op, const Grads& g,
                        Grads* dx) {
  Output params = In(op, 0);
  Output axis = ops::Const(s, 0);
  if (op.node()->op() == "GatherV2") {
    int64_t batch_dims = 0;
    RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "batch_dims", &batch_dims));
    if (batch_dims != 0) {
      return absl::UnimplementedError(
          absl::StrCat("the gradient of GatherV2 with batch_dims (node '",
                       op.node()->name(), "') is not implemented"));
    }
    axis = PositiveAxis(s, In(op, 2), params);
  }
  dx->push_back(ScatterRows(s, ops::Shape(s, params), In(op, 1), axis, g[0]));
  for (int i = 1; i < op.node()->num_inputs(); ++i) dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("Gather", GatherGrad);
RILL_REGISTER_GRADIENT_OP("GatherV2", GatherGrad);

// ResourceGather(handle, indices): the dense gradient goes to the handle.
absl::Status ResourceGatherGrad(const Scope& s, const Operation& op,
                                const Grads& g, Grads* dx) {
  int64_t batch_dims = 0;
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "batch_dims", &batch_dims));
  if (batch_dims != 0) {
    return absl::UnimplementedError(
        absl::StrCat("the gradient of ResourceGather with batch_dims (node '",
                     op.node()->name(), "') is not implemented"));
  }
  DataType dtype;
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "dtype", &dtype));
  auto value = ops::ReadVariableOp(s, In(op, 0), dtype);
  dx->push_back(
      ScatterRows(s, ops::Shape(s, value), In(op, 1), ops::Const(s, 0), g[0]));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("ResourceGather", ResourceGatherGrad);

// DynamicStitch(indices..., data...): data i gets g at its indices.
absl::Status DynamicStitchGrad(const Scope& s, const Operation& op,
                               const Grads& g, Grads* dx) {
  const int n = op.node()->num_inputs() / 2;
  for (int i = 0; i < n; ++i) dx->push_back(Output());
  for (int i = 0; i < n; ++i) {
    dx->push_back(ops::GatherV2(s, g[0], In(op, i), 0));
  }
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("DynamicStitch", DynamicStitchGrad);
RILL_REGISTER_GRADIENT_OP("ParallelDynamicStitch", DynamicStitchGrad);

// DynamicPartition(data, partitions): each row gets its partition's
// gradient back, stitched into the rows' original order.
absl::Status DynamicPartitionGrad(const Scope& s, const Operation& op,
                                  const Grads& g, Grads* dx) {
  int64_t n = 0;
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "num_partitions", &n));
  Output data = In(op, 0), parts = In(op, 1);
  auto positions = ops::Reshape(s, ops::Range(s, 0, ops::Size(s, parts), 1),
                                ops::Shape(s, parts));
  auto split = ops::DynamicPartition(s, positions, parts, n);
  std::vector<Output> grads(g.begin(), g.end());
  auto stitched = ops::DynamicStitch(s, split.outputs, grads);
  dx->push_back(ops::Reshape(s, stitched, ops::Shape(s, data)));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("DynamicPartition", DynamicPartitionGrad);

// v [ids...] reshaped to [ids..., 1, ..., 1] with data's rank, so that it
// broadcasts over the rows of data [ids..., rest...].
Output OverRows(const Scope& s, Output v, Output ids, Output data) {
  auto ones = ops::Fill(
      s,
      ops::Reshape(s, ops::Sub(s, ops::Rank(s, data), ops::Rank(s, ids)), {1}),
      1);
  return ops::Reshape(s, v, ops::ConcatV2(s, {ops::Shape(s, ids), ones}, 0));
}

// x [segments, rest...] gathered at the segment ids of data [ids...,
// rest...]: what each row of data sees of its segment. Rows of negative
// ids (dropped by the unsorted segment ops) see row 0; *kept (bool, over
// data's rows) says which rows count.
Output GatherDroppingNegatives(const Scope& s, Output x, Output ids,
                               Output data, Output* kept) {
  auto zero = ops::ZerosLike(s, ids);
  *kept = OverRows(s, ops::GreaterEqual(s, ids, zero), ids, data);
  return ops::GatherV2(s, x, ops::Maximum(s, ids, zero), 0);
}

// UnsortedSegmentSum(data, ids, n): each row of data gets its segment's
// gradient; rows with a negative id were dropped and get zero.
absl::Status UnsortedSegmentSumGrad(const Scope& s, const Operation& op,
                                    const Grads& g, Grads* dx) {
  Output data = In(op, 0), ids = In(op, 1);
  Output kept;
  Output gathered = GatherDroppingNegatives(s, g[0], ids, data, &kept);
  dx->push_back(
      ops::Mul(s, gathered, ops::Cast(s, kept, BaseType(data.type()))));
  dx->push_back(Output());
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("UnsortedSegmentSum", UnsortedSegmentSumGrad);

// SegmentSum: each row gets its segment's gradient. SegmentMean: divided by
// the segment's size.
absl::Status SegmentSumGrad(const Scope& s, const Operation& op, const Grads& g,
                            Grads* dx) {
  Output gathered = ops::GatherV2(s, g[0], In(op, 1), 0);
  if (op.node()->op() == "SegmentMean") {
    Output data = In(op, 0), ids = In(op, 1);
    auto sizes = ops::SegmentSum(
        s, ops::OnesLike(s, ops::Cast(s, ids, BaseType(data.type()))), ids);
    gathered = ops::Div(
        s, gathered, OverRows(s, ops::GatherV2(s, sizes, ids, 0), ids, data));
  }
  dx->push_back(gathered);
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("SegmentSum", SegmentSumGrad);
RILL_REGISTER_GRADIENT_OP("SegmentMean", SegmentSumGrad);

// Segment max and min (sorted or not): the gradient goes to the rows that
// equal their segment's result, shared equally among ties.
absl::Status SegmentMinMaxGrad(const Scope& s, const Operation& op,
                               const Grads& g, Grads* dx) {
  Output data = In(op, 0), ids = In(op, 1);
  const bool sorted = op.node()->num_inputs() == 2;
  Output kept, unused;
  Output seen =
      GatherDroppingNegatives(s, Output(op.node(), 0), ids, data, &kept);
  auto selected = ops::LogicalAnd(s, ops::Equal(s, data, seen), kept);
  auto ones = ops::Cast(s, selected, BaseType(data.type()));
  Output ties = sorted
                    ? Output(ops::SegmentSum(s, ones, ids))
                    : Output(ops::UnsortedSegmentSum(s, ones, ids, In(op, 2)));
  Output share = GatherDroppingNegatives(s, ops::DivNoNan(s, g[0], ties), ids,
                                         data, &unused);
  dx->push_back(ops::SelectV2(s, selected, share, ops::ZerosLike(s, data)));
  for (int i = 1; i < op.node()->num_inputs(); ++i) dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("SegmentMax", SegmentMinMaxGrad);
RILL_REGISTER_GRADIENT_OP("SegmentMin", SegmentMinMaxGrad);
RILL_REGISTER_GRADIENT_OP("UnsortedSegmentMax", SegmentMinMaxGrad);
RILL_REGISTER_GRADIENT_OP("UnsortedSegmentMin", SegmentMinMaxGrad);

// UnsortedSegmentProd: each row's share is the product of the rest of its
// segment: the segment's product over the row where the row is not zero; the
// product of the segment's other (non-zero) rows where it is the one zero;
// zero where the segment holds two zeros or more.
absl::Status UnsortedSegmentProdGrad(const Scope& s, const Operation& op,
                                     const Grads& g, Grads* dx) {
  Output data = In(op, 0), ids = In(op, 1), n = In(op, 2);
  const DataType t = BaseType(data.type());
  auto is_zero = ops::Equal(s, data, ops::ZerosLike(s, data));
  auto zeros =
      ops::UnsortedSegmentSum(s, ops::Cast(s, is_zero, DT_INT32), ids, n);
  Output grad = ops::SelectV2(s, ops::Greater(s, zeros, 1),
                              ops::ZerosLike(s, g[0]), g[0]);
  Output non_zero = ops::SelectV2(s, is_zero, ops::OnesLike(s, data), data);
  auto non_zero_prod = ops::UnsortedSegmentProd(s, non_zero, ids, n);
  Output kept, unused;
  Output prod =
      GatherDroppingNegatives(s, Output(op.node(), 0), ids, data, &unused);
  Output others = GatherDroppingNegatives(s, non_zero_prod, ids, data, &unused);
  Output partial =
      ops::SelectV2(s, is_zero, others, ops::Div(s, prod, non_zero));
  Output gathered = GatherDroppingNegatives(s, grad, ids, data, &kept);
  dx->push_back(
      ops::Mul(s, ops::Mul(s, gathered, partial), ops::Cast(s, kept, t)));
  dx->push_back(Output());
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("UnsortedSegmentProd", UnsortedSegmentProdGrad);

// GatherNd and ScatterNd are each other's adjoints.
absl::Status GatherNdGrad(const Scope& s, const Operation& op, const Grads& g,
                          Grads* dx) {
  Output params = In(op, 0), indices = In(op, 1);
  dx->push_back(ops::ScatterNd(
      s, indices, g[0],
      ops::Shape(s, params, ops::Shape::OutType(indices.type()))));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("GatherNd", GatherNdGrad);

absl::Status ScatterNdGrad(const Scope& s, const Operation& op, const Grads& g,
                           Grads* dx) {
  dx->push_back(Output());
  dx->push_back(ops::GatherNd(s, g[0], In(op, 0)));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("ScatterNd", ScatterNdGrad);

// TopKV2: each value's gradient goes back to the position it came from.
absl::Status TopKGrad(const Scope& s, const Operation& op, const Grads& g,
                      Grads* dx) {
  Output x = In(op, 0);
  const DataType t = BaseType(x.type());
  auto n =
      ops::GatherV2(s, ops::Shape(s, x), ops::Sub(s, ops::Rank(s, x), 1), 0);
  auto from = ops::OneHot(s, Output(op.node(), 1), n, grad::Scalar(s, 1, t),
                          grad::Scalar(s, 0, t));
  auto dy = grad::GradOrZeros(s, op, g, 0);
  dx->push_back(
      ops::Sum(s, ops::Mul(s, ops::ExpandDims(s, dy, -1), from), {-2}));
  dx->push_back(Output());
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("TopKV2", TopKGrad);

// SparseTensorDenseMatMul: b's gradient is op(A)^T g (transposed back for
// adjoint_b); a value at (r, c) of op(A) gets g[r, :] . op(B)[c, :].
absl::Status SparseDenseMatMulGrad(const Scope& s, const Operation& op,
                                   const Grads& g, Grads* dx) {
  bool adjoint_a = false, adjoint_b = false;
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "adjoint_a", &adjoint_a));
  RETURN_IF_ERROR(GetAttr(op.node()->attrs(), "adjoint_b", &adjoint_b));
  Output indices = In(op, 0), values = In(op, 1), shape = In(op, 2);
  Output b = In(op, 3);
  Output db = ops::SparseTensorDenseMatMul(
      s, indices, values, shape, g[0],
      ops::SparseTensorDenseMatMul::AdjointA(!adjoint_a));
  if (adjoint_b) db = ops::Transpose(s, db, {1, 0});
  auto column = [&](int i) { return ops::GatherV2(s, indices, i, 1); };
  Output rows = column(adjoint_a ? 1 : 0), cols = column(adjoint_a ? 0 : 1);
  Output op_b = adjoint_b ? Output(ops::Transpose(s, b, {1, 0})) : b;
  auto dvalues = ops::Sum(s,
                          ops::Mul(s, ops::GatherV2(s, g[0], rows, 0),
                                   ops::GatherV2(s, op_b, cols, 0)),
                          {1});
  *dx = {Output(), dvalues, Output(), db};
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("SparseTensorDenseMatMul", SparseDenseMatMulGrad);

// SparseToDense: each value gets the gradient at its index (summed when
// one value fills them all); the default value gets the rest.
absl::Status SparseToDenseGrad(const Scope& s, const Operation& op,
                               const Grads& g, Grads* dx) {
  Output indices = In(op, 0), dims = In(op, 1), values = In(op, 2);
  auto tuples = ops::Reshape(
      s, indices,
      ops::ConcatV2(s, {ops::Const(s, {-1}), ops::Shape(s, dims)}, 0));
  Output at = ops::GatherNd(s, g[0], tuples);
  std::vector<Output> reduced;
  grad::ReduceToInputShapes(s, values, at, at, Output(), &reduced);
  auto all = [&](Output t) {
    return ops::Sum(s, t, ops::Range(s, 0, ops::Rank(s, t), 1));
  };
  *dx = {Output(), Output(), reduced[0], ops::Sub(s, all(g[0]), all(at))};
  return s.status();
}
RILL_REGISTER_GRADIENT_OP("SparseToDense", SparseToDenseGrad);

// Control flow: differentiating through cond and loops needs the gradient
// frames TensorFlow builds for them, which Rill does not have yet.
absl::Status ControlFlowGrad(const Scope& s, const Operation& op,
                             const Grads& g, Grads* dx) {
  return absl::UnimplementedError(
      absl::StrCat("gradients through ", op.node()->op(), " (node '",
                   op.node()->name(), "') are not implemented"));
}
RILL_REGISTER_GRADIENT_OP("Switch", ControlFlowGrad);
RILL_REGISTER_GRADIENT_OP("Merge", ControlFlowGrad);
RILL_REGISTER_GRADIENT_OP("RefSwitch", ControlFlowGrad);
RILL_REGISTER_GRADIENT_OP("RefMerge", ControlFlowGrad);
// TensorFlow 1 loops: their gradients are loops of their own (stacks of
// the forward values), which TensorFlow's client writes into its graphs.
RILL_REGISTER_GRADIENT_OP("Enter", ControlFlowGrad);
RILL_REGISTER_GRADIENT_OP("RefEnter", ControlFlowGrad);
RILL_REGISTER_GRADIENT_OP("Exit", ControlFlowGrad);
RILL_REGISTER_GRADIENT_OP("RefExit", ControlFlowGrad);
RILL_REGISTER_GRADIENT_OP("NextIteration", ControlFlowGrad);
RILL_REGISTER_GRADIENT_OP("RefNextIteration", ControlFlowGrad);
// Functional control flow and calls: TensorFlow's client writes their
// gradients into its graphs itself; Rill's C++ gradients do not yet.
RILL_REGISTER_GRADIENT_OP("If", ControlFlowGrad);
RILL_REGISTER_GRADIENT_OP("StatelessIf", ControlFlowGrad);
RILL_REGISTER_GRADIENT_OP("While", ControlFlowGrad);
RILL_REGISTER_GRADIENT_OP("StatelessWhile", ControlFlowGrad);
RILL_REGISTER_GRADIENT_OP("PartitionedCall", ControlFlowGrad);
RILL_REGISTER_GRADIENT_OP("StatefulPartitionedCall", ControlFlowGrad);

// Values in variants (TensorLists, Optionals): their gradients are lists
// and optionals of gradients, which Rill's gradient builder does not make
// yet. (TensorFlow-written graphs carry their own gradient ops, which run.)
absl::Status VariantGrad(const Scope& s, const Operation& op, const Grads& g,
                         Grads* dx) {
  return absl::UnimplementedError(absl::StrCat(
      "gradients through ", op.node()->op(), " (node '", op.node()->name(),
      "'): Rill's gradient builder does not differentiate through lists and "
      "optionals yet"));
}
RILL_REGISTER_GRADIENT_OP("TensorListFromTensor", VariantGrad);
RILL_REGISTER_GRADIENT_OP("TensorListPushBack", VariantGrad);
RILL_REGISTER_GRADIENT_OP("TensorListPopBack", VariantGrad);
RILL_REGISTER_GRADIENT_OP("TensorListSetItem", VariantGrad);
RILL_REGISTER_GRADIENT_OP("TensorListGetItem", VariantGrad);
RILL_REGISTER_GRADIENT_OP("TensorListStack", VariantGrad);
RILL_REGISTER_GRADIENT_OP("TensorListGather", VariantGrad);
RILL_REGISTER_GRADIENT_OP("TensorListScatterIntoExistingList", VariantGrad);
RILL_REGISTER_GRADIENT_OP("TensorListResize", VariantGrad);
RILL_REGISTER_GRADIENT_OP("OptionalFromValue", VariantGrad);
RILL_REGISTER_GRADIENT_OP("OptionalGetValue", VariantGrad);

// No gradient flows through these: their results are shapes, indices,
// constants, random draws or variable state, or they stop it on purpose.
RILL_REGISTER_NO_GRADIENT_OP("StopGradient");
// Step functions: TensorFlow gives them no gradient either.
RILL_REGISTER_NO_GRADIENT_OP("Floor");
RILL_REGISTER_NO_GRADIENT_OP("IsFinite");
RILL_REGISTER_NO_GRADIENT_OP("VariableShape");
RILL_REGISTER_NO_GRADIENT_OP("IsInf");
RILL_REGISTER_NO_GRADIENT_OP("IsNan");
RILL_REGISTER_NO_GRADIENT_OP("Ceil");
RILL_REGISTER_NO_GRADIENT_OP("Round");
RILL_REGISTER_NO_GRADIENT_OP("Rint");
RILL_REGISTER_NO_GRADIENT_OP("Shape");
RILL_REGISTER_NO_GRADIENT_OP("ShapeN");
RILL_REGISTER_NO_GRADIENT_OP("Size");
RILL_REGISTER_NO_GRADIENT_OP("Rank");
RILL_REGISTER_NO_GRADIENT_OP("ZerosLike");
RILL_REGISTER_NO_GRADIENT_OP("OnesLike");
RILL_REGISTER_NO_GRADIENT_OP("OneHot");
RILL_REGISTER_NO_GRADIENT_OP("InvertPermutation");
RILL_REGISTER_NO_GRADIENT_OP("BroadcastGradientArgs");
RILL_REGISTER_NO_GRADIENT_OP("Const");
RILL_REGISTER_NO_GRADIENT_OP("Placeholder");
RILL_REGISTER_NO_GRADIENT_OP("NoOp");
RILL_REGISTER_NO_GRADIENT_OP("RandomUniform");
RILL_REGISTER_NO_GRADIENT_OP("RandomStandardNormal");
RILL_REGISTER_NO_GRADIENT_OP("TruncatedNormal");
RILL_REGISTER_NO_GRADIENT_OP("RandomUniformInt");
RILL_REGISTER_NO_GRADIENT_OP("StatelessRandomUniform");
RILL_REGISTER_NO_GRADIENT_OP("StatelessRandomNormal");
RILL_REGISTER_NO_GRADIENT_OP("StatelessTruncatedNormal");
RILL_REGISTER_NO_GRADIENT_OP("StatelessRandomUniformInt");
RILL_REGISTER_NO_GRADIENT_OP("StatelessRandomUniformV2");
RILL_REGISTER_NO_GRADIENT_OP("StatelessRandomNormalV2");
RILL_REGISTER_NO_GRADIENT_OP("StatelessTruncatedNormalV2");
RILL_REGISTER_NO_GRADIENT_OP("StatelessRandomUniformIntV2");
RILL_REGISTER_NO_GRADIENT_OP("StatelessRandomGetKeyCounter");
RILL_REGISTER_NO_GRADIENT_OP("StatelessRandomGetKeyCounterAlg");
RILL_REGISTER_NO_GRADIENT_OP("StatelessRandomGetAlg");
RILL_REGISTER_NO_GRADIENT_OP("VariableV2");
RILL_REGISTER_NO_GRADIENT_OP("VarHandleOp");
RILL_REGISTER_NO_GRADIENT_OP("IsVariableInitialized");
RILL_REGISTER_NO_GRADIENT_OP("VarIsInitializedOp");
RILL_REGISTER_NO_GRADIENT_OP("Assign");
RILL_REGISTER_NO_GRADIENT_OP("AssignAdd");
RILL_REGISTER_NO_GRADIENT_OP("AssignSub");
RILL_REGISTER_NO_GRADIENT_OP("AssignVariableOp");
RILL_REGISTER_NO_GRADIENT_OP("AssignAddVariableOp");
RILL_REGISTER_NO_GRADIENT_OP("AssignSubVariableOp");
RILL_REGISTER_NO_GRADIENT_OP("ApplyGradientDescent");
RILL_REGISTER_NO_GRADIENT_OP("ApplyMomentum");
RILL_REGISTER_NO_GRADIENT_OP("ApplyAdam");
RILL_REGISTER_NO_GRADIENT_OP("ApplyAdagrad");
RILL_REGISTER_NO_GRADIENT_OP("ApplyRMSProp");
RILL_REGISTER_NO_GRADIENT_OP("ResourceApplyGradientDescent");
RILL_REGISTER_NO_GRADIENT_OP("ResourceApplyMomentum");
RILL_REGISTER_NO_GRADIENT_OP("ResourceApplyAdam");
RILL_REGISTER_NO_GRADIENT_OP("ResourceApplyAdagrad");
RILL_REGISTER_NO_GRADIENT_OP("ResourceApplyRMSProp");
RILL_REGISTER_NO_GRADIENT_OP("ApplyCenteredRMSProp");
RILL_REGISTER_NO_GRADIENT_OP("ResourceApplyCenteredRMSProp");
RILL_REGISTER_NO_GRADIENT_OP("ApplyAdadelta");
RILL_REGISTER_NO_GRADIENT_OP("ResourceApplyAdadelta");
RILL_REGISTER_NO_GRADIENT_OP("ApplyProximalAdagrad");
RILL_REGISTER_NO_GRADIENT_OP("ResourceApplyProximalAdagrad");
RILL_REGISTER_NO_GRADIENT_OP("ApplyProximalGradientDescent");
RILL_REGISTER_NO_GRADIENT_OP("ResourceApplyProximalGradientDescent");
RILL_REGISTER_NO_GRADIENT_OP("ApplyFtrl");
RILL_REGISTER_NO_GRADIENT_OP("ResourceApplyFtrl");
RILL_REGISTER_NO_GRADIENT_OP("ApplyFtrlV2");
RILL_REGISTER_NO_GRADIENT_OP("ResourceApplyFtrlV2");
RILL_REGISTER_NO_GRADIENT_OP("SaveV2");
RILL_REGISTER_NO_GRADIENT_OP("RestoreV2");
RILL_REGISTER_NO_GRADIENT_OP("MergeV2Checkpoints");
RILL_REGISTER_NO_GRADIENT_OP("ShardedFilename");
RILL_REGISTER_NO_GRADIENT_OP("ShardedFilespec");
RILL_REGISTER_NO_GRADIENT_OP("StringJoin");
RILL_REGISTER_NO_GRADIENT_OP("StaticRegexFullMatch");
RILL_REGISTER_NO_GRADIENT_OP("StringLength");
RILL_REGISTER_NO_GRADIENT_OP("StringStrip");
RILL_REGISTER_NO_GRADIENT_OP("StringLower");
RILL_REGISTER_NO_GRADIENT_OP("StringUpper");
RILL_REGISTER_NO_GRADIENT_OP("StringToHashBucketFast");
RILL_REGISTER_NO_GRADIENT_OP("StringToHashBucketStrong");
RILL_REGISTER_NO_GRADIENT_OP("Fingerprint");
RILL_REGISTER_NO_GRADIENT_OP("EncodeBase64");
RILL_REGISTER_NO_GRADIENT_OP("DecodeBase64");
RILL_REGISTER_NO_GRADIENT_OP("RegexFullMatch");
RILL_REGISTER_NO_GRADIENT_OP("StaticRegexReplace");
RILL_REGISTER_NO_GRADIENT_OP("RegexReplace");
RILL_REGISTER_NO_GRADIENT_OP("Substr");
RILL_REGISTER_NO_GRADIENT_OP("ReduceJoin");
RILL_REGISTER_NO_GRADIENT_OP("StringSplitV2");
RILL_REGISTER_NO_GRADIENT_OP("AsString");
RILL_REGISTER_NO_GRADIENT_OP("StringToNumber");
RILL_REGISTER_NO_GRADIENT_OP("ScalarSummary");
RILL_REGISTER_NO_GRADIENT_OP("HistogramSummary");
RILL_REGISTER_NO_GRADIENT_OP("MergeSummary");
RILL_REGISTER_NO_GRADIENT_OP("Where");
RILL_REGISTER_NO_GRADIENT_OP("LoopCond");
RILL_REGISTER_NO_GRADIENT_OP("ControlTrigger");
RILL_REGISTER_NO_GRADIENT_OP("TensorSliceDataset");
RILL_REGISTER_NO_GRADIENT_OP("TensorDataset");
RILL_REGISTER_NO_GRADIENT_OP("RangeDataset");
RILL_REGISTER_NO_GRADIENT_OP("MapDataset");
RILL_REGISTER_NO_GRADIENT_OP("RepeatDataset");
RILL_REGISTER_NO_GRADIENT_OP("TakeDataset");
RILL_REGISTER_NO_GRADIENT_OP("SkipDataset");
RILL_REGISTER_NO_GRADIENT_OP("BatchDatasetV2");
RILL_REGISTER_NO_GRADIENT_OP("ShuffleDataset");
RILL_REGISTER_NO_GRADIENT_OP("PrefetchDataset");
RILL_REGISTER_NO_GRADIENT_OP("CacheDataset");
RILL_REGISTER_NO_GRADIENT_OP("UnbatchDataset");
RILL_REGISTER_NO_GRADIENT_OP("ParallelMapDatasetV2");
RILL_REGISTER_NO_GRADIENT_OP("FilterDataset");
RILL_REGISTER_NO_GRADIENT_OP("FlatMapDataset");
RILL_REGISTER_NO_GRADIENT_OP("InterleaveDataset");
RILL_REGISTER_NO_GRADIENT_OP("ZipDataset");
RILL_REGISTER_NO_GRADIENT_OP("PaddedBatchDatasetV2");
RILL_REGISTER_NO_GRADIENT_OP("OneShotIterator");
RILL_REGISTER_NO_GRADIENT_OP("IteratorV2");
// Lookup tables: keys and values are data, not parameters.
RILL_REGISTER_NO_GRADIENT_OP("HashTableV2");
RILL_REGISTER_NO_GRADIENT_OP("LookupTableFindV2");
RILL_REGISTER_NO_GRADIENT_OP("LookupTableImportV2");
RILL_REGISTER_NO_GRADIENT_OP("InitializeTableV2");
RILL_REGISTER_NO_GRADIENT_OP("LookupTableSizeV2");
RILL_REGISTER_NO_GRADIENT_OP("MakeIterator");
RILL_REGISTER_NO_GRADIENT_OP("IteratorGetNext");
RILL_REGISTER_NO_GRADIENT_OP("IteratorToStringHandle");
RILL_REGISTER_NO_GRADIENT_OP("IteratorFromStringHandleV2");
RILL_REGISTER_NO_GRADIENT_OP("EmptyTensorList");
RILL_REGISTER_NO_GRADIENT_OP("TensorListReserve");
RILL_REGISTER_NO_GRADIENT_OP("TensorListLength");
RILL_REGISTER_NO_GRADIENT_OP("TensorListElementShape");
RILL_REGISTER_NO_GRADIENT_OP("OptionalNone");
RILL_REGISTER_NO_GRADIENT_OP("OptionalHasValue");
RILL_REGISTER_NO_GRADIENT_OP("UniformCandidateSampler");
RILL_REGISTER_NO_GRADIENT_OP("LogUniformCandidateSampler");
RILL_REGISTER_NO_GRADIENT_OP("AllCandidateSampler");
RILL_REGISTER_NO_GRADIENT_OP("ComputeAccidentalHits");
RILL_REGISTER_NO_GRADIENT_OP("_Send");
// Collectives carry gradients between replicas; none flows back through
// them (as in TensorFlow, which registers none).
RILL_REGISTER_NO_GRADIENT_OP("CollectiveReduceV2");
RILL_REGISTER_NO_GRADIENT_OP("CollectiveGatherV2");
RILL_REGISTER_NO_GRADIENT_OP("CollectiveBcastSendV2");
RILL_REGISTER_NO_GRADIENT_OP("CollectiveBcastRecvV2");
// Row updates of variables: state changes, not functions.
RILL_REGISTER_NO_GRADIENT_OP("ScatterAdd");
RILL_REGISTER_NO_GRADIENT_OP("ScatterSub");
RILL_REGISTER_NO_GRADIENT_OP("ScatterUpdate");
RILL_REGISTER_NO_GRADIENT_OP("ResourceScatterAdd");
RILL_REGISTER_NO_GRADIENT_OP("ResourceScatterSub");
RILL_REGISTER_NO_GRADIENT_OP("ResourceScatterUpdate");
RILL_REGISTER_NO_GRADIENT_OP("SparseApplyAdagrad");
RILL_REGISTER_NO_GRADIENT_OP("ResourceSparseApplyAdagrad");
RILL_REGISTER_NO_GRADIENT_OP("SparseApplyRMSProp");
RILL_REGISTER_NO_GRADIENT_OP("ResourceSparseApplyRMSProp");
RILL_REGISTER_NO_GRADIENT_OP("SparseApplyCenteredRMSProp");
RILL_REGISTER_NO_GRADIENT_OP("ResourceSparseApplyCenteredRMSProp");
RILL_REGISTER_NO_GRADIENT_OP("SparseApplyAdadelta");
RILL_REGISTER_NO_GRADIENT_OP("ResourceSparseApplyAdadelta");
RILL_REGISTER_NO_GRADIENT_OP("SparseApplyProximalAdagrad");
RILL_REGISTER_NO_GRADIENT_OP("ResourceSparseApplyProximalAdagrad");
RILL_REGISTER_NO_GRADIENT_OP("SparseApplyProximalGradientDescent");
RILL_REGISTER_NO_GRADIENT_OP("ResourceSparseApplyProximalGradientDescent");
RILL_REGISTER_NO_GRADIENT_OP("SparseApplyFtrl");
RILL_REGISTER_NO_GRADIENT_OP("ResourceSparseApplyFtrl");
RILL_REGISTER_NO_GRADIENT_OP("SparseApplyFtrlV2");
RILL_REGISTER_NO_GRADIENT_OP("ResourceSparseApplyFtrlV2");
RILL_REGISTER_NO_GRADIENT_OP("SparseApplyMomentum");
RILL_REGISTER_NO_GRADIENT_OP("ResourceSparseApplyMomentum");
RILL_REGISTER_NO_GRADIENT_OP("DisableCopyOnRead");
// Indices and offsets: integer bookkeeping (as in TensorFlow).
RILL_REGISTER_NO_GRADIENT_OP("Unique");
RILL_REGISTER_NO_GRADIENT_OP("ConcatOffset");
// Queues and accumulators: state, not functions of their inputs.
RILL_REGISTER_NO_GRADIENT_OP("FIFOQueueV2");
RILL_REGISTER_NO_GRADIENT_OP("QueueEnqueueV2");
RILL_REGISTER_NO_GRADIENT_OP("QueueEnqueueManyV2");
RILL_REGISTER_NO_GRADIENT_OP("QueueDequeueV2");
RILL_REGISTER_NO_GRADIENT_OP("QueueDequeueManyV2");
RILL_REGISTER_NO_GRADIENT_OP("QueueDequeueUpToV2");
RILL_REGISTER_NO_GRADIENT_OP("QueueCloseV2");
RILL_REGISTER_NO_GRADIENT_OP("QueueSizeV2");
RILL_REGISTER_NO_GRADIENT_OP("QueueIsClosedV2");
RILL_REGISTER_NO_GRADIENT_OP("ConditionalAccumulator");
RILL_REGISTER_NO_GRADIENT_OP("AccumulatorApplyGradient");
RILL_REGISTER_NO_GRADIENT_OP("AccumulatorTakeGradient");
RILL_REGISTER_NO_GRADIENT_OP("AccumulatorNumAccumulated");
RILL_REGISTER_NO_GRADIENT_OP("AccumulatorSetGlobalStep");
RILL_REGISTER_NO_GRADIENT_OP("ResourceConditionalAccumulator");
RILL_REGISTER_NO_GRADIENT_OP("ResourceAccumulatorApplyGradient");
RILL_REGISTER_NO_GRADIENT_OP("ResourceAccumulatorTakeGradient");
RILL_REGISTER_NO_GRADIENT_OP("ResourceAccumulatorNumAccumulated");
RILL_REGISTER_NO_GRADIENT_OP("ResourceAccumulatorSetGlobalStep");
RILL_REGISTER_NO_GRADIENT_OP("SparseConditionalAccumulator");
RILL_REGISTER_NO_GRADIENT_OP("SparseAccumulatorApplyGradient");
RILL_REGISTER_NO_GRADIENT_OP("SparseAccumulatorTakeGradient");
RILL_REGISTER_NO_GRADIENT_OP("_Recv");
RILL_REGISTER_NO_GRADIENT_OP("_Arg");
RILL_REGISTER_NO_GRADIENT_OP("_Retval");

}  // namespace
}  // namespace rill
