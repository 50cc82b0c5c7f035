// String ops with TensorFlow's schemas: joins, lengths, substrings,
// splitting, case and whitespace, regular expressions (RE2's syntax, as
// TensorFlow's), numbers to and from text, base64, and hashing into buckets
// with TensorFlow's hashes (FarmHash's fingerprint, keyed SipHash).
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

// Ops from strings to one value each, of the input's shape.
[[maybe_unused]] const bool kElementwise = [] {
  struct Elementwise {
    const char* name;
    const char* output;
  };
  for (const Elementwise& e : {Elementwise{"StringStrip", "output: string"},
                               Elementwise{"DecodeBase64", "output: string"}}) {
    op_registry_internal::Registrar registrar(
        OpDefBuilder(e.name)
            .Input("input: string")
            .Output(e.output)
            .SetShapeFn(shape_fns::UnchangedShape));
  }
  for (const char* name : {"StringLower", "StringUpper"}) {
    op_registry_internal::Registrar registrar(
        OpDefBuilder(name)
            .Input("input: string")
            .Output("output: string")
            .Attr("encoding: string = ''")
            .SetShapeFn(shape_fns::UnchangedShape));
  }
  return true;
}();

RILL_REGISTER_OP("StringLength")
    .Input("input: string")
    .Output("output: int32")
    .Attr("unit: {'BYTE', 'UTF8_CHAR'} = 'BYTE'")
    .SetShapeFn(shape_fns::UnchangedShape);

RILL_REGISTER_OP("EncodeBase64")
    .Input("input: string")
    .Output("output: string")
    .Attr("pad: bool = false")
    .SetShapeFn(shape_fns::UnchangedShape);

RILL_REGISTER_OP("StringToHashBucketFast")
    .Input("input: string")
    .Output("output: int64")
    .Attr("num_buckets: int >= 1")
    .SetShapeFn(shape_fns::UnchangedShape);

RILL_REGISTER_OP("StringToHashBucketStrong")
    .Input("input: string")
    .Output("output: int64")
    .Attr("num_buckets: int >= 1")
    .Attr("key: list(int)")
    .SetShapeFn(shape_fns::UnchangedShape);

RILL_REGISTER_OP("AsString")
    .Input("input: T")
    .Output("output: string")
    .Attr(
        "T: {float, double, int32, uint8, int16, int8, int64, bfloat16, "
        "uint16, half, uint32, uint64, complex64, complex128, bool, variant, "
        "string}")
    .Attr("precision: int = -1")
    .Attr("scientific: bool = false")
    .Attr("shortest: bool = false")
    .Attr("width: int = -1")
    .Attr("fill: string = ''")
    .SetShapeFn(shape_fns::UnchangedShape);

RILL_REGISTER_OP("StringToNumber")
    .Input("string_tensor: string")
    .Output("output: out_type")
    .Attr("out_type: {float, double, int32, int64, uint32, uint64} = DT_FLOAT")
    .SetShapeFn(shape_fns::UnchangedShape);

RILL_REGISTER_OP("StaticRegexFullMatch")
    .Input("input: string")
    .Output("output: bool")
    .Attr("pattern: string")
    .SetShapeFn(shape_fns::UnchangedShape);

RILL_REGISTER_OP("StaticRegexReplace")
    .Input("input: string")
    .Output("output: string")
    .Attr("pattern: string")
    .Attr("rewrite: string")
    .Attr("replace_global: bool = true")
    .SetShapeFn(shape_fns::UnchangedShape);

// Input 0's shape; inputs 1 and on are scalars.
absl::Status ShapeWithScalarArgs(InferenceContext* c) {
  for (int i = 1; i < c->num_inputs(); ++i) {
    RETURN_IF_ERROR(c->WithRank(i, 0).status());
  }
  c->set_output(0, c->input(0));
  return absl::OkStatus();
}

RILL_REGISTER_OP("RegexFullMatch")
    .Input("input: string")
    .Input("pattern: string")
    .Output("output: bool")
    .SetShapeFn(ShapeWithScalarArgs);

RILL_REGISTER_OP("RegexReplace")
    .Input("input: string")
    .Input("pattern: string")
    .Input("rewrite: string")
    .Output("output: string")
    .Attr("replace_global: bool = true")
    .SetShapeFn(ShapeWithScalarArgs);

// The inputs are scalars or of one shape; scalars repeat to it.
RILL_REGISTER_OP("StringJoin")
    .Input("inputs: N * string")
    .Attr("N: int >= 0")
    .Attr("separator: string = ''")
    .Output("output: string")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      // The first input that is not a scalar; the others must agree.
      std::optional<PartialTensorShape> out;
      for (int i = 0; i < c->num_inputs(); ++i) {
        const PartialTensorShape& in = c->input(i);
        if (in.dims() == 0) continue;
        if (!out.has_value() || out->unknown_rank()) {
          out = in;
        } else if (!out->IsCompatibleWith(in)) {
          return c->Error(absl::StrCat("input ", i, " has shape ",
                                       in.DebugString(), ", the others ",
                                       out->DebugString()));
        }
      }
      c->set_output(0, out.value_or(PartialTensorShape::Scalar()));
      return absl::OkStatus();
    });

// pos and len have one shape, broadcast against the input's.
RILL_REGISTER_OP("Substr")
    .Input("input: string")
    .Input("pos: T")
    .Input("len: T")
    .Output("output: string")
    .Attr("T: {int32, int64}")
    .Attr("unit: {'BYTE', 'UTF8_CHAR'} = 'BYTE'")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      if (!c->input(1).IsCompatibleWith(c->input(2))) {
        return c->Error(absl::StrCat(
            "pos has shape ", c->input(1).DebugString(), " and len ",
            c->input(2).DebugString(), "; they must be of one shape"));
      }
      ASSIGN_OR_RETURN(PartialTensorShape out,
                       BroadcastShapes(c->input(0), c->input(1)));
      c->set_output(0, std::move(out));
      return absl::OkStatus();
    });

// The input with the reduced dimensions removed (or kept as 1).
RILL_REGISTER_OP("ReduceJoin")
    .Input("inputs: string")
    .Input("reduction_indices: int32")
    .Output("output: string")
    .Attr("keep_dims: bool = false")
    .Attr("separator: string = ''")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      bool keep_dims = false;
      RETURN_IF_ERROR(c->GetAttr("keep_dims", &keep_dims));
      const PartialTensorShape& in = c->input(0);
      ASSIGN_OR_RETURN(auto axes, c->ConstantInts(1));
      if (!axes.has_value() || in.unknown_rank()) {
        c->set_output(0, keep_dims && !in.unknown_rank()
                             ? PartialTensorShape::UnknownDims(in.dims())
                             : PartialTensorShape());
        return absl::OkStatus();
      }
      std::vector<bool> reduced(in.dims(), false);
      for (int64_t axis : *axes) {
        ASSIGN_OR_RETURN(int d, CanonicalAxis(axis, in.dims()));
        reduced[d] = true;
      }
      PartialTensorShape out = PartialTensorShape::Scalar();
      for (int d = 0; d < in.dims(); ++d) {
        if (!reduced[d]) {
          out.AddDim(in.dim_size(d));
        } else if (keep_dims) {
          out.AddDim(1);
        }
      }
      c->set_output(0, std::move(out));
      return absl::OkStatus();
    });

// A vector of strings into a sparse [batch, most pieces] matrix of pieces.
RILL_REGISTER_OP("StringSplitV2")
    .Input("input: string")
    .Input("sep: string")
    .Output("indices: int64")
    .Output("values: string")
    .Output("shape: int64")
    .Attr("maxsplit: int = -1")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(c->WithRank(0, 1).status());
      RETURN_IF_ERROR(c->WithRank(1, 0).status());
      c->set_output(0, PartialTensorShape({-1, 2}));
      c->set_output(1, PartialTensorShape({-1}));
      c->set_output(2, PartialTensorShape({2}));
      return absl::OkStatus();
    });

// One 8-byte FarmHash fingerprint per row of data.
RILL_REGISTER_OP("Fingerprint")
    .Input("data: T")
    .Input("method: string")
    .Output("fingerprint: uint8")
    .Attr("T: type")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(c->WithRankAtLeast(0, 1));
      RETURN_IF_ERROR(c->WithRank(1, 0).status());
      const PartialTensorShape& data = c->input(0);
      c->set_output(0, PartialTensorShape(
                           {data.unknown_rank() ? -1 : data.dim_size(0), 8}));
      return absl::OkStatus();
    });

}  // namespace
}  // namespace rill
