// Adds the nodes of a GraphDef to a Scope's graph, so that a graph read from
// a file (TensorFlow's or Rill's) can be extended with the C++ API: copied
// once per replica, given gradients and optimizer updates.
//
//   Scope replica =
//   root.NewSubScope("replica_1").WithDevice("/job:worker/task:1");
//   ASSIGN_OR_RETURN(ImportedNodes nodes, ImportIntoScope(replica, model));
//   Output loss(nodes.at("loss"), 0);   // Node "replica_1/loss".
#ifndef RILL_CORE_CC_IMPORT_GRAPH_H_
#define RILL_CORE_CC_IMPORT_GRAPH_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/cc/output.h"
#include "core/cc/scope.h"
#include "core/protos/graph.pb.h"

namespace rill {

// The imported nodes by their name in the GraphDef.
using ImportedNodes = absl::flat_hash_map<std::string, Node*>;

// The GraphDef is validated as ImportGraphDef does (every error names the
// node) before anything is added. `input_map` replaces tensors of the
// GraphDef ("x" or "x:1") by outputs already in the scope's graph, as
// TensorFlow's import_graph_def does: the nodes that read them read the
// given output instead (the replaced node is still imported); a key the
// GraphDef lacks, or a dtype that does not fit, is an INVALID_ARGUMENT. Each
// node "a" becomes "<scope prefix>/a"; its inputs, control inputs and
// colocation ("loc:@a") follow the renaming, and a VarHandleOp whose
// shared_name is its own name gets its new name, so that two imports of one
// model hold two sets of variables. Devices: the as MergeDeviceUnder(scope's
// device, node's device): "/device:CPU:0" imported under "/job:worker/task:1"
// becomes
// "/job:worker/task:1/device:CPU:0". The
// scope's control dependencies are not applied. Nodes whose new name is
// taken are an INVALID_ARGUMENT naming them; on any error nothing is added.
absl::StatusOr<ImportedNodes> ImportIntoScope(
    const Scope& scope, ::tensorflow::GraphDef def,
    const absl::flat_hash_map<std::string, Output>& input_map = {});

// `device` with the job, replica and task of `outer` in place of its own,
// and outer's device type and index where it names none (both in
// TensorFlow's "/job:x/replica:r/task:t/device:T:n" form, maybe partial).
std::string MergeDeviceUnder(const std::string& outer,
                             const std::string& device);

}  // namespace rill

#endif  // RILL_CORE_CC_IMPORT_GRAPH_H_
