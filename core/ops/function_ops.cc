// The ops that carry a step's feeds in and fetches out: the session rewrites
// each fed tensor into an _Arg node and each fetched one into a _Retval
// node, which read and write the step's CallFrame. Schemas follow
// TensorFlow's ops of the same names. Also the ops that call functions of
// the graph's library: If, While and PartitionedCall in their forms.
#include <vector>

#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

RILL_REGISTER_OP("_Arg")
    .Output("output: T")
    .Attr("T: type")
    .Attr("index: int >= 0")
    .SetIsStateful()
    .SetShapeFn(shape_fns::UnknownShape);

RILL_REGISTER_OP("_Retval")
    .Input("input: T")
    .Attr("T: type")
    .Attr("index: int >= 0")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext*) { return absl::OkStatus(); });

// Functional control flow and calls (TensorFlow 2's forms, also in
// tf.compat.v1 graphs): the bodies are functions of the graph's library.
// Outputs have the shapes of output_shapes when it is given.
absl::Status FunctionalShape(InferenceContext* c) {
  std::vector<PartialTensorShape> shapes;
  if (c->attrs().contains("output_shapes")) {
    RETURN_IF_ERROR(c->GetAttr("output_shapes", &shapes));
  }
  for (int i = 0; i < c->num_outputs(); ++i) {
    c->set_output(i, i < static_cast<int>(shapes.size())
                         ? shapes[i]
                         : PartialTensorShape());
  }
  return absl::OkStatus();
}

void RegisterIf(const char* name, bool stateful) {
  OpDefBuilder b(name);
  b.Input("cond: Tcond")
      .Input("input: Tin")
      .Output("output: Tout")
      .Attr("Tcond: type")
      .Attr("Tin: list(type) >= 0")
      .Attr("Tout: list(type) >= 0")
      .Attr("then_branch: func")
      .Attr("else_branch: func")
      .Attr("output_shapes: list(shape) = []")
      .SetShapeFn(FunctionalShape);
  if (stateful) b.SetIsStateful();
  op_registry_internal::Registrar registrar(b);
}

void RegisterWhile(const char* name, bool stateful) {
  OpDefBuilder b(name);
  b.Input("input: T")
      .Output("output: T")
      .Attr("T: list(type) >= 0")
      .Attr("cond: func")
      .Attr("body: func")
      .Attr("output_shapes: list(shape) = []")
      .Attr("parallel_iterations: int = 10")
      .SetShapeFn(FunctionalShape);
  if (stateful) b.SetIsStateful();
  op_registry_internal::Registrar registrar(b);
}

void RegisterCall(const char* name, bool stateful) {
  OpDefBuilder b(name);
  b.Input("args: Tin")
      .Output("output: Tout")
      .Attr("Tin: list(type) >= 0")
      .Attr("Tout: list(type) >= 0")
      .Attr("f: func")
      .Attr("config: string = ''")
      .Attr("config_proto: string = ''")
      .Attr("executor_type: string = ''")
      .SetShapeFn(FunctionalShape);
  if (stateful) b.SetIsStateful();
  op_registry_internal::Registrar registrar(b);
}

[[maybe_unused]] const bool kFunctional = [] {
  RegisterIf("If", true);
  RegisterIf("StatelessIf", false);
  RegisterWhile("While", true);
  RegisterWhile("StatelessWhile", false);
  RegisterCall("PartitionedCall", false);
  RegisterCall("StatefulPartitionedCall", true);
  return true;
}();

}  // namespace
}  // namespace rill
