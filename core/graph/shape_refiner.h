// Shape inference over a whole graph.
//
// Runs every node's shape function in topological order, feeding it the
// shapes its producers were inferred to have and, where known before
// running, the values of its inputs: small int32/int64 Const tensors, and
// Shape outputs of known shapes. The first node whose shapes cannot fit
// ends inference with INVALID_ARGUMENT naming that node and its op.
#ifndef RILL_CORE_GRAPH_SHAPE_REFINER_H_
#define RILL_CORE_GRAPH_SHAPE_REFINER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "core/framework/tensor_shape.h"
#include "core/graph/graph.h"

namespace rill {

class GraphShapes {
 public:
  // The inferred shape of output `index` of `node`.
  const PartialTensorShape& output(const Node* node, int index) const {
    return shapes_[node->id()][index];
  }

 private:
  friend absl::StatusOr<GraphShapes> InferShapes(const Graph& graph);
  std::vector<std::vector<PartialTensorShape>> shapes_;  // By node id.
};

absl::StatusOr<GraphShapes> InferShapes(const Graph& graph);

}  // namespace rill

#endif  // RILL_CORE_GRAPH_SHAPE_REFINER_H_
