// Random ops. A stateful op's (seed, seed2) pair picks the stream as in
// TensorFlow: both zero means a fresh nondeterministic seed. A stateless
// op's values depend on its seed input (or the key and counter derived from
// it) alone. Schemas follow TensorFlow's.
#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/ops/type_sets.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

absl::Status RandomShape(InferenceContext* c) {
  RETURN_IF_ERROR(c->WithRank(0, 1).status());
  ASSIGN_OR_RETURN(PartialTensorShape out, c->ShapeFromShapeTensor(0));
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status RandomUniformIntShape(InferenceContext* c) {
  RETURN_IF_ERROR(c->WithRank(1, 0).status());
  RETURN_IF_ERROR(c->WithRank(2, 0).status());
  return RandomShape(c);
}

void RegisterFloatRandom(const char* name) {
  op_registry_internal::Registrar registrar(
      OpDefBuilder(name)
          .Input("shape: T")
          .Output("output: dtype")
          .Attr("seed: int = 0")
          .Attr("seed2: int = 0")
          .Attr(absl::StrCat("dtype: ", type_sets::kFloat))
          .Attr("T: {int32, int64}")
          .SetIsStateful()
          .SetShapeFn(RandomShape));
}

// A stateless op with a [2] seed input.
void RegisterStatelessFloatRandom(const char* name) {
  op_registry_internal::Registrar registrar(
      OpDefBuilder(name)
          .Input("shape: T")
          .Input("seed: Tseed")
          .Output("output: dtype")
          .Attr(absl::StrCat("dtype: ", type_sets::kFloat, " = DT_FLOAT"))
          .Attr("T: {int32, int64} = DT_INT32")
          .Attr("Tseed: {int32, int64} = DT_INT64")
          .SetShapeFn(RandomShape));
}

// A stateless op with key, counter and algorithm inputs.
void RegisterStatelessFloatRandomV2(const char* name) {
  op_registry_internal::Registrar registrar(
      OpDefBuilder(name)
          .Input("shape: Tshape")
          .Input("key: uint64")
          .Input("counter: uint64")
          .Input("alg: int32")
          .Output("output: dtype")
          .Attr(absl::StrCat("dtype: ", type_sets::kFloat, " = DT_FLOAT"))
          .Attr("Tshape: {int32, int64} = DT_INT32")
          .SetShapeFn(RandomShape));
}

[[maybe_unused]] const bool kRegistered = [] {
  for (const char* op :
       {"RandomUniform", "RandomStandardNormal", "TruncatedNormal"}) {
    RegisterFloatRandom(op);
  }
  for (const char* op : {"StatelessRandomUniform", "StatelessRandomNormal",
                         "StatelessTruncatedNormal"}) {
    RegisterStatelessFloatRandom(op);
  }
  for (const char* op : {"StatelessRandomUniformV2", "StatelessRandomNormalV2",
                         "StatelessTruncatedNormalV2"}) {
    RegisterStatelessFloatRandomV2(op);
  }
  return true;
}();

RILL_REGISTER_OP("RandomUniformInt")
    .Input("shape: T")
    .Input("minval: Tout")
    .Input("maxval: Tout")
    .Output("output: Tout")
    .Attr("seed: int = 0")
    .Attr("seed2: int = 0")
    .Attr("Tout: {int32, int64}")
    .Attr("T: {int32, int64}")
    .SetIsStateful()
    .SetShapeFn(RandomUniformIntShape);

RILL_REGISTER_OP("StatelessRandomUniformInt")
    .Input("shape: T")
    .Input("seed: Tseed")
    .Input("minval: dtype")
    .Input("maxval: dtype")
    .Output("output: dtype")
    .Attr("dtype: {int32, int64}")
    .Attr("T: {int32, int64}")
    .Attr("Tseed: {int32, int64} = DT_INT64")
    .SetShapeFn(RandomUniformIntShape);

absl::Status RandomUniformIntV2Shape(InferenceContext* c) {
  RETURN_IF_ERROR(c->WithRank(4, 0).status());
  RETURN_IF_ERROR(c->WithRank(5, 0).status());
  return RandomShape(c);
}

RILL_REGISTER_OP("StatelessRandomUniformIntV2")
    .Input("shape: Tshape")
    .Input("key: uint64")
    .Input("counter: uint64")
    .Input("alg: int32")
    .Input("minval: dtype")
    .Input("maxval: dtype")
    .Output("output: dtype")
    .Attr("dtype: {int32, int64, uint32, uint64}")
    .Attr("Tshape: {int32, int64} = DT_INT32")
    .SetShapeFn(RandomUniformIntV2Shape);

// Philox's key ([1]) and counter ([2]) for a seed pair.
absl::Status KeyCounterShape(InferenceContext* c) {
  RETURN_IF_ERROR(c->WithRank(0, 1).status());
  c->set_output(0, PartialTensorShape({1}));
  c->set_output(1, PartialTensorShape({2}));
  if (c->num_outputs() > 2) c->set_output(2, PartialTensorShape::Scalar());
  return absl::OkStatus();
}

RILL_REGISTER_OP("StatelessRandomGetKeyCounter")
    .Input("seed: Tseed")
    .Output("key: uint64")
    .Output("counter: uint64")
    .Attr("Tseed: {int32, int64} = DT_INT64")
    .SetShapeFn(KeyCounterShape);

RILL_REGISTER_OP("StatelessRandomGetKeyCounterAlg")
    .Input("seed: Tseed")
    .Output("key: uint64")
    .Output("counter: uint64")
    .Output("alg: int32")
    .Attr("Tseed: {int32, int64} = DT_INT64")
    .SetShapeFn(KeyCounterShape);

// Stateful in TensorFlow, so that the choice is made when the graph runs.
RILL_REGISTER_OP("StatelessRandomGetAlg")
    .Output("alg: int32")
    .SetIsStateful()
    .SetShapeFn(shape_fns::ScalarShape);

}  // namespace
}  // namespace rill
