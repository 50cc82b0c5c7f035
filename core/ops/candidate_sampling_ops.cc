// Candidate sampling, for sampled softmax and NCE: samplers that draw
// num_sampled classes from [0, range_max) and report how often each true
// and sampled class is expected to be drawn; ComputeAccidentalHits finds
// the sampled classes that are a row's true classes. Schemas follow
// TensorFlow's.
#include <string>

#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

// true_classes [batch, num_true] -> [num_sampled], [batch, num_true],
// [num_sampled].
absl::Status SamplerShape(InferenceContext* c) {
  int64_t num_true = 0, num_sampled = 0;
  RETURN_IF_ERROR(c->GetAttr("num_true", &num_true));
  RETURN_IF_ERROR(c->GetAttr("num_sampled", &num_sampled));
  ASSIGN_OR_RETURN(PartialTensorShape classes, c->WithRank(0, 2));
  if (classes.dim_size(1) >= 0 && classes.dim_size(1) != num_true) {
    return c->Error(absl::StrCat("true_classes has ", classes.dim_size(1),
                                 " columns; num_true is ", num_true));
  }
  c->set_output(0, PartialTensorShape({num_sampled}));
  c->set_output(1, PartialTensorShape({classes.dim_size(0), num_true}));
  c->set_output(2, PartialTensorShape({num_sampled}));
  return absl::OkStatus();
}

[[maybe_unused]] const bool kSamplers = [] {
  for (const char* name :
       {"UniformCandidateSampler", "LogUniformCandidateSampler",
        "AllCandidateSampler"}) {
    OpDefBuilder b(name);
    b.Input("true_classes: int64")
        .Output("sampled_candidates: int64")
        .Output("true_expected_count: float")
        .Output("sampled_expected_count: float")
        .Attr("num_true: int >= 1")
        .Attr("num_sampled: int >= 1")
        .Attr("unique: bool");
    if (std::string(name) != "AllCandidateSampler") {
      b.Attr("range_max: int >= 1");
    }
    b.Attr("seed: int = 0")
        .Attr("seed2: int = 0")
        .SetIsStateful()
        .SetShapeFn(SamplerShape);
    op_registry_internal::Registrar registrar(std::move(b));
  }
  return true;
}();

RILL_REGISTER_OP("ComputeAccidentalHits")
    .Input("true_classes: int64")
    .Input("sampled_candidates: int64")
    .Output("indices: int32")
    .Output("ids: int64")
    .Output("weights: float")
    .Attr("num_true: int")
    .Attr("seed: int = 0")
    .Attr("seed2: int = 0")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(c->WithRank(0, 2).status());
      RETURN_IF_ERROR(c->WithRank(1, 1).status());
      for (int i = 0; i < 3; ++i) c->set_output(i, PartialTensorShape({-1}));
      return absl::OkStatus();
    });

}  // namespace
}  // namespace rill
