// Kernels of TensorFlow 2's functional control flow: If/StatelessIf,
// While/StatelessWhile and PartitionedCall/StatefulPartitionedCall run
// functions of the graph's library (function.h). Each is asynchronous: no
// thread waits for a body, and a loop's next iteration starts on the
// step's runner, so a long loop neither blocks a thread nor deepens the
// stack.
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "runtime/executor/function.h"

namespace rill {
namespace {

// A predicate as TensorFlow reads it: a scalar's value (nonzero, or a
// non-empty string), or for any other tensor whether it has elements.
absl::StatusOr<bool> Truth(const Tensor& t) {
  if (t.dims() != 0) return t.NumElements() > 0;
  switch (t.dtype()) {
    case DT_BOOL:
      return t.flat<bool>()[0];
    case DT_FLOAT:
      return t.flat<float>()[0] != 0;
    case DT_DOUBLE:
      return t.flat<double>()[0] != 0;
    case DT_INT32:
      return t.flat<int32_t>()[0] != 0;
    case DT_INT64:
      return t.flat<int64_t>()[0] != 0;
    case DT_STRING:
      return !t.flat<std::string>()[0].empty();
    default:
      return absl::InvalidArgumentError(absl::StrCat("a condition of type ",
                                                     DataTypeName(t.dtype()),
                                                     " is not supported"));
  }
}

// Checks a body's results against the types the node declares and makes
// them the node's outputs.
absl::Status SetResults(OpKernelContext* ctx, const std::string& what,
                        std::vector<TensorValue> results) {
  if (static_cast<int>(results.size()) != ctx->num_outputs()) {
    return ctx->InvalidArgument(absl::StrCat(what, " returned ", results.size(),
                                             " values for ", ctx->num_outputs(),
                                             " outputs"));
  }
  for (int i = 0; i < ctx->num_outputs(); ++i) {
    const DataType want = BaseType(ctx->kernel().output_type(i));
    if (!results[i].is_ref() && want != DT_RESOURCE &&
        results[i].value.dtype() != want) {
      return ctx->InvalidArgument(absl::StrCat(
          what, " returned ", DataTypeName(results[i].value.dtype()),
          " for output ", i, ", which is ", DataTypeName(want)));
    }
    SetOutputValue(ctx, i, std::move(results[i]));
  }
  return absl::OkStatus();
}

std::vector<TensorValue> Inputs(OpKernelContext* ctx, int from) {
  std::vector<TensorValue> args;
  for (int i = from; i < ctx->num_inputs(); ++i) {
    args.push_back(InputValue(ctx, i));
  }
  return args;
}

// The bodies of the function attrs `first` and `second` (If's branches,
// While's condition and body), or the first error.
absl::Status TwoBodies(OpKernelConstruction* c, const char* first,
                       const char* second, std::unique_ptr<FunctionBody>* a,
                       std::unique_ptr<FunctionBody>* b) {
  auto x = FunctionBody::ForAttr(c, first);
  auto y = FunctionBody::ForAttr(c, second);
  absl::Status status = x.status();
  status.Update(y.status());
  if (status.ok()) {
    *a = *std::move(x);
    *b = *std::move(y);
  }
  return status;
}

class IfOp : public AsyncOpKernel {
 public:
  explicit IfOp(OpKernelConstruction* c) : AsyncOpKernel(c) {
    status_ = TwoBodies(c, "then_branch", "else_branch", &then_, &else_);
  }

  void ComputeAsync(OpKernelContext* ctx, DoneCallback done) const override {
    if (!status_.ok()) return done(status_);
    absl::StatusOr<bool> taken = Truth(ctx->input(0));
    if (!taken.ok())
      return done(ctx->InvalidArgument(taken.status().message()));
    const char* branch = *taken ? "then_branch" : "else_branch";
    (*taken ? then_ : else_)
        ->Call(ctx, Inputs(ctx, 1),
               [ctx, done, branch](absl::Status s,
                                   std::vector<TensorValue> results) {
                 if (s.ok()) s = SetResults(ctx, branch, std::move(results));
                 done(s);
               });
  }

 private:
  absl::Status status_;
  std::unique_ptr<FunctionBody> then_, else_;
};

class CallOp : public AsyncOpKernel {
 public:
  explicit CallOp(OpKernelConstruction* c) : AsyncOpKernel(c) {
    auto body = FunctionBody::ForAttr(c, "f");
    status_ = body.status();
    if (status_.ok()) body_ = *std::move(body);
  }

  void ComputeAsync(OpKernelContext* ctx, DoneCallback done) const override {
    if (!status_.ok()) return done(status_);
    body_->Call(ctx, Inputs(ctx, 0),
                [ctx, done](absl::Status s, std::vector<TensorValue> results) {
                  if (s.ok()) s = SetResults(ctx, "f", std::move(results));
                  done(s);
                });
  }

 private:
  absl::Status status_;
  std::unique_ptr<FunctionBody> body_;
};

// While: cond(vars) decides, body(vars) gives the next vars.
class WhileOp : public AsyncOpKernel {
 public:
  explicit WhileOp(OpKernelConstruction* c) : AsyncOpKernel(c) {
    status_ = TwoBodies(c, "cond", "body", &cond_, &body_);
    if (status_.ok() && cond_->num_results() != 1) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("node '", name(), "': the loop's condition returns ",
                       cond_->num_results(), " values, not 1"));
    }
  }

  void ComputeAsync(OpKernelContext* ctx, DoneCallback done) const override {
    if (!status_.ok()) return done(status_);
    auto loop = std::make_shared<Loop>();
    loop->op = this;
    loop->ctx = ctx;
    loop->done = std::move(done);
    loop->vars = Inputs(ctx, 0);
    Test(loop);
  }

 private:
  struct Loop {
    const WhileOp* op;
    OpKernelContext* ctx;
    DoneCallback done;
    std::vector<TensorValue> vars;
  };

  static void Test(std::shared_ptr<Loop> loop) {
    OpKernelContext* ctx = loop->ctx;
    if (ctx->cancellation() != nullptr && ctx->cancellation()->cancelled()) {
      return loop->done(ctx->cancellation()->status());
    }
    loop->op->cond_->Call(
        ctx, loop->vars,
        [loop](absl::Status s, std::vector<TensorValue> results) {
          absl::StatusOr<bool> go =
              s.ok() ? Truth(results[0].value) : absl::StatusOr<bool>(s);
          if (!go.ok()) return loop->done(go.status());
          if (!*go) {
            return loop->done(
                SetResults(loop->ctx, "the loop", std::move(loop->vars)));
          }
          Step(loop);
        });
  }

  static void Step(std::shared_ptr<Loop> loop) {
    loop->op->body_->Call(
        loop->ctx, loop->vars,
        [loop](absl::Status s, std::vector<TensorValue> results) {
          if (!s.ok()) return loop->done(s);
          if (results.size() != loop->vars.size()) {
            return loop->done(loop->ctx->InvalidArgument(
                absl::StrCat("the loop's body returns ", results.size(),
                             " values for ", loop->vars.size(), " variables")));
          }
          loop->vars = std::move(results);
          // The next iteration from the runner: the stack stays flat.
          const Runner* runner = loop->ctx->runner();
          if (runner != nullptr) {
            (*runner)([loop] { Test(loop); });
          } else {
            Test(loop);
          }
        });
  }

  absl::Status status_;
  std::unique_ptr<FunctionBody> cond_, body_;
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<IfOp>(KernelDef("If", kDeviceCpu));
  RegisterKernel<IfOp>(KernelDef("StatelessIf", kDeviceCpu));
  RegisterKernel<WhileOp>(KernelDef("While", kDeviceCpu));
  RegisterKernel<WhileOp>(KernelDef("StatelessWhile", kDeviceCpu));
  RegisterKernel<CallOp>(KernelDef("PartitionedCall", kDeviceCpu));
  RegisterKernel<CallOp>(KernelDef("StatefulPartitionedCall", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill
