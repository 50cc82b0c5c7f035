// Row updates of variables with TensorFlow's schemas: what optimizers run
// for IndexedSlices gradients (embedding lookups, partitioned variables):
// Scatter{Add,Sub,Update} on reference variables and their ResourceScatter
// forms, SparseApply{Adagrad,Momentum} and their ResourceSparseApply forms,
// and DisableCopyOnRead.
#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/ops/type_sets.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

// Ref forms output the variable (input 0); resource forms output nothing.
absl::Status ForwardVariableShape(InferenceContext* c) {
  if (c->num_outputs() == 1) c->set_output(0, c->input(0));
  return absl::OkStatus();
}

void RegisterScatter(const char* name, const char* type_set,
                     bool use_locking_default) {
  OpDefBuilder ref(absl::StrCat("Scatter", name));
  ref.Input("ref: Ref(T)")
      .Input("indices: Tindices")
      .Input("updates: T")
      .Output("output_ref: Ref(T)")
      .Attr(absl::StrCat("T: ", type_set))
      .Attr("Tindices: {int32, int64}")
      .Attr(absl::StrCat("use_locking: bool = ",
                         use_locking_default ? "true" : "false"))
      .SetShapeFn(ForwardVariableShape);
  op_registry_internal::Registrar r1(ref);
  OpDefBuilder resource(absl::StrCat("ResourceScatter", name));
  resource.Input("resource: resource")
      .Input("indices: Tindices")
      .Input("updates: dtype")
      .Attr(absl::StrCat("dtype: ", type_set))
      .Attr("Tindices: {int32, int64}")
      .SetIsStateful()
      .SetShapeFn(ForwardVariableShape);
  op_registry_internal::Registrar r2(resource);
}

// SparseApply<name> and ResourceSparseApply<name>: the variable and its
// slots, then lr, grad, indices and `extra` scalar inputs.
void RegisterSparseApply(const char* name,
                         std::initializer_list<const char*> extra,
                         const char* extra_attr) {
  for (const bool resource : {false, true}) {
    OpDefBuilder b(
        absl::StrCat(resource ? "ResourceSparseApply" : "SparseApply", name));
    const char* var_type = resource ? ": resource" : ": Ref(T)";
    b.Input(absl::StrCat("var", var_type))
        .Input(absl::StrCat("accum", var_type));
    b.Input("lr: T").Input("grad: T").Input("indices: Tindices");
    for (const char* e : extra) b.Input(absl::StrCat(e, ": T"));
    if (!resource) b.Output("out: Ref(T)");
    b.Attr(absl::StrCat("T: ", type_sets::kNumber))
        .Attr("Tindices: {int32, int64}")
        .Attr("use_locking: bool = false")
        .Attr(extra_attr);
    if (resource) b.SetIsStateful();
    b.SetShapeFn(ForwardVariableShape);
    op_registry_internal::Registrar registrar(b);
  }
}

[[maybe_unused]] const bool kRegistered = [] {
  RegisterScatter("Add", type_sets::kNumber, false);
  RegisterScatter("Sub", type_sets::kNumber, false);
  RegisterScatter("Update", "type", true);
  RegisterSparseApply("Adagrad", {}, "update_slots: bool = true");
  RegisterSparseApply("Momentum", {"momentum"}, "use_nesterov: bool = false");
  return true;
}();

RILL_REGISTER_OP("DisableCopyOnRead")
    .Input("resource: resource")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext*) { return absl::OkStatus(); });

}  // namespace
}  // namespace rill
