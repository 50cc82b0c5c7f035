// Queues (FIFOQueueV2 and the Queue*V2 ops) and conditional accumulators
// (the ref-handle, resource and sparse families) on the CPU, with
// TensorFlow's semantics: what tf.compat.v1.train.SyncReplicasOptimizer
// runs on the parameter server.
//
// Queues and accumulators are handle resources (handle_resource.h).
// Kernels that must wait (a dequeue from an empty queue, a
// take before enough gradients arrived) are asynchronous: they join a line
// of waiters, served in order as the resource's state changes, and the
// step's cancellation (a deadline, a closed session, another partition's
// failure) takes them out of line. No pool thread waits.
#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/handle_resource.h"

namespace rill {
namespace {

using Completions = std::vector<std::function<void()>>;

void RunAll(Completions* ready) {
  for (auto& f : *ready) f();
}

// A queue or accumulator: named state with lines of waiting kernels.
class WaitingResource : public NamedResource {
 public:
  // Under mu(): finishes a wait if the resource's state allows (setting the
  // kernel's outputs) and returns the status to end it with; nullopt to
  // keep waiting.
  using Attempt = std::function<std::optional<absl::Status>()>;
  using DoneCallback = std::function<void(absl::Status)>;

  WaitingResource(const std::string& kind, const std::string& container,
                  const std::string& name)
      : NamedResource(kind, container, name) {}

  // Serves `attempt` in line `line` once every waiter before it has been
  // served; calls `done` once, with what the attempt returned or with the
  // step's cancellation. `admit`, run once under mu() when the wait
  // begins, may end it at once with an error.
  static void Wait(std::shared_ptr<WaitingResource> self, OpKernelContext* ctx,
                   int line, std::function<absl::Status()> admit,
                   Attempt attempt, DoneCallback done) {
    const StepCancellation* cancellation = ctx->cancellation();
    uint64_t id;
    {
      absl::MutexLock lock(&self->mu_);
      id = self->next_id_++;
    }
    StepCancellation::Token token = 0;
    if (cancellation != nullptr) {
      // Callbacks must not block: the waiter leaves its line on a pool
      // thread.
      const Runner* runner = ctx->runner();
      token = cancellation->AddCallback(
          [self, runner, id](const absl::Status& why) {
            (*runner)([self, id, why] { self->Cancel(id, why); });
          });
    }
    DoneCallback finish = [cancellation, token,
                           done = std::move(done)](absl::Status s) {
      if (cancellation != nullptr) cancellation->RemoveCallback(token);
      done(std::move(s));
    };
    Completions ready;
    {
      absl::MutexLock lock(&self->mu_);
      absl::Status admitted = admit ? admit() : absl::OkStatus();
      if (admitted.ok() && cancellation != nullptr &&
          cancellation->cancelled()) {
        admitted = cancellation->status();
      }
      if (!admitted.ok()) {
        ready.push_back([finish, admitted] { finish(admitted); });
      } else {
        self->lines_[line].push_back(
            Waiter{id, std::move(attempt), std::move(finish)});
        self->ServeLocked(&ready);
      }
    }
    RunAll(&ready);
  }

  // Ends waiter `id` with `why` if it is still waiting.
  void Cancel(uint64_t id, const absl::Status& why) {
    Completions ready;
    {
      absl::MutexLock lock(&mu_);
      for (auto& line : lines_) {
        auto it = std::find_if(line.begin(), line.end(),
                               [id](const Waiter& w) { return w.id == id; });
        if (it == line.end()) continue;
        ready.push_back([finish = std::move(it->finish), why] { finish(why); });
        line.erase(it);
        // The next in line may proceed now.
        ServeLocked(&ready);
        break;
      }
    }
    RunAll(&ready);
  }

 protected:
  struct Waiter {
    uint64_t id;
    Attempt attempt;
    DoneCallback finish;
  };

  // Serves each line's head while any can proceed.
  void ServeLocked(Completions* ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    bool progress = true;
    while (progress) {
      progress = false;
      for (auto& line : lines_) {
        while (!line.empty()) {
          std::optional<absl::Status> s = line.front().attempt();
          if (!s.has_value()) break;
          ready->push_back([finish = std::move(line.front().finish),
                            s = *std::move(s)] { finish(s); });
          line.pop_front();
          progress = true;
        }
      }
    }
  }

  // Ends every waiter of `line` with `why`.
  void FailLineLocked(int line, const absl::Status& why, Completions* ready)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (Waiter& w : lines_[line]) {
      ready->push_back([finish = std::move(w.finish), why] { finish(why); });
    }
    lines_[line].clear();
  }

  absl::Mutex mu_;
  std::deque<Waiter> lines_[2] ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;

 private:
};

// ---------------------------------------------------------------------------
// FIFOQueueV2.

using Tuple = std::vector<Tensor>;

std::string TypeList(const std::vector<DataType>& types) {
  std::vector<std::string> names;
  for (DataType t : types) names.push_back(DataTypeName(t));
  return absl::StrCat("[", absl::StrJoin(names, ", "), "]");
}

class FifoQueue : public WaitingResource {
 public:
  // Line 0 holds enqueuers (waiting for room), line 1 dequeuers (waiting
  // for elements).
  static constexpr int kEnqueuers = 0;
  static constexpr int kDequeuers = 1;

  FifoQueue(const std::string& container, const std::string& name,
            std::vector<DataType> types, std::vector<PartialTensorShape> shapes,
            int64_t capacity)
      : WaitingResource("FIFOQueue", container, name),
        types_(std::move(types)),
        shapes_(std::move(shapes)),
        capacity_(capacity) {}

  // An op's component types must be the queue's.
  absl::Status CheckTypes(const std::vector<DataType>& types) const {
    if (types == types_) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(DebugString(), " has component types ", TypeList(types_),
                     ", not ", TypeList(types)));
  }

  // A queue made by another node under the same shared_name must agree.
  absl::Status CheckSame(const std::vector<DataType>& types,
                         const std::vector<PartialTensorShape>& shapes,
                         int64_t capacity) const {
    RETURN_IF_ERROR(CheckTypes(types));
    if (capacity != capacity_) {
      return absl::InvalidArgumentError(absl::StrCat(
          DebugString(), " has capacity ", capacity_, ", not ", capacity));
    }
    bool same = shapes.size() == shapes_.size();
    for (size_t i = 0; same && i < shapes.size(); ++i) {
      same = shapes[i].DebugString() == shapes_[i].DebugString();
    }
    if (!same) {
      return absl::InvalidArgumentError(
          absl::StrCat(DebugString(), " has other component shapes"));
    }
    return absl::OkStatus();
  }

  // Checks one element's components against the queue's types and shapes.
  absl::Status CheckElement(const Tuple& tuple) const {
    for (size_t i = 0; i < tuple.size(); ++i) {
      if (!shapes_.empty() && !shapes_[i].IsCompatibleWith(tuple[i].shape())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "shape mismatch in component ", i, " of an element of ",
            DebugString(), ": expected ", shapes_[i].DebugString(), ", got ",
            tuple[i].shape().DebugString()));
      }
    }
    return absl::OkStatus();
  }

  void Enqueue(std::shared_ptr<FifoQueue> self, OpKernelContext* ctx,
               std::deque<Tuple> tuples, DoneCallback done) {
    auto pending = std::make_shared<std::deque<Tuple>>(std::move(tuples));
    FifoQueue* q = self.get();
    Wait(
        std::move(self), ctx, kEnqueuers,
        [q]() -> absl::Status {
          if (!q->closed_) return absl::OkStatus();
          return absl::CancelledError(
              absl::StrCat(q->DebugString(), " is closed"));
        },
        [q, pending]() -> std::optional<absl::Status> {
          while (!pending->empty() &&
                 (q->capacity_ < 0 ||
                  static_cast<int64_t>(q->elements_.size()) < q->capacity_)) {
            q->elements_.push_back(std::move(pending->front()));
            pending->pop_front();
          }
          if (pending->empty()) return absl::OkStatus();
          return std::nullopt;
        },
        std::move(done));
  }

  // n elements (n < 0: one element, its components unbatched); with
  // `up_to`, fewer once the queue is closed.
  void Dequeue(std::shared_ptr<FifoQueue> self, OpKernelContext* ctx, int64_t n,
               bool up_to, DoneCallback done) {
    FifoQueue* q = self.get();
    Wait(
        std::move(self), ctx, kDequeuers, nullptr,
        [q, ctx, n, up_to]() -> std::optional<absl::Status> {
          const int64_t want = n < 0 ? 1 : n;
          const int64_t have = static_cast<int64_t>(q->elements_.size());
          int64_t take = want;
          if (have < want) {
            if (!q->closed_) return std::nullopt;
            if (!up_to || have == 0) {
              return absl::OutOfRangeError(absl::StrCat(
                  q->DebugString(),
                  " is closed and has insufficient elements (requested ", want,
                  ", current size ", have, ")"));
            }
            take = have;
          }
          return q->TakeLocked(ctx, n < 0 ? -1 : take);
        },
        std::move(done));
  }

  void Close(bool cancel_pending_enqueues) {
    Completions ready;
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
      if (cancel_pending_enqueues) {
        FailLineLocked(kEnqueuers,
                       absl::CancelledError(absl::StrCat(
                           "enqueue to ", DebugString(), " cancelled: closed")),
                       &ready);
      }
      // Dequeuers that can no longer be served fail now.
      ServeLocked(&ready);
    }
    RunAll(&ready);
  }

  int64_t Size() {
    absl::MutexLock lock(&mu_);
    return static_cast<int64_t>(elements_.size());
  }
  bool IsClosed() {
    absl::MutexLock lock(&mu_);
    return closed_;
  }

 private:
  // Removes `n` elements into ctx's outputs: batched along a new first
  // dimension, or one element as it is (n < 0).
  absl::Status TakeLocked(OpKernelContext* ctx, int64_t n)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (n < 0) {
      Tuple t = std::move(elements_.front());
      elements_.pop_front();
      for (size_t i = 0; i < t.size(); ++i) ctx->set_output(i, std::move(t[i]));
      return absl::OkStatus();
    }
    // Shapes first, so a failure takes nothing.
    std::vector<TensorShape> batched;
    for (size_t i = 0; i < types_.size(); ++i) {
      TensorShape shape;
      if (n > 0) {
        shape = elements_[0][i].shape();
        for (int64_t k = 1; k < n; ++k) {
          if (elements_[k][i].shape() != shape) {
            return absl::InvalidArgumentError(absl::StrCat(
                "cannot batch component ", i, " of ", n, " elements of ",
                DebugString(), ": shapes ", shape.DebugString(), " and ",
                elements_[k][i].shape().DebugString(),
                " differ (give the queue its shapes)"));
          }
        }
      } else if (!shapes_.empty() && shapes_[i].IsFullyDefined()) {
        ASSIGN_OR_RETURN(shape, shapes_[i].AsTensorShape());
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("dequeuing 0 elements of ", DebugString(),
                         " needs fully defined component shapes"));
      }
      std::vector<int64_t> dims = {n};
      for (int d = 0; d < shape.dims(); ++d) dims.push_back(shape.dim_size(d));
      ASSIGN_OR_RETURN(TensorShape out, TensorShape::Create(dims));
      batched.push_back(std::move(out));
    }
    std::vector<Tensor*> outs;
    for (size_t i = 0; i < types_.size(); ++i) {
      ASSIGN_OR_RETURN(Tensor * out,
                       ctx->allocate_output_for_overwrite(i, batched[i]));
      outs.push_back(out);
    }
    for (int64_t k = 0; k < n; ++k) {
      for (size_t i = 0; i < types_.size(); ++i) {
        const Tensor& part = elements_[k][i];
        if (types_[i] == DT_STRING) {
          std::span<const std::string> from = part.flat<std::string>();
          std::span<std::string> to = outs[i]->flat<std::string>();
          std::copy(from.begin(), from.end(),
                    to.begin() + k * static_cast<int64_t>(from.size()));
        } else {
          const size_t bytes = part.TotalBytes();
          std::memcpy(static_cast<char*>(outs[i]->raw_data()) + k * bytes,
                      part.raw_data(), bytes);
        }
      }
    }
    elements_.erase(elements_.begin(), elements_.begin() + n);
    return absl::OkStatus();
  }

  const std::vector<DataType> types_;
  const std::vector<PartialTensorShape> shapes_;
  const int64_t capacity_;
  std::deque<Tuple> elements_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

class FifoQueueOp : public HandleOpBase {
 public:
  explicit FifoQueueOp(OpKernelConstruction* c) : HandleOpBase(c) {
    status_.Update(c->GetAttr("component_types", &types_));
    status_.Update(c->GetAttr("shapes", &shapes_));
    status_.Update(c->GetAttr("capacity", &capacity_));
    if (status_.ok() && !shapes_.empty() && shapes_.size() != types_.size()) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("node '", name(), "': ", shapes_.size(), " shapes for ",
                       types_.size(), " component types"));
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(std::shared_ptr<FifoQueue> q,
                     ctx->resources()->LookupOrCreate<FifoQueue>(
                         container_, shared_name_, [&] {
                           return std::make_shared<FifoQueue>(
                               container_, shared_name_, types_, shapes_,
                               capacity_);
                         }));
    absl::Status same = q->CheckSame(types_, shapes_, capacity_);
    if (!same.ok()) return ctx->InvalidArgument(same.message());
    SetHandle(ctx, q.get());
    return absl::OkStatus();
  }

 private:
  std::vector<DataType> types_;
  std::vector<PartialTensorShape> shapes_;
  int64_t capacity_ = -1;
};

// The queue's component types must be the op's (an error naming the node).
absl::Status CheckTypes(OpKernelContext* ctx, const FifoQueue& q,
                        const std::vector<DataType>& types) {
  absl::Status s = q.CheckTypes(types);
  return s.ok() ? s : ctx->InvalidArgument(s.message());
}

class EnqueueOp : public AsyncOpKernel {
 public:
  explicit EnqueueOp(OpKernelConstruction* c) : AsyncOpKernel(c) {
    many_ = c->node().op() == "QueueEnqueueManyV2";
    status_ = c->GetAttr("Tcomponents", &types_);
  }

  void ComputeAsync(OpKernelContext* ctx, DoneCallback done) const override {
    absl::StatusOr<std::shared_ptr<FifoQueue>> q = Prepare(ctx);
    if (!q.ok()) return done(q.status());
    absl::StatusOr<std::deque<Tuple>> tuples = Elements(ctx, **q);
    if (!tuples.ok()) return done(tuples.status());
    FifoQueue* queue = q->get();
    queue->Enqueue(*std::move(q), ctx, *std::move(tuples), std::move(done));
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::StatusOr<std::shared_ptr<FifoQueue>> Prepare(
      OpKernelContext* ctx) const {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(std::shared_ptr<FifoQueue> q,
                     LookupHandle<FifoQueue>(ctx, 0));
    RETURN_IF_ERROR(CheckTypes(ctx, *q, types_));
    return q;
  }

  // The elements the inputs make: one tuple, or (EnqueueMany) one per row
  // of the components' first dimension.
  absl::StatusOr<std::deque<Tuple>> Elements(OpKernelContext* ctx,
                                             const FifoQueue& q) const {
    const int n = static_cast<int>(types_.size());
    std::deque<Tuple> tuples;
    if (!many_) {
      Tuple t;
      for (int i = 0; i < n; ++i) t.push_back(ctx->input(1 + i));
      absl::Status s = q.CheckElement(t);
      if (!s.ok()) return ctx->InvalidArgument(s.message());
      tuples.push_back(std::move(t));
      return tuples;
    }
    int64_t rows = -1;
    std::vector<TensorShape> element_shapes;  // A component's row.
    for (int i = 0; i < n; ++i) {
      const Tensor& c = ctx->input(1 + i);
      if (c.dims() == 0) {
        return ctx->InvalidArgument(
            absl::StrCat("component ", i,
                         " is a scalar: enqueue_many takes a batch "
                         "along dimension 0"));
      }
      if (rows >= 0 && c.dim_size(0) != rows) {
        return ctx->InvalidArgument(
            absl::StrCat("components have different batch sizes: ", rows,
                         " and ", c.dim_size(0), " (component ", i, ")"));
      }
      rows = c.dim_size(0);
      std::vector<int64_t> dims(c.shape().dim_sizes().begin() + 1,
                                c.shape().dim_sizes().end());
      ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
      element_shapes.push_back(std::move(shape));
    }
    for (int64_t r = 0; r < rows; ++r) {
      Tuple t;
      for (int i = 0; i < n; ++i) {
        ASSIGN_OR_RETURN(Tensor row, ctx->input(1 + i).Slice(r, r + 1));
        ASSIGN_OR_RETURN(Tensor element, row.Reshape(element_shapes[i]));
        t.push_back(std::move(element));
      }
      absl::Status s = q.CheckElement(t);
      if (!s.ok()) return ctx->InvalidArgument(s.message());
      tuples.push_back(std::move(t));
    }
    return tuples;
  }

  bool many_ = false;
  absl::Status status_;
  std::vector<DataType> types_;
};

class DequeueOp : public AsyncOpKernel {
 public:
  explicit DequeueOp(OpKernelConstruction* c) : AsyncOpKernel(c) {
    const std::string& op = c->node().op();
    many_ = op != "QueueDequeueV2";
    up_to_ = op == "QueueDequeueUpToV2";
    status_ = c->GetAttr("component_types", &types_);
  }

  void ComputeAsync(OpKernelContext* ctx, DoneCallback done) const override {
    if (!status_.ok()) return done(status_);
    absl::StatusOr<std::shared_ptr<FifoQueue>> q =
        LookupHandle<FifoQueue>(ctx, 0);
    if (!q.ok()) return done(q.status());
    absl::Status types = CheckTypes(ctx, **q, types_);
    if (!types.ok()) return done(types);
    int64_t n = -1;
    if (many_) {
      const Tensor& count = ctx->input(1);
      if (count.NumElements() != 1) {
        return done(ctx->InvalidArgument(absl::StrCat(
            "n must be a scalar, not of shape ", count.shape().DebugString())));
      }
      n = count.flat<int32_t>()[0];
      if (n < 0) {
        return done(ctx->InvalidArgument(
            absl::StrCat("requested ", n, " elements: must be at least 0")));
      }
    }
    FifoQueue* queue = q->get();
    queue->Dequeue(*std::move(q), ctx, n, up_to_, std::move(done));
  }
  bool IsExpensive() const override { return false; }

 private:
  bool many_ = false;
  bool up_to_ = false;
  absl::Status status_;
  std::vector<DataType> types_;
};

class QueueCloseOp : public OpKernel {
 public:
  explicit QueueCloseOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("cancel_pending_enqueues", &cancel_pending_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(std::shared_ptr<FifoQueue> q,
                     LookupHandle<FifoQueue>(ctx, 0));
    q->Close(cancel_pending_);
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  bool cancel_pending_ = false;
};

class QueueSizeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(std::shared_ptr<FifoQueue> q,
                     LookupHandle<FifoQueue>(ctx, 0));
    if (type_string() == "QueueIsClosedV2") {
      ctx->set_output(0, Tensor::Scalar<bool>(q->IsClosed()));
    } else {
      ctx->set_output(0,
                      Tensor::Scalar<int32_t>(static_cast<int32_t>(q->Size())));
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

// ---------------------------------------------------------------------------
// Conditional accumulators: gradients applied with a local step older than
// the accumulator's global step are dropped; a take waits for
// `num_required` gradients, returns their mean (or sum), resets the sum and
// advances the global step. The sparse form (IndexedSlices gradients)
// merges each gradient's rows into the sum by index, as TensorFlow does (a
// merge of index lists it expects sorted), and a mean divides each row by
// the number of gradients that had it.

// Divides row r of `t` (rows along dimension 0; one row for a scalar) by
// counts[r].
template <typename T>
void DivideRows(Tensor* t, const std::vector<int64_t>& counts) {
  std::span<T> v = t->flat<T>();
  const size_t rows = counts.size();
  const size_t row = rows == 0 ? 0 : v.size() / rows;
  for (size_t r = 0; r < rows; ++r) {
    const T n = static_cast<T>(counts[r]);
    for (size_t j = 0; j < row; ++j) v[r * row + j] /= n;
  }
}

void DivideRowsOf(Tensor* t, const std::vector<int64_t>& counts) {
  switch (t->dtype()) {
    case DT_FLOAT:
      return DivideRows<float>(t, counts);
    case DT_DOUBLE:
      return DivideRows<double>(t, counts);
    case DT_INT32:
      return DivideRows<int32_t>(t, counts);
    case DT_INT64:
      return DivideRows<int64_t>(t, counts);
    default:
      return;  // The kernels are registered for these four only.
  }
}

class AccumulatorBase : public WaitingResource {
 public:
  static constexpr int kTakers = 0;

  AccumulatorBase(const char* kind, const std::string& container,
                  const std::string& name, DataType dtype,
                  PartialTensorShape shape, bool mean)
      : WaitingResource(kind, container, name),
        dtype_(dtype),
        shape_(std::move(shape)),
        mean_(mean) {}

  DataType dtype() const { return dtype_; }

  absl::Status CheckSame(DataType dtype, const PartialTensorShape& shape,
                         bool mean) const {
    if (dtype != dtype_ || shape.DebugString() != shape_.DebugString() ||
        mean != mean_) {
      return absl::InvalidArgumentError(absl::StrCat(
          DebugString(), " exists with dtype ", DataTypeName(dtype_),
          ", shape ", shape_.DebugString(), " and reduction ",
          mean_ ? "MEAN" : "SUM", "; this node asks for ", DataTypeName(dtype),
          ", ", shape.DebugString(), ", ", mean ? "MEAN" : "SUM"));
    }
    return absl::OkStatus();
  }

  // Waits until `num_required` gradients are in, then TakeLocked.
  static void Take(std::shared_ptr<AccumulatorBase> self, OpKernelContext* ctx,
                   int64_t num_required, DoneCallback done) {
    AccumulatorBase* a = self.get();
    Wait(
        std::move(self), ctx, kTakers, nullptr,
        [a, ctx, num_required]() -> std::optional<absl::Status> {
          if (a->count_ < num_required) return std::nullopt;
          absl::Status s = a->TakeLocked(ctx);
          a->count_ = 0;
          ++a->global_step_;
          return s;
        },
        std::move(done));
  }

  void SetGlobalStep(int64_t step) {
    absl::MutexLock lock(&mu_);
    global_step_ = step;
  }
  int64_t NumAccumulated() {
    absl::MutexLock lock(&mu_);
    return count_;
  }

 protected:
  // Sets the kernel's outputs from the sum and clears it (under mu_).
  virtual absl::Status TakeLocked(OpKernelContext* ctx) = 0;
  // A gradient computed before the last take: dropped, as TensorFlow does.
  bool StaleLocked(int64_t local_step) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return local_step < global_step_;
  }
  // Counts an applied gradient and serves a waiting take.
  void AppliedLocked(Completions* ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++count_;
    ServeLocked(ready);
  }

  const DataType dtype_;
  const PartialTensorShape shape_;
  const bool mean_;
  int64_t global_step_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t count_ ABSL_GUARDED_BY(mu_) = 0;
};

class Accumulator : public AccumulatorBase {
 public:
  Accumulator(const std::string& container, const std::string& name,
              DataType dtype, PartialTensorShape shape, bool mean)
      : AccumulatorBase("ConditionalAccumulator", container, name, dtype,
                        std::move(shape), mean) {}

  template <typename T>
  absl::Status Apply(int64_t local_step, const Tensor& gradient) {
    Completions ready;
    {
      absl::MutexLock lock(&mu_);
      if (StaleLocked(local_step)) return absl::OkStatus();
      if (!shape_.IsCompatibleWith(gradient.shape())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "gradient of shape ", gradient.shape().DebugString(), " for ",
            DebugString(), " of shape ", shape_.DebugString()));
      }
      if (count_ == 0) {
        ASSIGN_OR_RETURN(sum_, gradient.DeepCopy());
      } else {
        if (gradient.shape() != sum_.shape()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "gradient of shape ", gradient.shape().DebugString(), " for ",
              DebugString(), " which holds gradients of shape ",
              sum_.shape().DebugString()));
        }
        std::span<T> sum = sum_.flat<T>();
        std::span<const T> g = gradient.flat<T>();
        for (size_t i = 0; i < sum.size(); ++i) sum[i] += g[i];
      }
      AppliedLocked(&ready);
    }
    RunAll(&ready);
    return absl::OkStatus();
  }

 private:
  absl::Status TakeLocked(OpKernelContext* ctx) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Tensor out = std::move(sum_);
    if (mean_) DivideRowsOf(&out, {count_});
    sum_.Clear();
    ctx->set_output(0, std::move(out));
    return absl::OkStatus();
  }

  Tensor sum_ ABSL_GUARDED_BY(mu_);
};

class SparseAccumulator : public AccumulatorBase {
 public:
  SparseAccumulator(const std::string& container, const std::string& name,
                    DataType dtype, PartialTensorShape shape, bool mean)
      : AccumulatorBase("SparseConditionalAccumulator", container, name, dtype,
                        std::move(shape), mean) {}

  // `dense_shape` is the gradient's shape when it is known (else null).
  template <typename T>
  absl::Status Apply(int64_t local_step, const Tensor& indices,
                     const Tensor& values, const Tensor* dense_shape) {
    RETURN_IF_ERROR(Check(indices, values, dense_shape));
    Completions ready;
    {
      absl::MutexLock lock(&mu_);
      if (StaleLocked(local_step)) return absl::OkStatus();
      std::vector<int64_t> inner(values.shape().dim_sizes().begin() + 1,
                                 values.shape().dim_sizes().end());
      if (count_ > 0 && inner != inner_) {
        return absl::InvalidArgumentError(absl::StrCat(
            "gradient rows of shape [", absl::StrJoin(inner, ","), "] for ",
            DebugString(), " which holds rows of shape [",
            absl::StrJoin(inner_, ","), "]"));
      }
      if (count_ == 0) {
        inner_ = inner;
        indices_.clear();
        counts_.clear();
        rows_.clear();
      }
      Merge<T>(indices.flat<int64_t>(), values);
      AppliedLocked(&ready);
    }
    RunAll(&ready);
    return absl::OkStatus();
  }

 private:
  // The gradient's parts agree with each other and with the shape the
  // accumulator was made with.
  absl::Status Check(const Tensor& indices, const Tensor& values,
                     const Tensor* dense_shape) const {
    if (indices.dims() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("gradient_indices must be a vector, not of shape ",
                       indices.shape().DebugString()));
    }
    if (values.dims() < 1 || values.dim_size(0) != indices.dim_size(0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gradient_values of shape ", values.shape().DebugString(),
          " must have one row per index (", indices.dim_size(0), ")"));
    }
    std::vector<int64_t> want(values.shape().dim_sizes().begin(),
                              values.shape().dim_sizes().end());
    want[0] = -1;
    if (dense_shape != nullptr) {
      if (dense_shape->dims() != 1 ||
          dense_shape->NumElements() != values.dims()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "gradient_shape ", dense_shape->DebugString(),
            " does not fit values of shape ", values.shape().DebugString()));
      }
      std::span<const int64_t> dims = dense_shape->flat<int64_t>();
      for (int d = 1; d < values.dims(); ++d) {
        if (dims[d] != values.dim_size(d)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "gradient_shape ", dense_shape->DebugString(),
              " does not fit values of shape ", values.shape().DebugString()));
        }
      }
      want[0] = dims[0];
    }
    absl::StatusOr<PartialTensorShape> got = PartialTensorShape::Create(want);
    if (!got.ok() || !shape_.IsCompatibleWith(*got)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a gradient of shape ",
          got.ok() ? got->DebugString() : std::string("?"), " for ",
          DebugString(), " of shape ", shape_.DebugString()));
    }
    return absl::OkStatus();
  }

  // Merges (indices, values) into the sum: two index lists walked
  // together, equal indices added (TensorFlow's merge of sorted lists).
  template <typename T>
  void Merge(std::span<const int64_t> idx, const Tensor& values)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const size_t row =
        values.dim_size(0) == 0 ? 0 : values.NumElements() / values.dim_size(0);
    const T* in = values.flat<T>().data();
    const T* old = reinterpret_cast<const T*>(rows_.data());
    std::vector<int64_t> indices, counts;
    std::vector<T> rows;
    auto take = [&](const T* src, int64_t index, int64_t count) {
      indices.push_back(index);
      counts.push_back(count);
      rows.insert(rows.end(), src, src + row);
    };
    size_t i = 0, j = 0;
    while (i < indices_.size() && j < idx.size()) {
      if (indices_[i] < idx[j]) {
        take(old + i * row, indices_[i], counts_[i]);
        ++i;
      } else if (indices_[i] > idx[j]) {
        take(in + j * row, idx[j], 1);
        ++j;
      } else {
        take(old + i * row, indices_[i], counts_[i] + 1);
        T* sum = rows.data() + rows.size() - row;
        for (size_t k = 0; k < row; ++k) sum[k] += in[j * row + k];
        ++i;
        ++j;
      }
    }
    for (; i < indices_.size(); ++i) {
      take(old + i * row, indices_[i], counts_[i]);
    }
    for (; j < idx.size(); ++j) take(in + j * row, idx[j], 1);
    indices_ = std::move(indices);
    counts_ = std::move(counts);
    rows_.assign(reinterpret_cast<const char*>(rows.data()),
                 rows.size() * sizeof(T));
  }

  absl::Status TakeLocked(OpKernelContext* ctx) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const int64_t n = static_cast<int64_t>(indices_.size());
    std::vector<int64_t> dims = {n};
    dims.insert(dims.end(), inner_.begin(), inner_.end());
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
    ASSIGN_OR_RETURN(Tensor values, Tensor::CreateUninitialized(dtype_, shape));
    if (!rows_.empty()) {
      std::memcpy(values.raw_data(), rows_.data(), rows_.size());
    }
    if (mean_) DivideRowsOf(&values, counts_);
    // The dense shape: the accumulator's where it knows it (-1 for an
    // unknown number of rows), else the rows'.
    std::vector<int64_t> dense = {-1};
    dense.insert(dense.end(), inner_.begin(), inner_.end());
    if (!shape_.unknown_rank() &&
        shape_.dims() == static_cast<int>(dense.size())) {
      for (int d = 0; d < shape_.dims(); ++d) {
        if (shape_.dim_size(d) >= 0) dense[d] = shape_.dim_size(d);
      }
    }
    ctx->set_output(0, Tensor::FromVector<int64_t>(indices_));
    ctx->set_output(1, std::move(values));
    ctx->set_output(2, Tensor::FromVector<int64_t>(dense));
    indices_.clear();
    counts_.clear();
    rows_.clear();
    return absl::OkStatus();
  }

  std::vector<int64_t> inner_ ABSL_GUARDED_BY(mu_);    // A row's shape.
  std::vector<int64_t> indices_ ABSL_GUARDED_BY(mu_);  // Merged, in order.
  std::vector<int64_t> counts_ ABSL_GUARDED_BY(mu_);   // Gradients per row.
  std::string rows_ ABSL_GUARDED_BY(mu_);              // The rows' sums.
};

template <typename A>
class AccumulatorOp : public HandleOpBase {
 public:
  explicit AccumulatorOp(OpKernelConstruction* c) : HandleOpBase(c) {
    status_.Update(c->GetAttr("dtype", &dtype_));
    status_.Update(c->GetAttr("shape", &shape_));
    std::string reduction;
    status_.Update(c->GetAttr("reduction_type", &reduction));
    mean_ = reduction != "SUM";
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(
        std::shared_ptr<A> a,
        ctx->resources()->LookupOrCreate<A>(container_, shared_name_, [&] {
          return std::make_shared<A>(container_, shared_name_, dtype_, shape_,
                                     mean_);
        }));
    absl::Status same = a->CheckSame(dtype_, shape_, mean_);
    if (!same.ok()) return ctx->InvalidArgument(same.message());
    SetHandle(ctx, a.get());
    return absl::OkStatus();
  }

 private:
  DataType dtype_ = DT_INVALID;
  PartialTensorShape shape_;
  bool mean_ = true;
};

// The accumulator of input 0, whose dtype must be `dtype` (any: DT_INVALID).
template <typename A>
absl::StatusOr<std::shared_ptr<A>> AccumulatorOf(OpKernelContext* ctx,
                                                 DataType dtype) {
  ASSIGN_OR_RETURN(std::shared_ptr<A> a, LookupHandle<A>(ctx, 0));
  if (dtype != DT_INVALID && a->dtype() != dtype) {
    return ctx->InvalidArgument(
        absl::StrCat(a->DebugString(), " holds ", DataTypeName(a->dtype()),
                     " gradients, not ", DataTypeName(dtype)));
  }
  return a;
}

absl::StatusOr<int64_t> ScalarInput(OpKernelContext* ctx, int i,
                                    absl::string_view what) {
  const Tensor& t = ctx->input(i);
  if (t.dims() != 0) {
    return ctx->InvalidArgument(absl::StrCat(
        what, " must be a scalar, not of shape ", t.shape().DebugString()));
  }
  return t.dtype() == DT_INT32 ? t.scalar<int32_t>() : t.scalar<int64_t>();
}

template <typename T>
class ApplyGradientOp : public OpKernel {
 public:
  explicit ApplyGradientOp(OpKernelConstruction* c) : OpKernel(c) {
    sparse_ = c->node().op() == "SparseAccumulatorApplyGradient";
    if (sparse_) status_ = c->GetAttr("has_known_shape", &has_known_shape_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(int64_t local_step, ScalarInput(ctx, 1, "local_step"));
    absl::Status s;
    if (sparse_) {
      ASSIGN_OR_RETURN(
          std::shared_ptr<SparseAccumulator> a,
          AccumulatorOf<SparseAccumulator>(ctx, DataTypeToEnum<T>::value));
      s = a->Apply<T>(local_step, ctx->input(2), ctx->input(3),
                      has_known_shape_ ? &ctx->input(4) : nullptr);
    } else {
      ASSIGN_OR_RETURN(
          std::shared_ptr<Accumulator> a,
          AccumulatorOf<Accumulator>(ctx, DataTypeToEnum<T>::value));
      s = a->Apply<T>(local_step, ctx->input(2));
    }
    if (!s.ok()) return ctx->InvalidArgument(s.message());
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  bool sparse_ = false;
  bool has_known_shape_ = false;
  absl::Status status_;
};

template <typename T>
class TakeGradientOp : public AsyncOpKernel {
 public:
  using AsyncOpKernel::AsyncOpKernel;
  void ComputeAsync(OpKernelContext* ctx, DoneCallback done) const override {
    absl::StatusOr<std::shared_ptr<AccumulatorBase>> a;
    if (type_string() == "SparseAccumulatorTakeGradient") {
      a = AccumulatorOf<SparseAccumulator>(ctx, DataTypeToEnum<T>::value);
    } else {
      a = AccumulatorOf<Accumulator>(ctx, DataTypeToEnum<T>::value);
    }
    if (!a.ok()) return done(a.status());
    absl::StatusOr<int64_t> n = ScalarInput(ctx, 1, "num_required");
    if (!n.ok()) return done(n.status());
    if (*n < 1) {
      return done(ctx->InvalidArgument(
          absl::StrCat("num_required must be positive, not ", *n)));
    }
    AccumulatorBase::Take(*std::move(a), ctx, *n, std::move(done));
  }
  bool IsExpensive() const override { return false; }
};

class AccumulatorStateOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(std::shared_ptr<AccumulatorBase> a,
                     AccumulatorOf<AccumulatorBase>(ctx, DT_INVALID));
    if (num_inputs() == 2) {  // *SetGlobalStep
      ASSIGN_OR_RETURN(int64_t step, ScalarInput(ctx, 1, "new_global_step"));
      a->SetGlobalStep(step);
    } else {  // *NumAccumulated
      ctx->set_output(0, Tensor::Scalar<int32_t>(
                             static_cast<int32_t>(a->NumAccumulated())));
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<FifoQueueOp>(KernelDef("FIFOQueueV2", kDeviceCpu));
  RegisterKernel<EnqueueOp>(KernelDef("QueueEnqueueV2", kDeviceCpu));
  RegisterKernel<EnqueueOp>(KernelDef("QueueEnqueueManyV2", kDeviceCpu));
  for (const char* op :
       {"QueueDequeueV2", "QueueDequeueManyV2", "QueueDequeueUpToV2"}) {
    RegisterKernel<DequeueOp>(KernelDef(op, kDeviceCpu));
  }
  RegisterKernel<QueueCloseOp>(KernelDef("QueueCloseV2", kDeviceCpu));
  RegisterKernel<QueueSizeOp>(KernelDef("QueueSizeV2", kDeviceCpu));
  RegisterKernel<QueueSizeOp>(KernelDef("QueueIsClosedV2", kDeviceCpu));
  for (const std::string prefix : {"", "Resource"}) {
    RegisterKernel<AccumulatorOp<Accumulator>>(
        KernelDef(absl::StrCat(prefix, "ConditionalAccumulator"), kDeviceCpu));
    RegisterKernel<AccumulatorStateOp>(KernelDef(
        absl::StrCat(prefix, "AccumulatorNumAccumulated"), kDeviceCpu));
    RegisterKernel<AccumulatorStateOp>(KernelDef(
        absl::StrCat(prefix, "AccumulatorSetGlobalStep"), kDeviceCpu));
  }
  RegisterKernel<AccumulatorOp<SparseAccumulator>>(
      KernelDef("SparseConditionalAccumulator", kDeviceCpu));
  for (const std::string prefix : {"", "Resource", "Sparse"}) {
    RegisterKernelForTypes<ApplyGradientOp, float, double, int32_t, int64_t>(
        KernelDef(absl::StrCat(prefix, "AccumulatorApplyGradient"), kDeviceCpu),
        "dtype");
    RegisterKernelForTypes<TakeGradientOp, float, double, int32_t, int64_t>(
        KernelDef(absl::StrCat(prefix, "AccumulatorTakeGradient"), kDeviceCpu),
        "dtype");
  }
  return true;
}();

}  // namespace
}  // namespace rill
