#include "core/graph/shape_refiner.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "core/framework/shape_inference.h"
#include "core/framework/tensor_proto.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

// Const values larger than this are not materialized for shape inference:
// shape-like inputs are small, and big constants would only cost memory.
constexpr int64_t kMaxConstantElements = 1024;

// The value of a small int32/int64 Const node, or nullopt.
std::optional<Tensor> SmallIntConstant(const Node* node) {
  if (node->op() != "Const") return std::nullopt;
  const DataType t = node->output_type(0);
  if (t != ::tensorflow::DT_INT32 && t != ::tensorflow::DT_INT64) {
    return std::nullopt;
  }
  const ::tensorflow::TensorProto* proto;
  if (!GetAttr(node->attrs(), "value", &proto).ok()) return std::nullopt;
  absl::StatusOr<TensorShape> shape =
      TensorShape::FromProto(proto->tensor_shape());
  if (!shape.ok() || shape->num_elements() > kMaxConstantElements) {
    return std::nullopt;
  }
  absl::StatusOr<Tensor> value = TensorFromProto(*proto);
  if (!value.ok()) return std::nullopt;
  return *std::move(value);
}

}  // namespace

absl::StatusOr<GraphShapes> InferShapes(const Graph& graph) {
  ASSIGN_OR_RETURN(std::vector<Node*> order, graph.TopologicalOrder());
  GraphShapes result;
  result.shapes_.resize(graph.num_nodes());
  std::vector<std::vector<std::optional<PartialTensorShape>>> shape_values(
      graph.num_nodes());
  std::vector<std::optional<Tensor>> constants(graph.num_nodes());

  for (const Node* node : order) {
    const int n_in = node->num_inputs();
    std::vector<PartialTensorShape> in_shapes(n_in);
    std::vector<const Tensor*> in_tensors(n_in, nullptr);
    std::vector<std::optional<PartialTensorShape>> in_values(n_in);
    for (int i = 0; i < n_in; ++i) {
      const Edge* e = node->input_edge(i);
      if (e == nullptr) continue;  // Unknown shape; import rejects this.
      const int src = e->src->id();
      // A loop's back edge (from a NextIteration not inferred yet): the
      // shape stays unknown.
      if (result.shapes_[src].size() <= static_cast<size_t>(e->src_output)) {
        continue;
      }
      in_shapes[i] = result.shapes_[src][e->src_output];
      if (constants[src].has_value()) in_tensors[i] = &*constants[src];
      if (!shape_values[src].empty()) {
        in_values[i] = shape_values[src][e->src_output];
      }
    }
    std::vector<DataType> in_types = node->input_types();
    InferenceContext c(node->name(), &node->attrs(), std::move(in_types),
                       std::move(in_shapes), std::move(in_tensors),
                       std::move(in_values), node->num_outputs());
    absl::Status s = node->op_registration().shape_fn(&c);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape inference failed at node '", node->name(), "' (",
                       node->op(), "): ", s.message()));
    }
    auto& out = result.shapes_[node->id()];
    out.resize(node->num_outputs());
    for (int i = 0; i < node->num_outputs(); ++i) out[i] = c.output(i);
    bool has_values = false;
    for (int i = 0; i < node->num_outputs(); ++i) {
      has_values |= c.output_shape_value(i).has_value();
    }
    if (has_values) {
      auto& values = shape_values[node->id()];
      values.resize(node->num_outputs());
      for (int i = 0; i < node->num_outputs(); ++i) {
        values[i] = c.output_shape_value(i);
      }
    }
    constants[node->id()] = SmallIntConstant(node);
  }
  return result;
}

}  // namespace rill
