// The interface between collective kernels (CollectiveReduceV2 and its
// family) and whatever moves their tensors between the members of a group.
//
// A kernel describes one member's part of a collective (CollectiveRequest)
// and hands it to the step's CollectiveExecutor, which pairs it with the
// other members' parts of the same instance (group_key, instance_key),
// checks that they agree, runs the transfer, and calls `done` once with the
// member's result. Members may be nodes of one graph on several devices and
// tasks, or of several graphs run by several clients.
//
// Thread safety: RunAsync may be called concurrently from any thread; it
// never blocks (the transfer runs on the executor's own threads), and
// `done` runs on one of those threads.
#ifndef RILL_CORE_FRAMEWORK_COLLECTIVE_H_
#define RILL_CORE_FRAMEWORK_COLLECTIVE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "core/framework/allocator.h"
#include "core/framework/cancellation.h"
#include "core/framework/tensor.h"

namespace rill {

enum class CollectiveKind { kReduce, kGather, kBcastSend, kBcastRecv };

// "reduce", "gather", "broadcast send", "broadcast receive".
const char* CollectiveKindName(CollectiveKind kind);

struct CollectiveRequest {
  CollectiveKind kind = CollectiveKind::kReduce;
  int32_t group_size = 0;
  int32_t group_key = 0;
  int32_t instance_key = 0;
  // Reduce only: "Add", "Mul", "Min", "Max"; "Id" or "Div" (by the group
  // size) after the merge.
  std::string merge_op = "Add";
  std::string final_op = "Id";
  // "auto", "ring" or "nccl" (a hint; CPU groups treat "nccl" as "auto").
  std::string communication_hint = "auto";
  // How long the member waits for the others; 0: the executor's default.
  double timeout_seconds = 0;
  // The member: its device's full name and the node, for errors.
  std::string device;
  std::string node;
  // What this member contributes (all kinds but kBcastRecv).
  Tensor input;
  // For kReduce, optionally: a buffer of the input's dtype and shape that
  // already holds the input's values and nothing else references, which
  // the reduction then overwrites in place and returns as the result (the
  // kernel forwards its input buffer when it can). Unset: the executor
  // allocates the result and copies the input into it.
  Tensor output;
  // The dtype and shape of the member's part: the input's, or for
  // kBcastRecv what it expects to receive.
  DataType dtype = ::tensorflow::DT_INVALID;
  TensorShape shape;
  // Where the result is allocated.
  Allocator* allocator = nullptr;
  // The step's (may be null): once it is cancelled the request fails with
  // its status instead of waiting for the other members. It outlives the
  // request's `done`.
  const StepCancellation* cancellation = nullptr;
};

class CollectiveExecutor {
 public:
  using DoneCallback = std::function<void(absl::StatusOr<Tensor>)>;
  virtual ~CollectiveExecutor() = default;
  virtual void RunAsync(CollectiveRequest request, DoneCallback done) = 0;
  // The step of a request given to RunAsync for (group_key, device) was
  // cancelled (request.cancellation): its `done` runs soon, with the
  // step's reason, on another thread than this one. Quick; never blocks;
  // nothing to do when no such request waits.
  virtual void Cancel(int32_t group_key, const std::string& device) {}
};

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_COLLECTIVE_H_
