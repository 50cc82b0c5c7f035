// The op registry: op name -> OpDef (the schema) + shape function.
//
// Ops are declared in core/ops/ with RILL_REGISTER_OP, which runs at static
// initialization; kernels are registered separately (kernels/), so the
// schema is shared by every device. The registry is thread-safe; entries are
// never removed, so the pointers it returns stay valid for the process.
//
//   RILL_REGISTER_OP("MatMul")
//       .Input("a: T")
//       .Input("b: T")
//       .Output("product: T")
//       .Attr("transpose_a: bool = false")
//       .Attr("transpose_b: bool = false")
//       .Attr("T: {float, double, int32, int64}")
//       .SetShapeFn(shape_fns::MatMul);
#ifndef RILL_CORE_FRAMEWORK_OP_REGISTRY_H_
#define RILL_CORE_FRAMEWORK_OP_REGISTRY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "core/protos/op_def.pb.h"

namespace rill {

class InferenceContext;
using ShapeFn = std::function<absl::Status(InferenceContext*)>;

struct OpRegistrationData {
  ::tensorflow::OpDef op_def;
  ShapeFn shape_fn;  // Never empty: defaults to "outputs of unknown shape".
};

// Builds an OpDef from TensorFlow-style spec strings.
//   Input/Output: "name: float", "name: T", "name: N * T", "name: Tlist",
//                 "name: Ref(T)", "name: resource".
//   Attr: "name: int", "name: int >= 1", "name: bool = false",
//         "T: {float, double}", "padding: {'SAME', 'VALID'}",
//         "Tlist: list(type) >= 0", "strides: list(int) = [1, 1, 1, 1]",
//         "shape: shape = { unknown_rank: true }".
// Spec errors are collected and reported by Finalize().
class OpDefBuilder {
 public:
  explicit OpDefBuilder(std::string name);

  OpDefBuilder& Input(std::string spec);
  OpDefBuilder& Output(std::string spec);
  OpDefBuilder& Attr(std::string spec);
  OpDefBuilder& SetIsStateful();
  // The op moves data between tasks (collectives).
  OpDefBuilder& SetIsDistributedCommunication();
  OpDefBuilder& SetIsCommutative();
  OpDefBuilder& SetIsAggregate();
  OpDefBuilder& SetAllowsUninitializedInput();
  OpDefBuilder& SetShapeFn(ShapeFn fn);

  absl::StatusOr<OpRegistrationData> Finalize() const;

 private:
  std::string name_;
  std::vector<std::string> inputs_;
  std::vector<std::string> outputs_;
  std::vector<std::string> attrs_;
  bool stateful_ = false;
  bool commutative_ = false;
  bool distributed_communication_ = false;
  bool aggregate_ = false;
  bool allows_uninitialized_input_ = false;
  ShapeFn shape_fn_;
};

class OpRegistry {
 public:
  // The process-wide registry holding every RILL_REGISTER_OP op.
  static OpRegistry* Global();

  // ALREADY_EXISTS when the name is taken.
  absl::Status Register(OpRegistrationData data);
  // NOT_FOUND naming the op when it is not registered.
  absl::StatusOr<const OpRegistrationData*> LookUp(
      absl::string_view op_name) const;
  // Every registered op, sorted by name.
  std::vector<const OpRegistrationData*> List() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<OpRegistrationData>> ops_
      ABSL_GUARDED_BY(mu_);
};

namespace op_registry_internal {
// Finalizes the builder into OpRegistry::Global(); a malformed declaration
// is a programming error in Rill itself and aborts at startup with a message.
struct Registrar {
  Registrar(const OpDefBuilder& builder);  // NOLINT: implicit by design.
};
}  // namespace op_registry_internal

#define RILL_REGISTER_OP(name) RILL_REGISTER_OP_UNIQ_(__COUNTER__, name)
#define RILL_REGISTER_OP_UNIQ_(ctr, name) RILL_REGISTER_OP_UNIQ2_(ctr, name)
#define RILL_REGISTER_OP_UNIQ2_(ctr, name)                                     \
  static const ::rill::op_registry_internal::Registrar rill_op_registrar_##ctr \
      [[maybe_unused]] = ::rill::OpDefBuilder(name)

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_OP_REGISTRY_H_
