// Placer: assigns every node of a graph to one of a task's devices.
//
// Nodes that must live together form colocation groups: a node's `_class`
// attr ("loc:@other"), and each node that takes a ref or resource input
// with that input's producer (a variable and the ops that update it). A group
// goes to the first device that matches every device request of its members
// (full or partial names, e.g. "/device:CPU:1") and has kernels for all of
// them; a taker of a variable or resource whose request disagrees with the
// variable's (or an earlier taker's) goes with it. With soft placement, a request that matches devices none of which has
// the kernels falls back to any device that has them. Requests that match no
// device at all, and groups whose requests conflict, are INVALID_ARGUMENT
// naming the nodes.
#ifndef RILL_RUNTIME_PLACEMENT_PLACER_H_
#define RILL_RUNTIME_PLACEMENT_PLACER_H_

#include <vector>

#include "absl/status/status.h"
#include "core/graph/graph.h"
#include "runtime/device/device.h"

namespace rill {

struct PlacerOptions {
  bool allow_soft_placement = true;
};

// Sets each node's assigned device to the full name of one of `devices`
// (in order of preference).
absl::Status PlaceGraph(Graph* graph, const std::vector<Device*>& devices,
                        const PlacerOptions& options = {});

}  // namespace rill

#endif  // RILL_RUNTIME_PLACEMENT_PLACER_H_
