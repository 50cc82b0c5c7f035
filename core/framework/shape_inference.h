// Shape inference for one node: the context a shape function reads its
// inputs from and writes its outputs to, plus the shape functions that many
// ops share (shape_fns::).
//
// Shapes are PartialTensorShapes: a shape function narrows what it can and
// leaves the rest unknown. Inputs whose value is known before running the
// graph (a Const, or a Shape of a known shape) are visible as tensors or as
// "shape values" so that Reshape, Fill, reductions and the like can compute
// exact output shapes.
#ifndef RILL_CORE_FRAMEWORK_SHAPE_INFERENCE_H_
#define RILL_CORE_FRAMEWORK_SHAPE_INFERENCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/framework/attr_value.h"
#include "core/framework/tensor.h"
#include "core/framework/tensor_shape.h"
#include "core/protos/op_def.pb.h"

namespace rill {

class InferenceContext {
 public:
  // Borrows attrs and input_tensors' pointees for its lifetime.
  // input_tensors[i] is the known value of input i or nullptr;
  // input_shape_values[i] is a known (possibly partial) value of an int
  // vector input that describes a shape, or nullopt.
  InferenceContext(
      std::string node_name, const AttrMap* attrs,
      std::vector<DataType> input_types,
      std::vector<PartialTensorShape> input_shapes,
      std::vector<const Tensor*> input_tensors,
      std::vector<std::optional<PartialTensorShape>> input_shape_values,
      int num_outputs);

  const std::string& node_name() const { return node_name_; }
  const AttrMap& attrs() const { return *attrs_; }

  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  const PartialTensorShape& input(int i) const { return inputs_[i]; }
  DataType input_type(int i) const { return input_types_[i]; }
  const Tensor* input_tensor(int i) const { return input_tensors_[i]; }

  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  const PartialTensorShape& output(int i) const { return outputs_[i]; }
  void set_output(int i, PartialTensorShape shape) {
    outputs_[i] = std::move(shape);
  }
  // A known value of output i to pass to consumers as a shape value (Shape
  // sets it).
  void set_output_shape_value(int i, PartialTensorShape value) {
    output_shape_values_[i] = std::move(value);
  }
  const std::optional<PartialTensorShape>& output_shape_value(int i) const {
    return output_shape_values_[i];
  }

  template <typename T>
  absl::Status GetAttr(absl::string_view name, T* out) const {
    return ::rill::GetAttr(*attrs_, name, out);
  }

  // Input i with its rank checked; an unknown rank becomes `rank` unknown
  // dims. INVALID_ARGUMENT naming the input otherwise.
  absl::StatusOr<PartialTensorShape> WithRank(int i, int rank) const;
  absl::Status WithRankAtLeast(int i, int rank) const;
  absl::Status WithRankAtMost(int i, int rank) const;

  // The values of an int32/int64 input when known; nullopt otherwise.
  absl::StatusOr<std::optional<std::vector<int64_t>>> ConstantInts(int i) const;
  // The shape that int vector input i describes (as for Reshape's shape or
  // Fill's dims): exact when its value is known, known rank when only its
  // length is, unknown otherwise. -1 entries are unknown dims.
  absl::StatusOr<PartialTensorShape> ShapeFromShapeTensor(int i) const;

  // An INVALID_ARGUMENT error about this node.
  absl::Status Error(absl::string_view message) const;

 private:
  std::string node_name_;
  const AttrMap* attrs_;
  std::vector<DataType> input_types_;
  std::vector<PartialTensorShape> inputs_;
  std::vector<const Tensor*> input_tensors_;
  std::vector<std::optional<PartialTensorShape>> input_shape_values_;
  std::vector<PartialTensorShape> outputs_;
  std::vector<std::optional<PartialTensorShape>> output_shape_values_;
};

// numpy/TensorFlow broadcasting of two shapes; INVALID_ARGUMENT when two
// known dims differ and neither is 1.
absl::StatusOr<PartialTensorShape> BroadcastShapes(const PartialTensorShape& a,
                                                   const PartialTensorShape& b);

// Normalizes axis into [0, rank); INVALID_ARGUMENT when out of range.
absl::StatusOr<int> CanonicalAxis(int64_t axis, int rank);

namespace shape_fns {

// Every output has unknown shape.
absl::Status UnknownShape(InferenceContext* c);
// Output 0 has the shape of input 0.
absl::Status UnchangedShape(InferenceContext* c);
// Every output is a scalar.
absl::Status ScalarShape(InferenceContext* c);
// Output 0 is the broadcast of inputs 0 and 1.
absl::Status BroadcastBinaryOp(InferenceContext* c);
// Every input merged into one shape (AddN, element-wise ops of equal shapes).
absl::Status MergeAllInputs(InferenceContext* c);
// Reductions: input 0 reduced over the axes in input 1 (keep_dims attr).
absl::Status Reduction(InferenceContext* c);

}  // namespace shape_fns
}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_SHAPE_INFERENCE_H_
