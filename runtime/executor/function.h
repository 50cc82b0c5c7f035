// Functions of a graph's library (TensorFlow's FunctionDefs) made runnable:
// a body becomes a Graph whose arguments are _Arg nodes and whose results
// are _Retval nodes, run by an Executor with a call frame. The kernels of
// If/StatelessIf, While/StatelessWhile and (Stateful)PartitionedCall
// (functional_ops.cc) call them.
#ifndef RILL_RUNTIME_EXECUTOR_FUNCTION_H_
#define RILL_RUNTIME_EXECUTOR_FUNCTION_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/framework/op_kernel.h"
#include "core/graph/graph.h"
#include "runtime/executor/executor.h"

namespace rill {

// Calls nested deeper than this are refused (a function that calls itself
// would otherwise recurse until the stack ends).
inline constexpr int kMaxFunctionDepth = 32;

// The graph of function `name` of `library`: one _Arg node per input (named
// as the input), the body's nodes with their inputs rewritten from the
// FunctionDef form ("node:output_arg:index") to the graph form
// ("node:flat_index"), and one _Retval per output. The graph carries the
// library, for the calls it makes. NOT_FOUND when the library has no such
// function; INVALID_ARGUMENT naming what does not resolve.
absl::StatusOr<std::unique_ptr<Graph>> InstantiateFunction(
    const ::tensorflow::FunctionDefLibrary& library, const std::string& name);

// A function ready to run on one device: its executor and result count.
class FunctionBody {
 public:
  // The function named by func attr `attr` of the kernel being made.
  static absl::StatusOr<std::unique_ptr<FunctionBody>> ForAttr(
      OpKernelConstruction* c, const std::string& attr);

  int num_results() const { return num_results_; }

  using Done =
      std::function<void(absl::Status, std::vector<TensorValue> results)>;
  // Runs the body on `args` within ctx's step (its rendezvous, collectives,
  // runner and cancellation); `done` gets the results, on some thread.
  void Call(OpKernelContext* ctx, std::vector<TensorValue> args,
            Done done) const;
  // Runs the body on `args` on the calling thread, outside any step's
  // rendezvous (for kernels that call a function from their own state, as
  // a dataset's map function is called from an iterator), and returns the
  // results.
  absl::StatusOr<std::vector<Tensor>> CallInline(std::vector<Tensor> args,
                                                 int64_t step_id) const;

 private:
  std::string name_;
  std::unique_ptr<Executor> executor_;
  int num_results_ = 0;
};

// Input i of ctx as its edge carries it (value or ref).
TensorValue InputValue(OpKernelContext* ctx, int i);
// Sets output i to a value or a ref.
void SetOutputValue(OpKernelContext* ctx, int i, TensorValue v);

}  // namespace rill

#endif  // RILL_RUNTIME_EXECUTOR_FUNCTION_H_
