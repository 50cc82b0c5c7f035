// The kernel interface: what an op does on one device type.
//
// A kernel is made once per node (OpKernelConstruction gives it the node's
// attrs) and then computes many times, possibly concurrently: Compute is
// const and keeps per-step state in the OpKernelContext. Kernels that wait
// for something (Recv, collectives) derive from AsyncOpKernel and call
// `done` exactly once without blocking a pool thread.
//
// Values flow between kernels as TensorValues: a tensor, or for the ref
// edges of TensorFlow's reference variables, a pointer to the variable's
// live tensor and the mutex that guards it.
#ifndef RILL_CORE_FRAMEWORK_OP_KERNEL_H_
#define RILL_CORE_FRAMEWORK_OP_KERNEL_H_

#include <algorithm>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "core/framework/allocator.h"
#include "core/framework/attr_value.h"
#include "core/framework/cancellation.h"
#include "core/framework/collective.h"
#include "core/framework/rendezvous.h"
#include "core/framework/resource_mgr.h"
#include "core/framework/tensor.h"
#include "core/graph/graph.h"
#include "core/platform/status_macros.h"

namespace rill {

inline constexpr char kDeviceCpu[] = "CPU";

struct TensorValue {
  Tensor value;               // Set for a value edge.
  Tensor* ref = nullptr;      // Set for a ref edge: the variable's tensor...
  absl::Mutex* mu = nullptr;  // ...and its lock.
  // For a ref edge: the variable's name, for "uninitialized" errors. Views a
  // string owned by the variable's kernel.
  const std::string* ref_name = nullptr;
  // Set on the outputs of an untaken branch (Switch) and everything that
  // depends on them: no value, and consumers other than Merge do not run.
  bool is_dead = false;

  bool is_ref() const { return ref != nullptr; }
};

// Feeds and fetches of one step, read by _Arg and written by _Retval.
class CallFrame {
 public:
  virtual ~CallFrame() = default;
  virtual absl::StatusOr<Tensor> GetArg(int index) const = 0;
  virtual absl::Status SetRetval(int index, const Tensor& value) = 0;
  // The argument as an edge carries it: a function's caller may pass a ref
  // (a variable or resource handle), which its body uses as a ref.
  virtual absl::StatusOr<TensorValue> GetArgValue(int index) const {
    TensorValue v;
    ASSIGN_OR_RETURN(v.value, GetArg(index));
    return v;
  }
  virtual absl::Status SetRetvalValue(int index, const TensorValue& value) {
    return SetRetval(index, value.value);
  }
};

// Runs a closure somewhere (a pool thread); what kernels use to split work.
using Runner = std::function<void(std::function<void()>)>;

class Device;

// What kernels that call functions (If, While, PartitionedCall) are made
// with: the function library of the graph they are in, the device they run
// on, and how deeply function calls are nested there.
struct FunctionEnv {
  const ::tensorflow::FunctionDefLibrary* library = nullptr;
  Device* device = nullptr;
  int depth = 0;
};

class OpKernelConstruction {
 public:
  OpKernelConstruction(std::string device_type, const Node* node,
                       const FunctionEnv* functions = nullptr)
      : device_type_(std::move(device_type)),
        node_(node),
        functions_(functions) {}

  const std::string& device_type() const { return device_type_; }
  const Node& node() const { return *node_; }
  // Null where the kernel is made outside an executor.
  const FunctionEnv* functions() const { return functions_; }
  const AttrMap& attrs() const { return node_->attrs(); }
  template <typename T>
  absl::Status GetAttr(absl::string_view name, T* out) const {
    return ::rill::GetAttr(node_->attrs(), name, out);
  }

 private:
  const std::string device_type_;
  const Node* const node_;
  const FunctionEnv* const functions_;
};

class OpKernelContext;

class OpKernel {
 public:
  explicit OpKernel(OpKernelConstruction* c);
  virtual ~OpKernel() = default;
  OpKernel(const OpKernel&) = delete;
  OpKernel& operator=(const OpKernel&) = delete;

  virtual absl::Status Compute(OpKernelContext* ctx) const = 0;
  // Cheap kernels run inline on the thread that made them ready; expensive
  // ones are handed to the pool. Kernels say which they are.
  virtual bool IsExpensive() const { return true; }
  virtual bool IsAsync() const { return false; }

  const std::string& name() const { return name_; }
  const std::string& type_string() const { return type_; }
  int num_inputs() const { return static_cast<int>(input_types_.size()); }
  int num_outputs() const { return static_cast<int>(output_types_.size()); }
  DataType input_type(int i) const { return input_types_.data()[i]; }
  DataType output_type(int i) const { return output_types_.data()[i]; }

 private:
  // The types first and inline: with the vtable pointer they fill the
  // first cache line of the object, the only one a step usually touches.
  const absl::InlinedVector<DataType, 4> input_types_;
  const absl::InlinedVector<DataType, 4> output_types_;
  const std::string name_;
  const std::string type_;
};

class AsyncOpKernel : public OpKernel {
 public:
  using OpKernel::OpKernel;
  using DoneCallback = std::function<void(absl::Status)>;

  virtual void ComputeAsync(OpKernelContext* ctx, DoneCallback done) const = 0;
  bool IsAsync() const final { return true; }
  absl::Status Compute(OpKernelContext* ctx) const final;
};

class OpKernelContext {
 public:
  struct Params {
    const OpKernel* kernel = nullptr;
    Allocator* allocator = nullptr;
    ResourceMgr* resources = nullptr;
    CallFrame* call_frame = nullptr;
    Rendezvous* rendezvous = nullptr;  // For _Send/_Recv.
    // For collective kernels; null where the runtime has none.
    CollectiveExecutor* collectives = nullptr;
    // The step's, for kernels that wait (may be null).
    const StepCancellation* cancellation = nullptr;
    // The full name of the device the kernel runs on.
    const std::string* device_name = nullptr;
    int64_t step_id = 0;
    // Inputs of this execution; the context may move a tensor out of its
    // slot to reuse its buffer. (std::span: unchecked, unlike this
    // system's hardened absl::Span.)
    std::span<TensorValue> inputs;
    // The kernel's output count when the caller knows it (saves a visit
    // to the kernel object); -1 to ask the kernel.
    int num_outputs = -1;
    const Runner* runner = nullptr;  // For splitting work; may be null.
    int intra_op_parallelism = 1;
    // Only kernels that run on dead inputs (_Send, _Recv, _Retval) see this
    // set: the node is on an untaken branch.
    bool is_input_dead = false;
  };

  explicit OpKernelContext(const Params& params);

  const OpKernel& kernel() const { return *params_.kernel; }
  int num_inputs() const { return static_cast<int>(params_.inputs.size()); }
  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  int64_t step_id() const { return params_.step_id; }
  Allocator* allocator() const { return params_.allocator; }
  ResourceMgr* resources() const { return params_.resources; }
  CallFrame* call_frame() const { return params_.call_frame; }
  Rendezvous* rendezvous() const { return params_.rendezvous; }
  CollectiveExecutor* collectives() const { return params_.collectives; }
  const StepCancellation* cancellation() const { return params_.cancellation; }
  const std::string& device_name() const;
  const Runner* runner() const { return params_.runner; }
  int intra_op_parallelism() const { return params_.intra_op_parallelism; }
  bool is_input_dead() const { return params_.is_input_dead; }
  // Whether input i arrived (Merge leaves inputs that never come empty).
  bool has_input(int i) const {
    return params_.inputs[i].is_ref() ||
           params_.inputs[i].value.IsInitialized();
  }

  // The value of input i. For a ref input, the variable's tensor as it is
  // now (a shared handle taken under its lock).
  const Tensor& input(int i) const { return params_.inputs[i].value; }
  bool input_is_ref(int i) const { return params_.inputs[i].is_ref(); }
  // The live tensor and lock of ref input i.
  Tensor* mutable_input(int i) { return params_.inputs[i].ref; }
  absl::Mutex* input_ref_mutex(int i) { return params_.inputs[i].mu; }

  // A new output tensor, zero-filled.
  absl::StatusOr<Tensor*> allocate_output(int i, const TensorShape& shape);
  // A new output tensor for a kernel that writes every element: its
  // contents are unspecified, and it costs no zero fill. (Builds with
  // AddressSanitizer fill it with 0xff bytes, so that a kernel reading what
  // it did not write fails its tests.)
  absl::StatusOr<Tensor*> allocate_output_for_overwrite(
      int i, const TensorShape& shape);
  // Reuses input `in`'s buffer for output `out` when this step holds the
  // only reference to it and its dtype and size fit; allocates otherwise.
  // Either way the contents are unspecified (the kernel writes them all).
  absl::StatusOr<Tensor*> forward_input_or_allocate_output(
      int in, int out, const TensorShape& requested);
  absl::StatusOr<Tensor> allocate_temp(DataType dtype,
                                       const TensorShape& shape);
  void set_output(int i, Tensor t);
  // Passes ref input `in` through as ref output `out`.
  void forward_ref_input_to_ref_output(int in, int out);
  void set_output_ref(int i, absl::Mutex* mu, Tensor* ref,
                      const std::string* name);
  // Output i carries no value: consumers become dead (Switch's untaken
  // branch, a dead tensor received).
  void set_output_dead(int i);

  using OutputVector = absl::InlinedVector<TensorValue, 2>;
  OutputVector* outputs() { return &outputs_; }

  // An INVALID_ARGUMENT error that names this node.
  absl::Status InvalidArgument(absl::string_view message) const;

 private:
  Params params_;
  OutputVector outputs_;
};

namespace op_kernel_internal {
// Below this much work (total * cost_per_unit) a split costs more than it
// saves.
inline constexpr int64_t kMinParallelCost = 20'000;
void ParallelForSplit(const OpKernelContext* ctx, int64_t total,
                      int64_t cost_per_unit,
                      const std::function<void(int64_t, int64_t)>& fn);
}  // namespace op_kernel_internal

// Runs fn(begin, end) over [0, total): inline for small work (no
// allocation), in chunks on oneTBB otherwise. Blocks until every chunk is
// done.
template <typename Fn>
void ParallelFor(const OpKernelContext* ctx, int64_t total,
                 int64_t cost_per_unit, Fn&& fn) {
  if (total <= 0) return;
  if ((ctx != nullptr && ctx->intra_op_parallelism() <= 1) ||
      total * std::max<int64_t>(cost_per_unit, 1) <
          op_kernel_internal::kMinParallelCost) {
    fn(int64_t{0}, total);
    return;
  }
  op_kernel_internal::ParallelForSplit(ctx, total, cost_per_unit, fn);
}

// Runs fn(begin, end) on `blocks` nearly equal consecutive blocks of
// [0, total), as oneTBB tasks in the caller's arena; for kernels that know
// the block size their inner routine needs (GEMM panels). Blocks until
// every block is done.
void ParallelForBlocks(int64_t total, int64_t blocks,
                       const std::function<void(int64_t, int64_t)>& fn);

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_OP_KERNEL_H_
