// Random ops. A (seed, seed2) pair picks the stream as in TensorFlow: both
// zero means a fresh nondeterministic seed. Schemas follow TensorFlow's.
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

[[maybe_unused]] const bool kRegistered = [] {
  for (const char* op :
       {"RandomUniform", "RandomStandardNormal", "TruncatedNormal"}) {
    RegisterFloatRandom(op);
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

}  // namespace
}  // namespace rill
