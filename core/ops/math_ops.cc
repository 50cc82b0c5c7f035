// Math ops: element-wise arithmetic with broadcasting, comparisons, logic,
// casts, matrix products, reductions and ranges. Schemas follow TensorFlow's.
#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/ops/type_sets.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

using shape_fns::BroadcastBinaryOp;
using shape_fns::UnchangedShape;

// Declares a binary op "z = op(x, y)" of dtype attr T with broadcasting.
struct BinaryFlags {
  bool commutative = false;
  bool aggregate = false;
};
void RegisterBinary(const char* name, const std::string& types,
                    BinaryFlags flags = {}, const char* out = "z: T") {
  OpDefBuilder b(name);
  b.Input("x: T").Input("y: T").Output(out).Attr(absl::StrCat("T: ", types));
  if (flags.commutative) b.SetIsCommutative();
  if (flags.aggregate) b.SetIsAggregate();
  b.SetShapeFn(BroadcastBinaryOp);
  op_registry_internal::Registrar registrar(b);
}

// Declares a unary element-wise op "y = op(x)".
void RegisterUnary(const char* name, const std::string& types) {
  op_registry_internal::Registrar registrar(
      OpDefBuilder(name)
          .Input("x: T")
          .Output("y: T")
          .Attr(absl::StrCat("T: ", types))
          .SetShapeFn(UnchangedShape));
}

// Declares a gradient helper "z = op(y, dy)" of equal shapes.
void RegisterUnaryGrad(const char* name, const std::string& types) {
  op_registry_internal::Registrar registrar(
      OpDefBuilder(name)
          .Input("y: T")
          .Input("dy: T")
          .Output("z: T")
          .Attr(absl::StrCat("T: ", types))
          .SetShapeFn(shape_fns::MergeAllInputs));
}

// Declares a reduction "output = op(input, reduction_indices)".
void RegisterReduction(const char* name, const std::string& types) {
  op_registry_internal::Registrar registrar(
      OpDefBuilder(name)
          .Input("input: T")
          .Input("reduction_indices: Tidx")
          .Output("output: T")
          .Attr("keep_dims: bool = false")
          .Attr(absl::StrCat("T: ", types))
          .Attr("Tidx: {int32, int64} = DT_INT32")
          .SetShapeFn(shape_fns::Reduction));
}

absl::Status MatMulShape(InferenceContext* c) {
  ASSIGN_OR_RETURN(PartialTensorShape a, c->WithRank(0, 2));
  ASSIGN_OR_RETURN(PartialTensorShape b, c->WithRank(1, 2));
  bool ta = false, tb = false;
  RETURN_IF_ERROR(c->GetAttr("transpose_a", &ta));
  RETURN_IF_ERROR(c->GetAttr("transpose_b", &tb));
  const int64_t m = a.dim_size(ta ? 1 : 0), ka = a.dim_size(ta ? 0 : 1);
  const int64_t kb = b.dim_size(tb ? 1 : 0), n = b.dim_size(tb ? 0 : 1);
  if (ka >= 0 && kb >= 0 && ka != kb) {
    return c->Error(absl::StrCat(
        "matrix size-incompatible: a", ta ? "^T" : "", " is ", m, "x", ka,
        " and b", tb ? "^T" : "", " is ", kb, "x", n, " (shapes ",
        c->input(0).DebugString(), " and ", c->input(1).DebugString(), ")"));
  }
  c->set_output(0, PartialTensorShape({m, n}));
  return absl::OkStatus();
}

absl::Status BatchMatMulV2Shape(InferenceContext* c) {
  RETURN_IF_ERROR(c->WithRankAtLeast(0, 2));
  RETURN_IF_ERROR(c->WithRankAtLeast(1, 2));
  const PartialTensorShape& x = c->input(0);
  const PartialTensorShape& y = c->input(1);
  if (x.unknown_rank() || y.unknown_rank()) {
    c->set_output(0, PartialTensorShape::UnknownRank());
    return absl::OkStatus();
  }
  bool adj_x = false, adj_y = false;
  RETURN_IF_ERROR(c->GetAttr("adj_x", &adj_x));
  RETURN_IF_ERROR(c->GetAttr("adj_y", &adj_y));
  const int rx = x.dims(), ry = y.dims();
  const int64_t m = x.dim_size(adj_x ? rx - 1 : rx - 2);
  const int64_t kx = x.dim_size(adj_x ? rx - 2 : rx - 1);
  const int64_t ky = y.dim_size(adj_y ? ry - 1 : ry - 2);
  const int64_t n = y.dim_size(adj_y ? ry - 2 : ry - 1);
  if (kx >= 0 && ky >= 0 && kx != ky) {
    return c->Error(absl::StrCat("matrix size-incompatible: shapes ",
                                 x.DebugString(), " and ", y.DebugString()));
  }
  DimVector bx(x.dim_sizes().begin(), x.dim_sizes().end() - 2);
  DimVector by(y.dim_sizes().begin(), y.dim_sizes().end() - 2);
  ASSIGN_OR_RETURN(PartialTensorShape px, PartialTensorShape::Create(bx));
  ASSIGN_OR_RETURN(PartialTensorShape py, PartialTensorShape::Create(by));
  absl::StatusOr<PartialTensorShape> batch = BroadcastShapes(px, py);
  if (!batch.ok()) return c->Error(batch.status().message());
  PartialTensorShape out = *batch;
  out.AddDim(m);
  out.AddDim(n);
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status SelectShape(InferenceContext* c) {
  const PartialTensorShape& cond = c->input(0);
  absl::StatusOr<PartialTensorShape> te = c->input(1).Merge(c->input(2));
  if (!te.ok()) {
    return c->Error(absl::StrCat("t and e must have the same shape: ",
                                 te.status().message()));
  }
  // Select's condition is either of t's shape or a vector along t's dim 0.
  if (!cond.unknown_rank() && !te->unknown_rank() && cond.dims() == 1 &&
      te->dims() > 1) {
    if (cond.dim_size(0) >= 0 && te->dim_size(0) >= 0 &&
        cond.dim_size(0) != te->dim_size(0)) {
      return c->Error("condition vector must match the first dimension of t");
    }
  } else if (!cond.IsCompatibleWith(*te)) {
    return c->Error(absl::StrCat("condition of shape ", cond.DebugString(),
                                 " does not match t of shape ",
                                 te->DebugString()));
  }
  c->set_output(0, *te);
  return absl::OkStatus();
}

absl::Status SelectV2Shape(InferenceContext* c) {
  absl::StatusOr<PartialTensorShape> te =
      BroadcastShapes(c->input(1), c->input(2));
  if (!te.ok()) return c->Error(te.status().message());
  absl::StatusOr<PartialTensorShape> out = BroadcastShapes(c->input(0), *te);
  if (!out.ok()) return c->Error(out.status().message());
  c->set_output(0, *out);
  return absl::OkStatus();
}

absl::Status ArgMinMaxShape(InferenceContext* c) {
  const PartialTensorShape& in = c->input(0);
  RETURN_IF_ERROR(c->WithRank(1, 0).status());
  ASSIGN_OR_RETURN(auto dim, c->ConstantInts(1));
  if (in.unknown_rank()) {
    c->set_output(0, in);
    return absl::OkStatus();
  }
  if (in.dims() == 0) return c->Error("input must have rank >= 1");
  if (!dim.has_value()) {
    c->set_output(0, PartialTensorShape::UnknownDims(in.dims() - 1));
    return absl::OkStatus();
  }
  absl::StatusOr<int> axis = CanonicalAxis((*dim)[0], in.dims());
  if (!axis.ok()) return c->Error(axis.status().message());
  PartialTensorShape out = PartialTensorShape::Scalar();
  for (int i = 0; i < in.dims(); ++i) {
    if (i != *axis) out.AddDim(in.dim_size(i));
  }
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status CastShape(InferenceContext* c) { return UnchangedShape(c); }

[[maybe_unused]] const bool kRegistered = [] {
  using namespace type_sets;  // NOLINT: the type-set names read as prose.
  RegisterBinary("Add",
                 "{bfloat16, half, float, double, uint8, int8, int16, int32, "
                 "int64, complex64, complex128, string}");
  RegisterBinary("AddV2", kBinaryArithmetic,
                 {.commutative = true, .aggregate = true});
  RegisterBinary("Sub", kBinaryArithmetic);
  RegisterBinary("Mul", kBinaryArithmetic, {.commutative = true});
  RegisterBinary("RealDiv", kBinaryArithmetic);
  RegisterBinary("Div", kBinaryArithmetic);
  RegisterBinary("FloorDiv", kBinaryArithmetic);
  RegisterBinary("FloorMod",
                 "{int8, int16, int32, int64, uint8, uint16, uint32, uint64, "
                 "bfloat16, half, float, double}");
  RegisterBinary("Maximum", kReal);
  RegisterBinary("Minimum", kReal);
  RegisterBinary("Pow",
                 "{bfloat16, float, half, double, int8, int16, int32, int64, "
                 "complex64, complex128}");
  RegisterBinary("SquaredDifference",
                 "{bfloat16, half, float, double, int32, int64, complex64, "
                 "complex128}",
                 {.commutative = true});
  RegisterBinary("DivNoNan",
                 "{half, float, bfloat16, double, complex64, complex128}");
  RegisterBinary("Less", kReal, {}, "z: bool");
  RegisterBinary("LessEqual", kReal, {}, "z: bool");
  RegisterBinary("Greater", kReal, {}, "z: bool");
  RegisterBinary("GreaterEqual", kReal, {}, "z: bool");

  RegisterUnary("Neg", kSigned);
  RegisterUnary("Abs",
                "{bfloat16, half, float, double, int8, int16, int32, int64}");
  RegisterUnary("Square",
                "{bfloat16, half, float, double, int8, int16, int32, int64, "
                "uint8, uint16, uint32, uint64, complex64, complex128}");
  for (const char* op :
       {"Sqrt", "Rsqrt", "Exp", "Log", "Log1p", "Tanh", "Sigmoid"}) {
    RegisterUnary(op, kFloatAndComplex);
  }
  for (const char* op : {"Floor", "Ceil", "Rint", "Erf", "Erfc"}) {
    RegisterUnary(op, kFloat);
  }
  RegisterUnary("Round",
                "{bfloat16, half, float, double, int8, int16, int32, int64, "
                "complex64, complex128}");
  RegisterUnary("Sign", kSigned);
  RegisterUnary("Reciprocal", kSigned);
  RegisterUnary("Inv", kSigned);  // Reciprocal's old name.
  for (const char* op : {"Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh",
                         "Cosh", "Asinh", "Acosh", "Atanh", "Expm1"}) {
    RegisterUnary(op, kFloatAndComplex);
  }
  for (const char* op :
       {"TanhGrad", "SigmoidGrad", "SqrtGrad", "RsqrtGrad", "ReciprocalGrad"}) {
    RegisterUnaryGrad(op, kFloatAndComplex);
  }
  for (const char* op : {"Sum", "Mean", "Prod"}) RegisterReduction(op, kNumber);
  // Logical and / or over axes.
  for (const char* op : {"All", "Any"}) {
    op_registry_internal::Registrar registrar(
        OpDefBuilder(op)
            .Input("input: bool")
            .Input("reduction_indices: Tidx")
            .Output("output: bool")
            .Attr("keep_dims: bool = false")
            .Attr("Tidx: {int32, int64} = DT_INT32")
            .SetShapeFn(shape_fns::Reduction));
  }
  for (const char* op : {"Max", "Min"}) {
    RegisterReduction(op, kRealAndQuantized);
  }
  return true;
}();

// The bucket of each element: how many boundaries are <= it.
RILL_REGISTER_OP("Bucketize")
    .Input("input: T")
    .Output("output: int32")
    .Attr("T: {int32, int64, float, double}")
    .Attr("boundaries: list(float)")
    .SetShapeFn(UnchangedShape);

// atan2(y, x), TensorFlow's argument order.
RILL_REGISTER_OP("Atan2")
    .Input("y: T")
    .Input("x: T")
    .Output("z: T")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn(BroadcastBinaryOp);

// sum(t^2) / 2.
RILL_REGISTER_OP("L2Loss")
    .Input("t: T")
    .Output("output: T")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn([](InferenceContext* c) {
      c->set_output(0, PartialTensorShape::Scalar());
      return absl::OkStatus();
    });

RILL_REGISTER_OP("AddN")
    .Input("inputs: N * T")
    .Output("sum: T")
    .Attr("N: int >= 1")
    .Attr(
        "T: {float, double, int32, uint8, int16, int8, complex64, int64, "
        "qint8, quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, "
        "half, uint32, uint64, variant}")
    .SetIsCommutative()
    .SetIsAggregate()
    .SetShapeFn(shape_fns::MergeAllInputs);

RILL_REGISTER_OP("Cast")
    .Input("x: SrcT")
    .Output("y: DstT")
    .Attr("SrcT: type")
    .Attr("DstT: type")
    .Attr("Truncate: bool = false")
    .SetShapeFn(CastShape);

RILL_REGISTER_OP("Equal")
    .Input("x: T")
    .Input("y: T")
    .Output("z: bool")
    .Attr("T: type")
    .Attr("incompatible_shape_error: bool = true")
    .SetIsCommutative()
    .SetShapeFn(BroadcastBinaryOp);

RILL_REGISTER_OP("NotEqual")
    .Input("x: T")
    .Input("y: T")
    .Output("z: bool")
    .Attr("T: type")
    .Attr("incompatible_shape_error: bool = true")
    .SetIsCommutative()
    .SetShapeFn(BroadcastBinaryOp);

RILL_REGISTER_OP("LogicalAnd")
    .Input("x: bool")
    .Input("y: bool")
    .Output("z: bool")
    .SetIsCommutative()
    .SetShapeFn(BroadcastBinaryOp);

RILL_REGISTER_OP("LogicalOr")
    .Input("x: bool")
    .Input("y: bool")
    .Output("z: bool")
    .SetIsCommutative()
    .SetShapeFn(BroadcastBinaryOp);

RILL_REGISTER_OP("IsFinite")
    .Input("x: T")
    .Output("y: bool")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("IsInf")
    .Input("x: T")
    .Output("y: bool")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("IsNan")
    .Input("x: T")
    .Output("y: bool")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("LogicalNot")
    .Input("x: bool")
    .Output("y: bool")
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("Select")
    .Input("condition: bool")
    .Input("t: T")
    .Input("e: T")
    .Output("output: T")
    .Attr("T: type")
    .SetShapeFn(SelectShape);

RILL_REGISTER_OP("SelectV2")
    .Input("condition: bool")
    .Input("t: T")
    .Input("e: T")
    .Output("output: T")
    .Attr("T: type")
    .SetShapeFn(SelectV2Shape);

RILL_REGISTER_OP("MatMul")
    .Input("a: T")
    .Input("b: T")
    .Output("product: T")
    .Attr("transpose_a: bool = false")
    .Attr("transpose_b: bool = false")
    .Attr(
        "T: {bfloat16, half, float, double, int32, int64, uint8, uint16, "
        "uint32, uint64, complex64, complex128}")
    .Attr("grad_a: bool = false")
    .Attr("grad_b: bool = false")
    .SetShapeFn(MatMulShape);

RILL_REGISTER_OP("BatchMatMulV2")
    .Input("x: T")
    .Input("y: T")
    .Output("output: T")
    .Attr(
        "T: {bfloat16, half, float, double, int16, int32, int64, uint8, "
        "uint16, uint32, uint64, complex64, complex128}")
    .Attr("adj_x: bool = false")
    .Attr("adj_y: bool = false")
    .Attr("grad_x: bool = false")
    .Attr("grad_y: bool = false")
    .SetShapeFn(BatchMatMulV2Shape);

RILL_REGISTER_OP("ArgMax")
    .Input("input: T")
    .Input("dimension: Tidx")
    .Output("output: output_type")
    .Attr(
        "T: {float, double, int32, uint8, int16, int8, int64, bfloat16, "
        "uint16, half, uint32, uint64, qint8, quint8, qint32, qint16, "
        "quint16, bool}")
    .Attr("Tidx: {int16, int32, int64} = DT_INT32")
    .Attr("output_type: {int16, uint16, int32, int64} = DT_INT64")
    .SetShapeFn(ArgMinMaxShape);

RILL_REGISTER_OP("ArgMin")
    .Input("input: T")
    .Input("dimension: Tidx")
    .Output("output: output_type")
    .Attr(
        "T: {float, double, int32, uint8, int16, int8, int64, bfloat16, "
        "uint16, half, uint32, uint64, qint8, quint8, qint32, qint16, "
        "quint16, bool}")
    .Attr("Tidx: {int32, int64} = DT_INT32")
    .Attr("output_type: {int32, int64} = DT_INT64")
    .SetShapeFn(ArgMinMaxShape);

// data [ids..., rest...] summed into [num_segments, rest...] by segment id.
absl::Status UnsortedSegmentSumShape(InferenceContext* c) {
  const PartialTensorShape& data = c->input(0);
  const PartialTensorShape& ids = c->input(1);
  RETURN_IF_ERROR(c->WithRank(2, 0).status());
  ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> n, c->ConstantInts(2));
  PartialTensorShape out({n.has_value() ? (*n)[0] : -1});
  if (data.unknown_rank() || ids.unknown_rank()) {
    c->set_output(0, PartialTensorShape());
    return absl::OkStatus();
  }
  if (ids.dims() > data.dims()) {
    return c->Error(absl::StrCat("segment_ids has rank ", ids.dims(),
                                 ", more than data's ", data.dims()));
  }
  for (int d = 0; d < ids.dims(); ++d) {
    if (ids.dim_size(d) >= 0 && data.dim_size(d) >= 0 &&
        ids.dim_size(d) != data.dim_size(d)) {
      return c->Error(absl::StrCat("segment_ids shape ", ids.DebugString(),
                                   " is not a prefix of data shape ",
                                   data.DebugString()));
    }
  }
  for (int d = ids.dims(); d < data.dims(); ++d) out.AddDim(data.dim_size(d));
  c->set_output(0, out);
  return absl::OkStatus();
}

RILL_REGISTER_OP("UnsortedSegmentSum")
    .Input("data: T")
    .Input("segment_ids: Tindices")
    .Input("num_segments: Tnumsegments")
    .Output("output: T")
    .Attr(absl::StrCat("T: ", type_sets::kNumber))
    .Attr("Tindices: {int16, int32, int64}")
    .Attr("Tnumsegments: {int32, int64} = DT_INT32")
    .SetShapeFn(UnsortedSegmentSumShape);

// Unsorted segment max and min: an empty segment holds the type's lowest
// (max) or highest (min) value. Prod: an empty segment holds 1.
[[maybe_unused]] const bool kUnsortedSegmentMinMax = [] {
  for (const char* name : {"UnsortedSegmentMax", "UnsortedSegmentMin"}) {
    op_registry_internal::Registrar registrar(
        OpDefBuilder(name)
            .Input("data: T")
            .Input("segment_ids: Tindices")
            .Input("num_segments: Tnumsegments")
            .Output("output: T")
            .Attr(absl::StrCat("T: ", type_sets::kReal))
            .Attr("Tindices: {int32, int64}")
            .Attr("Tnumsegments: {int32, int64} = DT_INT32")
            .SetShapeFn(UnsortedSegmentSumShape));
  }
  return true;
}();

RILL_REGISTER_OP("UnsortedSegmentProd")
    .Input("data: T")
    .Input("segment_ids: Tindices")
    .Input("num_segments: Tnumsegments")
    .Output("output: T")
    .Attr(absl::StrCat("T: ", type_sets::kNumber))
    .Attr("Tindices: {int32, int64}")
    .Attr("Tnumsegments: {int32, int64} = DT_INT32")
    .SetShapeFn(UnsortedSegmentSumShape);

// Sorted segments: data [n, rest...] by ids [n] into [segments, rest...];
// how many segments there are is known only from the ids' values.
absl::Status SegmentShape(InferenceContext* c) {
  const PartialTensorShape& data = c->input(0);
  RETURN_IF_ERROR(c->WithRank(1, 1).status());
  RETURN_IF_ERROR(c->WithRankAtLeast(0, 1));
  if (data.unknown_rank()) {
    c->set_output(0, PartialTensorShape());
    return absl::OkStatus();
  }
  PartialTensorShape out({-1});
  for (int d = 1; d < data.dims(); ++d) out.AddDim(data.dim_size(d));
  c->set_output(0, out);
  return absl::OkStatus();
}

void RegisterSegmentOp(const char* name, const char* types) {
  op_registry_internal::Registrar registrar(
      OpDefBuilder(name)
          .Input("data: T")
          .Input("segment_ids: Tindices")
          .Output("output: T")
          .Attr(absl::StrCat("T: ", types))
          .Attr("Tindices: {int32, int64}")
          .SetShapeFn(SegmentShape));
}

// Sparse segments: rows `indices` of data summed (averaged, divided by
// the square root of their count) into the sorted segments of
// segment_ids: what embedding_lookup_sparse computes.
void RegisterSparseSegmentOp(const char* name, const char* types) {
  op_registry_internal::Registrar registrar(
      OpDefBuilder(name)
          .Input("data: T")
          .Input("indices: Tidx")
          .Input("segment_ids: Tsegmentids")
          .Output("output: T")
          .Attr(absl::StrCat("T: ", types))
          .Attr("Tidx: {int32, int64} = DT_INT32")
          .Attr("Tsegmentids: {int32, int64} = DT_INT32")
          .Attr("sparse_gradient: bool = false")
          .SetShapeFn([](InferenceContext* c) -> absl::Status {
            RETURN_IF_ERROR(c->WithRank(1, 1).status());
            RETURN_IF_ERROR(c->WithRank(2, 1).status());
            RETURN_IF_ERROR(c->WithRankAtLeast(0, 1));
            const PartialTensorShape& data = c->input(0);
            PartialTensorShape out;
            if (!data.unknown_rank()) {
              out = PartialTensorShape({-1});
              for (int d = 1; d < data.dims(); ++d)
                out.AddDim(data.dim_size(d));
            }
            c->set_output(0, out);
            return absl::OkStatus();
          }));
}

// Their gradients: grad's segment rows sent back to rows `indices` of an
// [output_dim0, ...] result.
void RegisterSparseSegmentGradOp(const char* name) {
  op_registry_internal::Registrar registrar(
      OpDefBuilder(name)
          .Input("grad: T")
          .Input("indices: Tidx")
          .Input("segment_ids: Tsegmentids")
          .Input("output_dim0: int32")
          .Output("output: T")
          .Attr(absl::StrCat("T: ", type_sets::kFloat))
          .Attr("Tidx: {int32, int64} = DT_INT32")
          .Attr("Tsegmentids: {int32, int64} = DT_INT32")
          .SetShapeFn([](InferenceContext* c) -> absl::Status {
            ASSIGN_OR_RETURN(auto dim0, c->ConstantInts(3));
            const PartialTensorShape& grad = c->input(0);
            PartialTensorShape out;
            if (!grad.unknown_rank()) {
              out = PartialTensorShape(
                  {dim0.has_value() && dim0->size() == 1 ? (*dim0)[0] : -1});
              for (int d = 1; d < grad.dims(); ++d)
                out.AddDim(grad.dim_size(d));
            }
            c->set_output(0, out);
            return absl::OkStatus();
          }));
}

// The same gradients as rows of the sorted unique indices only (an
// IndexedSlices of dense_output_dim0 rows): the form TensorFlow writes
// when the forward op has sparse_gradient set.
void RegisterSparseSegmentGradV2Op(const char* name) {
  op_registry_internal::Registrar registrar(
      OpDefBuilder(name)
          .Input("grad: T")
          .Input("indices: Tidx")
          .Input("segment_ids: Tsegmentids")
          .Input("dense_output_dim0: int32")
          .Output("output: T")
          .Output("sorted_unique_indices: Tidx")
          .Attr(absl::StrCat("T: ", type_sets::kFloat))
          .Attr("Tidx: {int32, int64} = DT_INT32")
          .Attr("Tsegmentids: {int32, int64} = DT_INT32")
          .SetShapeFn([](InferenceContext* c) -> absl::Status {
            const PartialTensorShape& grad = c->input(0);
            PartialTensorShape out;
            if (!grad.unknown_rank()) {
              out = PartialTensorShape({-1});
              for (int d = 1; d < grad.dims(); ++d)
                out.AddDim(grad.dim_size(d));
            }
            c->set_output(0, out);
            c->set_output(1, PartialTensorShape({-1}));
            return absl::OkStatus();
          }));
}

[[maybe_unused]] const bool kSegmentOps = [] {
  for (const char* op : {"SparseSegmentSumGradV2", "SparseSegmentMeanGradV2",
                         "SparseSegmentSqrtNGradV2"}) {
    RegisterSparseSegmentGradV2Op(op);
  }
  RegisterSparseSegmentOp("SparseSegmentSum", type_sets::kReal);
  RegisterSparseSegmentOp("SparseSegmentMean", type_sets::kFloat);
  RegisterSparseSegmentOp("SparseSegmentSqrtN", type_sets::kFloat);
  for (const char* op : {"SparseSegmentSumGrad", "SparseSegmentMeanGrad",
                         "SparseSegmentSqrtNGrad"}) {
    RegisterSparseSegmentGradOp(op);
  }
  RegisterSegmentOp("SegmentSum", type_sets::kNumber);
  RegisterSegmentOp("SegmentMean", type_sets::kNumber);
  RegisterSegmentOp("SegmentMax", type_sets::kReal);
  RegisterSegmentOp("SegmentMin", type_sets::kReal);
  return true;
}();

// Cumsum and Cumprod along one axis.
void RegisterScan(const char* name) {
  op_registry_internal::Registrar registrar(
      OpDefBuilder(name)
          .Input("x: T")
          .Input("axis: Tidx")
          .Output("out: T")
          .Attr("exclusive: bool = false")
          .Attr("reverse: bool = false")
          .Attr(absl::StrCat("T: ", type_sets::kNumber))
          .Attr("Tidx: {int32, int64} = DT_INT32")
          .SetShapeFn([](InferenceContext* c) -> absl::Status {
            RETURN_IF_ERROR(c->WithRank(1, 0).status());
            return UnchangedShape(c);
          }));
}

[[maybe_unused]] const bool kScansRegistered = [] {
  RegisterScan("Cumsum");
  RegisterScan("Cumprod");
  return true;
}();

}  // namespace
}  // namespace rill
