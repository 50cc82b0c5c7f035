// Partitioner: splits a placed graph into one GraphDef per device and
// inserts a _Send/_Recv pair wherever a tensor crosses devices.
//
// One _Send/_Recv pair carries each (tensor, destination device), however
// many consumers it has there. A control edge across devices becomes a
// _Send of a small constant that runs after the source, and a _Recv the
// destination waits on. A ref tensor (a variable) crosses as its value,
// with a pair of each consumer's own: the _Send hands over the variable's
// buffer and the bytes are taken when the _Recv asks, so that _Recv waits
// for every other input and control input of its consumer -- an update
// ordered before the read is seen, on any device, as TensorFlow's
// partitioner makes it. A TensorFlow 1 loop that spans devices gets a
// control loop on every other device it reaches (following its LoopCond),
// so each iteration's transfers run in that iteration there. Attrs are
// TensorFlow's
// (tensor_name, send_device, send_device_incarnation, recv_device,
// client_terminated), so the same pairs work between tasks.
#ifndef RILL_RUNTIME_PLACEMENT_PARTITION_H_
#define RILL_RUNTIME_PLACEMENT_PARTITION_H_

#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "core/graph/graph.h"
#include "core/protos/graph.pb.h"

namespace rill {

// Device name -> its partition. Every node must have an assigned device.
// Every _Send/_Recv pair carries the incarnation of its sending device.
absl::StatusOr<std::map<std::string, ::tensorflow::GraphDef>> PartitionGraph(
    const Graph& graph, int64_t incarnation = 1);
absl::StatusOr<std::map<std::string, ::tensorflow::GraphDef>> PartitionGraph(
    const Graph& graph,
    const std::function<int64_t(const std::string&)>& incarnation_of);

}  // namespace rill

#endif  // RILL_RUNTIME_PLACEMENT_PARTITION_H_
