// Optimizer updates with TensorFlow's names and semantics:
// ApplyGradientDescent, ApplyMomentum, ApplyAdam, ApplyAdagrad,
// ApplyRMSProp, ApplyCenteredRMSProp, ApplyAdadelta, ApplyProximalAdagrad,
// ApplyProximalGradientDescent, ApplyFtrl(V2) on reference variables, and their
// ResourceApply* forms on resource variables; the SparseApply* and
// ResourceSparseApply* forms from RMSProp on (TensorFlow has none for
// GradientDescent and Adam; Momentum's and Adagrad's are in
// sparse_update_ops.cc). Schemas follow TensorFlow's.
#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/ops/type_sets.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

// The inputs in `same` (variable, slots, gradient) share one shape; those
// in `scalars` are scalars. Ref forms output the variable's shape.
absl::Status ApplyShape(InferenceContext* c, std::initializer_list<int> same,
                        std::initializer_list<int> scalars) {
  for (int i : scalars) RETURN_IF_ERROR(c->WithRank(i, 0).status());
  PartialTensorShape merged;
  for (int i : same) {
    absl::StatusOr<PartialTensorShape> m = merged.Merge(c->input(i));
    if (!m.ok()) {
      return c->Error(absl::StrCat("input ", i, " of shape ",
                                   c->input(i).DebugString(),
                                   " does not match ", merged.DebugString()));
    }
    merged = *std::move(m);
  }
  if (c->num_outputs() == 1) c->set_output(0, merged);
  return absl::OkStatus();
}

// Declares Apply<name> (ref variables, inputs `refs` of type Ref(T)) and
// ResourceApply<name> (the same inputs as resource handles, no output).
void RegisterOptimizer(const char* name,
                       std::initializer_list<const char*> refs,
                       std::initializer_list<const char*> values,
                       std::initializer_list<const char*> extra_attrs,
                       absl::Status (*shape)(InferenceContext*)) {
  for (const bool resource : {false, true}) {
    OpDefBuilder b(absl::StrCat(resource ? "ResourceApply" : "Apply", name));
    for (const char* r : refs) {
      b.Input(absl::StrCat(r, resource ? ": resource" : ": Ref(T)"));
    }
    for (const char* v : values) b.Input(absl::StrCat(v, ": T"));
    if (!resource) b.Output("out: Ref(T)");
    b.Attr(absl::StrCat("T: ", type_sets::kNumber));
    b.Attr("use_locking: bool = false");
    for (const char* a : extra_attrs) b.Attr(a);
    if (resource) b.SetIsStateful();
    b.SetShapeFn(shape);
    op_registry_internal::Registrar registrar(b);
  }
}

// Declares SparseApply<name> and ResourceSparseApply<name>: the same
// update on the rows of the variable and its slots that `indices` (right
// after the gradient, which holds one row per index) names.
void RegisterSparseOptimizer(const char* name,
                             std::initializer_list<const char*> refs,
                             std::initializer_list<const char*> values,
                             std::initializer_list<const char*> extra_attrs) {
  for (const bool resource : {false, true}) {
    OpDefBuilder b(
        absl::StrCat(resource ? "ResourceSparseApply" : "SparseApply", name));
    for (const char* r : refs) {
      b.Input(absl::StrCat(r, resource ? ": resource" : ": Ref(T)"));
    }
    for (const char* v : values) {
      b.Input(absl::StrCat(v, ": T"));
      if (absl::string_view(v) == "grad") b.Input("indices: Tindices");
    }
    if (!resource) b.Output("out: Ref(T)");
    b.Attr(absl::StrCat("T: ", type_sets::kNumber));
    b.Attr("Tindices: {int32, int64}");
    b.Attr("use_locking: bool = false");
    for (const char* a : extra_attrs) b.Attr(a);
    if (resource) b.SetIsStateful();
    b.SetShapeFn([](InferenceContext* c) {
      if (c->num_outputs() == 1) c->set_output(0, c->input(0));
      return absl::OkStatus();
    });
    op_registry_internal::Registrar registrar(b);
  }
}

[[maybe_unused]] const bool kRegistered = [] {
  // Shape functions see the resource inputs as scalars of unknown value:
  // only the gradient and the scalars are checked there.
  RegisterOptimizer("GradientDescent", {"var"}, {"alpha", "delta"}, {},
                    [](InferenceContext* c) {
                      return c->input_type(0) == DT_RESOURCE
                                 ? ApplyShape(c, {2}, {1})
                                 : ApplyShape(c, {0, 2}, {1});
                    });
  RegisterOptimizer("Momentum", {"var", "accum"}, {"lr", "grad", "momentum"},
                    {"use_nesterov: bool = false"}, [](InferenceContext* c) {
                      return c->input_type(0) == DT_RESOURCE
                                 ? ApplyShape(c, {3}, {2, 4})
                                 : ApplyShape(c, {0, 1, 3}, {2, 4});
                    });
  RegisterOptimizer(
      "Adam", {"var", "m", "v"},
      {"beta1_power", "beta2_power", "lr", "beta1", "beta2", "epsilon", "grad"},
      {"use_nesterov: bool = false"}, [](InferenceContext* c) {
        return c->input_type(0) == DT_RESOURCE
                   ? ApplyShape(c, {9}, {3, 4, 5, 6, 7, 8})
                   : ApplyShape(c, {0, 1, 2, 9}, {3, 4, 5, 6, 7, 8});
      });
  RegisterOptimizer("Adagrad", {"var", "accum"}, {"lr", "grad"},
                    {"update_slots: bool = true"}, [](InferenceContext* c) {
                      return c->input_type(0) == DT_RESOURCE
                                 ? ApplyShape(c, {3}, {2})
                                 : ApplyShape(c, {0, 1, 3}, {2});
                    });
  RegisterOptimizer("RMSProp", {"var", "ms", "mom"},
                    {"lr", "rho", "momentum", "epsilon", "grad"}, {},
                    [](InferenceContext* c) {
                      return c->input_type(0) == DT_RESOURCE
                                 ? ApplyShape(c, {7}, {3, 4, 5, 6})
                                 : ApplyShape(c, {0, 1, 2, 7}, {3, 4, 5, 6});
                    });
  RegisterOptimizer("CenteredRMSProp", {"var", "mg", "ms", "mom"},
                    {"lr", "rho", "momentum", "epsilon", "grad"}, {},
                    [](InferenceContext* c) {
                      return c->input_type(0) == DT_RESOURCE
                                 ? ApplyShape(c, {8}, {4, 5, 6, 7})
                                 : ApplyShape(c, {0, 1, 2, 3, 8}, {4, 5, 6, 7});
                    });
  RegisterOptimizer("Adadelta", {"var", "accum", "accum_update"},
                    {"lr", "rho", "epsilon", "grad"}, {},
                    [](InferenceContext* c) {
                      return c->input_type(0) == DT_RESOURCE
                                 ? ApplyShape(c, {6}, {3, 4, 5})
                                 : ApplyShape(c, {0, 1, 2, 6}, {3, 4, 5});
                    });
  RegisterOptimizer("ProximalAdagrad", {"var", "accum"},
                    {"lr", "l1", "l2", "grad"}, {}, [](InferenceContext* c) {
                      return c->input_type(0) == DT_RESOURCE
                                 ? ApplyShape(c, {5}, {2, 3, 4})
                                 : ApplyShape(c, {0, 1, 5}, {2, 3, 4});
                    });
  RegisterOptimizer("ProximalGradientDescent", {"var"},
                    {"alpha", "l1", "l2", "delta"}, {},
                    [](InferenceContext* c) {
                      return c->input_type(0) == DT_RESOURCE
                                 ? ApplyShape(c, {4}, {1, 2, 3})
                                 : ApplyShape(c, {0, 4}, {1, 2, 3});
                    });
  // FTRL-Proximal: the gradient comes right after the slots.
  RegisterOptimizer("Ftrl", {"var", "accum", "linear"},
                    {"grad", "lr", "l1", "l2", "lr_power"},
                    {"multiply_linear_by_lr: bool = false"},
                    [](InferenceContext* c) {
                      return c->input_type(0) == DT_RESOURCE
                                 ? ApplyShape(c, {3}, {4, 5, 6, 7})
                                 : ApplyShape(c, {0, 1, 2, 3}, {4, 5, 6, 7});
                    });
  RegisterOptimizer("FtrlV2", {"var", "accum", "linear"},
                    {"grad", "lr", "l1", "l2", "l2_shrinkage", "lr_power"},
                    {"multiply_linear_by_lr: bool = false"},
                    [](InferenceContext* c) {
                      return c->input_type(0) == DT_RESOURCE
                                 ? ApplyShape(c, {3}, {4, 5, 6, 7, 8})
                                 : ApplyShape(c, {0, 1, 2, 3}, {4, 5, 6, 7, 8});
                    });
  RegisterSparseOptimizer("RMSProp", {"var", "ms", "mom"},
                          {"lr", "rho", "momentum", "epsilon", "grad"}, {});
  RegisterSparseOptimizer("CenteredRMSProp", {"var", "mg", "ms", "mom"},
                          {"lr", "rho", "momentum", "epsilon", "grad"}, {});
  RegisterSparseOptimizer("Adadelta", {"var", "accum", "accum_update"},
                          {"lr", "rho", "epsilon", "grad"}, {});
  RegisterSparseOptimizer("ProximalAdagrad", {"var", "accum"},
                          {"lr", "l1", "l2", "grad"}, {});
  RegisterSparseOptimizer("ProximalGradientDescent", {"var"},
                          {"alpha", "l1", "l2", "grad"}, {});
  RegisterSparseOptimizer("Ftrl", {"var", "accum", "linear"},
                          {"grad", "lr", "l1", "l2", "lr_power"},
                          {"multiply_linear_by_lr: bool = false"});
  RegisterSparseOptimizer(
      "FtrlV2", {"var", "accum", "linear"},
      {"grad", "lr", "l1", "l2", "l2_shrinkage", "lr_power"},
      {"multiply_linear_by_lr: bool = false"});
  return true;
}();

}  // namespace
}  // namespace rill
