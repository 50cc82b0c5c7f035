#include "runtime/executor/executor.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <limits>
#include <thread>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "runtime/device/device.h"

namespace rill {

// What a step needs of a node, kept small and flat: a step of 10^4 scalar
// nodes is bound by the cache lines it touches per node.
struct Executor::NodeItem {
  const Node* node = nullptr;
  const OpKernel* kernel = nullptr;  // Owned by kernels_.
  int input_start = 0;  // First slot of this node's inputs in the step.
  int num_inputs = 0;
  int initial_pending = 0;
  int num_outputs = 0;
  // Output o's consumers are targets_[bounds[o] .. bounds[o + 1]) and the
  // control successors targets_[bounds[num_outputs] .. bounds[num_outputs
  // + 1]), where bounds = &target_bounds_[bounds_start].
  int bounds_start = 0;
  bool expensive = false;  // Cached kernel->IsExpensive().
  bool async = false;
  // Merge is ready on its first live input (not on all of them); _Send and
  // _Recv run even when dead, to carry the deadness across devices.
  bool is_merge = false;
  bool is_transfer = false;
  int merge_index = -1;  // Into the step's merge counters.
};

// Allocating and clearing 10,000 input slots per step would cost more than
// running 10,000 scalar kernels: steps borrow them from a pool instead. A
// buffer goes back with every slot empty.
struct Executor::StepBuffers {
  StepBuffers(size_t nodes, size_t slots, size_t merges)
      : pending(nodes),
        inputs(slots),
        dead(nodes),
        merge_dead(merges),
        merge_live(merges) {}
  std::vector<std::atomic<int>> pending;
  std::vector<TensorValue> inputs;
  // Set before a node's last pending decrement when one of its inputs
  // (data or control) is dead.
  std::vector<std::atomic<bool>> dead;
  // Per Merge: how many inputs arrived dead, and whether a live one came.
  std::vector<std::atomic<int>> merge_dead;
  std::vector<std::atomic<bool>> merge_live;
};

std::unique_ptr<Executor::StepBuffers> Executor::TakeBuffers() const {
  {
    absl::MutexLock lock(&pool_mu_);
    if (!pool_.empty()) {
      std::unique_ptr<StepBuffers> b = std::move(pool_.back());
      pool_.pop_back();
      return b;
    }
  }
  return std::make_unique<StepBuffers>(items_.size(), num_input_slots_,
                                       num_merges_);
}

void Executor::ReturnBuffers(std::unique_ptr<StepBuffers> buffers) const {
  absl::MutexLock lock(&pool_mu_);
  pool_.push_back(std::move(buffers));
}

namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int ThreadId() {
  static std::atomic<int> next{0};
  thread_local int id = next++;
  return id;
}

// A node whose runs cost fewer cycles than this (a few microseconds) is
// cheap whatever its kernel says: handing it to another thread would cost
// more than running it.
constexpr uint32_t kCheapCycles = 10000;
// A node's cost before it ran, and after its first run, which is not
// counted: it pays for first allocations, page faults and cold caches.
constexpr uint32_t kUnknownCost = std::numeric_limits<uint32_t>::max();
constexpr uint32_t kRanOnce = kUnknownCost - 1;

uint64_t Cycles() {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return std::chrono::steady_clock::now().time_since_epoch().count();
#endif
}

// How many node loops this thread is inside. A _Recv's callback that comes
// on a thread already running nodes (the _Send's) hands what it makes ready
// to the pool rather than recursing into it.
thread_local int running_depth = 0;

}  // namespace

bool Executor::TimeThisStep() const {
  // The first steps, then one in eight: enough to follow costs that change,
  // at two clock reads per node.
  const uint64_t n = steps_started_.fetch_add(1, std::memory_order_relaxed);
  return n < 4 || n % 8 == 0;
}

bool Executor::ProvedCheap(int id) const {
  return costs_[id].load(std::memory_order_relaxed) < kCheapCycles;
}

void Executor::RecordCost(int id, uint64_t cycles) const {
  // A run past twice the threshold counts as twice the threshold: the
  // estimate only decides cheap or not, and one outlier (the thread
  // preempted, a page fault) of a million cycles would otherwise keep a
  // cheap node on the pool for dozens of timed steps.
  const uint32_t now =
      static_cast<uint32_t>(std::min<uint64_t>(cycles, 2 * kCheapCycles));
  const uint32_t before = costs_[id].load(std::memory_order_relaxed);
  // The first run is skipped, the second taken as is; after that a running
  // average that forgets fast: one run at twice the threshold makes a cheap
  // node expensive again, and one or two cheap runs make it cheap. Concurrent
  // steps may race here; either estimate will do.
  uint32_t next = before / 2 + now / 2;
  if (before == kUnknownCost) next = kRanOnce;
  if (before == kRanOnce) next = now;
  costs_[id].store(next, std::memory_order_relaxed);
}

// The state of one step.
class ExecutorState {
 public:
  ExecutorState(const Executor* executor, const Executor::Args& args,
                std::function<void(absl::Status)> done)
      : executor_(executor),
        args_(args),
        done_(std::move(done)),
        buffers_(executor->TakeBuffers()),
        pending_(buffers_->pending),
        inputs_(buffers_->inputs),
        dead_(buffers_->dead),
        timed_(executor->TimeThisStep()) {
    for (size_t i = 0; i < executor->items_.size(); ++i) {
      pending_[i].store(executor->items_[i].initial_pending,
                        std::memory_order_relaxed);
    }
    if (executor->may_be_dead_) {
      for (auto& d : dead_) d.store(false, std::memory_order_relaxed);
    }
    for (auto& m : buffers_->merge_dead) m.store(0, std::memory_order_relaxed);
    for (auto& m : buffers_->merge_live)
      m.store(false, std::memory_order_relaxed);
  }

  void Start() {
    const auto& roots = executor_->roots_;
    if (roots.empty()) {
      Finish();
      return;
    }
    // Roots that proved cheap run here, on the caller's thread, unless it
    // is already running nodes. The other cheap roots (constants, feeds)
    // run together in one task, so their consumers are filled in from one
    // thread rather than two racing over the same slots and counters;
    // expensive roots get tasks of their own.
    const bool here = running_depth == 0;
    std::vector<int> now, cheap, expensive;
    for (int id : roots) {
      if (here && executor_->ProvedCheap(id)) {
        now.push_back(id);
      } else {
        (executor_->items_[id].expensive ? expensive : cheap).push_back(id);
      }
    }
    // Every task is counted before any starts: none may finish the step
    // while others are still to be launched.
    outstanding_.store(static_cast<int>(expensive.size()) + !cheap.empty() +
                       !now.empty());
    for (int id : expensive) {
      args_.runner([this, id] { Process(id); });
    }
    if (!cheap.empty()) {
      args_.runner([this, cheap = std::move(cheap)] {
        ReadyQueue ready;
        ready.ids.assign(cheap.begin(), cheap.end());
        ProcessQueue(&ready);
        TaskDone();
      });
    }
    if (!now.empty()) {
      ReadyQueue ready;
      ready.ids.assign(now.begin(), now.end());
      ready.on_pool = false;
      ProcessQueue(&ready);
      TaskDone();
    }
  }

 private:
  struct ReadyQueue {
    std::deque<int> ids;
    // Whether this thread is the runner's. A pool thread runs what its
    // kernel calls cheap, and expensive work when it has nothing else to
    // do; another thread (a gRPC thread, the caller) runs only nodes that
    // proved cheap, so it is never held up by real work.
    bool on_pool = true;
  };

  // The step ends when no task is left: outstanding_ counts tasks (a run
  // of nodes on one thread, or an async kernel waiting for its callback),
  // not nodes, so nodes run inline cost no atomic bookkeeping.
  void Schedule(int id) {
    outstanding_.fetch_add(1, std::memory_order_relaxed);
    args_.runner([this, id] { Process(id); });
  }

  // Runs `id` and then every cheap node it makes ready, on this thread.
  void Process(int id) {
    ReadyQueue ready;
    ready.ids.push_back(id);
    ProcessQueue(&ready);
    TaskDone();
  }

  void ProcessQueue(ReadyQueue* ready) {
    ++running_depth;
    while (!ready->ids.empty()) {
      const int next = ready->ids.front();
      ready->ids.pop_front();
      RunNode(next, ready);
    }
    --running_depth;
  }

  void RunNode(int id, ReadyQueue* ready) {
    const Executor::NodeItem& item = executor_->items_[id];
    // The first consumers will most likely run next on this thread: start
    // loading their kernels (a vtable call away) while this node runs.
    {
      const int* bounds = &executor_->target_bounds_[item.bounds_start];
      const int end = std::min(bounds[item.num_outputs + 1], bounds[0] + 2);
      for (int t = bounds[0]; t < end; ++t) {
        __builtin_prefetch(
            executor_->items_[executor_->targets_[t].dst].kernel);
      }
    }
    if (args_.cancellation != nullptr && args_.cancellation->cancelled() &&
        !cancelled_.load(std::memory_order_acquire)) {
      RecordError(args_.cancellation->status());
    }
    if (cancelled_.load(std::memory_order_acquire)) {
      ReleaseInputs(item);
      return;
    }
    const bool dead = dead_[id].load(std::memory_order_relaxed);
    if (dead && !item.is_transfer) {
      // On an untaken branch: do not run; pass the deadness on.
      ReleaseInputs(item);
      OpKernelContext::OutputVector outputs(item.num_outputs);
      for (TensorValue& v : outputs) v.is_dead = true;
      absl::Status s = Propagate(item, &outputs, ready, /*node_dead=*/true);
      if (!s.ok()) RecordError(s);
      return;
    }
    std::span<TensorValue> inputs(inputs_.data() + item.input_start,
                                  item.num_inputs);
    absl::Status s = PrepareInputs(item, inputs);
    const int64_t start_us = args_.stats != nullptr ? NowMicros() : 0;
    if (s.ok()) {
      OpKernelContext::Params p;
      p.kernel = item.kernel;
      p.allocator = executor_->device_->allocator();
      p.resources = executor_->device_->resource_manager();
      p.call_frame = args_.call_frame;
      p.rendezvous = args_.rendezvous;
      p.collectives = args_.collectives;
      p.cancellation = args_.cancellation;
      p.device_name = &executor_->device_->name();
      p.step_id = args_.step_id;
      p.inputs = inputs;
      p.num_outputs = item.num_outputs;
      p.runner = &args_.runner;
      p.intra_op_parallelism = 2;
      p.is_input_dead = dead;
      if (item.async) {
        RunAsyncNode(id, p, start_us);
        return;
      }
      OpKernelContext ctx(p);
      const uint64_t begin = timed_ ? Cycles() : 0;
      s = item.kernel->Compute(&ctx);
      if (timed_) executor_->RecordCost(id, Cycles() - begin);
      FinishNode(item, s, ctx.outputs(), start_us, ready);
      return;
    }
    OpKernelContext::OutputVector none;
    FinishNode(item, s, &none, start_us, ready);
  }

  // Async kernels (_Recv) return at once; their callback finishes the node
  // and goes on with what it makes ready, so no pool thread ever waits.
  // The callback may come on any thread (a gRPC thread for a remote
  // tensor): it runs there only nodes that proved cheap.
  void RunAsyncNode(int id, const OpKernelContext::Params& p,
                    int64_t start_us) {
    auto call = std::make_shared<OpKernelContext>(p);
    OpKernelContext* ctx = call.get();
    const auto* kernel = static_cast<const AsyncOpKernel*>(p.kernel);
    outstanding_.fetch_add(1, std::memory_order_relaxed);  // The callback.
    kernel->ComputeAsync(ctx, [this, id, call, ctx, start_us](absl::Status s) {
      const Executor::NodeItem& item = executor_->items_[id];
      OpKernelContext::OutputVector outputs;
      if (s.ok()) outputs = std::move(*ctx->outputs());
      ReadyQueue ready;
      ready.on_pool = false;
      FinishNode(item, s, &outputs, start_us, &ready);
      if (running_depth == 0) {
        ProcessQueue(&ready);
      } else {
        for (int r : ready.ids) Schedule(r);
      }
      TaskDone();
    });
  }

  void FinishNode(const Executor::NodeItem& item, absl::Status s,
                  OpKernelContext::OutputVector* outputs, int64_t start_us,
                  ReadyQueue* ready) {
    ReleaseInputs(item);
    if (args_.stats != nullptr) {
      NodeExecStats stats;
      stats.start_us = start_us;
      stats.end_us = NowMicros();
      stats.node_name = item.node->name();
      stats.op = item.node->op();
      stats.device = executor_->device_->name();
      stats.thread_id = ThreadId();
      absl::MutexLock lock(&stats_mu_);
      args_.stats->push_back(std::move(stats));
    }
    // A dead _Send, or a _Recv that received a dead tensor, passes the
    // deadness on to its control successors too.
    const bool node_dead =
        item.is_transfer &&
        (dead_[item.node->id()].load(std::memory_order_relaxed) ||
         (!outputs->empty() && (*outputs)[0].is_dead));
    if (s.ok()) s = Propagate(item, outputs, ready, node_dead);
    if (!s.ok()) RecordError(s);
  }

  // Turns ref inputs into values where the kernel takes values, reading the
  // variable's current tensor under its lock.
  absl::Status PrepareInputs(const Executor::NodeItem& item,
                             std::span<TensorValue> inputs) {
    for (int i = 0; i < item.num_inputs; ++i) {
      TensorValue& v = inputs[i];
      if (!v.is_ref() || v.is_dead) continue;
      // A resource handle travels as a ref to the resource's tensor; the
      // kernels that take it (ReadVariableOp, ...) check it themselves.
      if (item.node->input_type(i) == DT_RESOURCE) continue;
      const bool wants_ref = IsRefType(item.node->input_type(i));
      absl::MutexLock lock(v.mu);
      if (!v.ref->IsInitialized() &&
          !item.node->op_def().allows_uninitialized_input()) {
        const std::string what =
            v.ref_name != nullptr ? *v.ref_name : std::string("(a variable)");
        // A fetch is a _Retval node the user never named: say "fetching".
        return absl::FailedPreconditionError(
            item.node->op() == "_Retval"
                ? absl::StrCat("attempting to use uninitialized value ", what,
                               " (fetched)")
                : absl::StrCat("attempting to use uninitialized value ", what,
                               " in node '", item.node->name(), "'"));
      }
      if (wants_ref) {
        v.value = *v.ref;  // A handle for kernels that only read.
      } else {
        v.value = *v.ref;
        v.ref = nullptr;
        v.mu = nullptr;
      }
    }
    return absl::OkStatus();
  }

  void ReleaseInputs(const Executor::NodeItem& item) {
    for (int i = 0; i < item.num_inputs; ++i) {
      TensorValue& v = inputs_[item.input_start + i];
      // Most slots were emptied by a move already; skip their reset.
      if (v.value.IsInitialized()) v.value.Clear();
      v.ref = nullptr;
      v.mu = nullptr;
      v.ref_name = nullptr;
      v.is_dead = false;
    }
  }

  absl::Status Propagate(const Executor::NodeItem& item,
                         OpKernelContext::OutputVector* outputs,
                         ReadyQueue* ready, bool node_dead = false) {
    const int* bounds = &executor_->target_bounds_[item.bounds_start];
    const Executor::Target* targets = executor_->targets_.data();
    for (int o = 0; o < item.num_outputs; ++o) {
      TensorValue& out = (*outputs)[o];
      if (bounds[o] == bounds[o + 1]) continue;
      if (!out.is_ref() && !out.is_dead && !out.value.IsInitialized()) {
        return absl::InternalError(
            absl::StrCat("node '", item.node->name(), "' (", item.node->op(),
                         ") did not produce output ", o));
      }
    }
    // Each slot is filled before its consumer's count drops: a consumer may
    // run (on another thread) as soon as its count reaches zero.
    for (int o = 0; o < item.num_outputs; ++o) {
      TensorValue& out = (*outputs)[o];
      const int last = bounds[o + 1] - 1;
      for (int t = bounds[o]; t <= last; ++t) {
        const auto [slot, dst] = targets[t];
        const Executor::NodeItem& consumer = executor_->items_[dst];
        if (consumer.is_merge) {
          if (!MergeInputArrives(consumer, out.is_dead)) continue;
          if (out.is_dead) {
            dead_[dst].store(true, std::memory_order_relaxed);
          } else {
            inputs_[slot] = out;
          }
        } else {
          if (out.is_dead) dead_[dst].store(true, std::memory_order_relaxed);
          // The last consumer takes the tensor by move: if it is the only
          // holder, its kernel may reuse the buffer.
          if (t == last) {
            inputs_[slot] = std::move(out);
          } else {
            inputs_[slot] = out;
          }
        }
        Decrement(dst, ready);
      }
    }
    for (int t = bounds[item.num_outputs]; t < bounds[item.num_outputs + 1];
         ++t) {
      const int dst = targets[t].dst;
      if (node_dead && !executor_->items_[dst].is_merge) {
        dead_[dst].store(true, std::memory_order_relaxed);
      }
      Decrement(dst, ready);
    }
    return absl::OkStatus();
  }

  // Whether this data input of a Merge counts toward making it ready: the
  // first live input does (the others are dropped), and so does the last
  // dead one when every input is dead.
  bool MergeInputArrives(const Executor::NodeItem& merge, bool is_dead) {
    if (is_dead) {
      return buffers_->merge_dead[merge.merge_index].fetch_add(
                 1, std::memory_order_acq_rel) +
                 1 ==
             merge.num_inputs;
    }
    return !buffers_->merge_live[merge.merge_index].exchange(
        true, std::memory_order_acq_rel);
  }

  void Decrement(int dst, ReadyQueue* ready) {
    const Executor::NodeItem& item = executor_->items_[dst];
    // A node with one input is ready when it arrives: no atomic needed.
    if (item.initial_pending != 1 &&
        pending_[dst].fetch_sub(1, std::memory_order_acq_rel) != 1) {
      return;
    }
    // Keep cheap work on this thread; hand expensive work to the pool
    // unless this pool thread has nothing else to do.
    const bool stay = ready->on_pool ? !item.expensive || ready->ids.empty() ||
                                           executor_->ProvedCheap(dst)
                                     : executor_->ProvedCheap(dst);
    if (stay) {
      ready->ids.push_back(dst);
    } else {
      Schedule(dst);
    }
  }

  void RecordError(const absl::Status& s) {
    {
      absl::MutexLock lock(&status_mu_);
      if (status_.ok()) status_ = s;
    }
    cancelled_.store(true, std::memory_order_release);
    // Wake every _Recv of the step, here and on the other devices.
    if (args_.rendezvous != nullptr) args_.rendezvous->StartAbort(s);
  }

  void TaskDone() {
    if (outstanding_.fetch_sub(1, std::memory_order_acq_rel) == 1) Finish();
  }

  void Finish() {
    absl::Status s;
    {
      absl::MutexLock lock(&status_mu_);
      s = status_;
    }
    // After an error, nodes that never ran may have left inputs behind.
    if (!s.ok()) {
      for (TensorValue& v : inputs_) v = TensorValue();
    }
    executor_->ReturnBuffers(std::move(buffers_));
    auto done = std::move(done_);
    delete this;
    done(s);
  }

  const Executor* executor_;
  Executor::Args args_;
  std::function<void(absl::Status)> done_;
  std::unique_ptr<Executor::StepBuffers> buffers_;
  std::vector<std::atomic<int>>& pending_;
  std::vector<TensorValue>& inputs_;
  std::vector<std::atomic<bool>>& dead_;
  const bool timed_;  // Whether this step measures its nodes' costs.
  std::atomic<int> outstanding_{0};
  std::atomic<bool> cancelled_{false};
  absl::Mutex status_mu_;
  absl::Status status_ ABSL_GUARDED_BY(status_mu_);
  absl::Mutex stats_mu_;
};

Executor::Executor(std::unique_ptr<Graph> graph, Device* device)
    : graph_(std::move(graph)), device_(device) {}

Executor::~Executor() = default;

absl::StatusOr<std::unique_ptr<Executor>> Executor::Create(
    std::unique_ptr<Graph> graph, Device* device, int function_depth) {
  std::unique_ptr<Executor> ex(new Executor(std::move(graph), device));
  const Graph& g = *ex->graph_;
  const FunctionEnv functions{&g.library(), device, function_depth};
  ex->items_.resize(g.num_nodes());
  ex->costs_ = std::make_unique<std::atomic<uint32_t>[]>(g.num_nodes());
  int slot = 0;
  for (const Node* n : g.nodes()) {
    NodeItem& item = ex->items_[n->id()];
    item.node = n;
    ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> kernel,
                     KernelRegistry::Global()->CreateKernel(
                         device->device_type(), *n, &functions));
    item.kernel = kernel.get();
    item.expensive = kernel->IsExpensive();
    item.async = kernel->IsAsync();
    // An async kernel's Compute only starts it: cheap from the first run.
    ex->costs_[n->id()].store(item.async ? 0 : kUnknownCost,
                              std::memory_order_relaxed);
    ex->kernels_.push_back(std::move(kernel));
    item.input_start = slot;
    item.num_inputs = n->num_inputs();
    item.num_outputs = n->num_outputs();
    slot += n->num_inputs();
    ex->num_input_slots_ = slot;
    item.initial_pending =
        n->num_inputs() + static_cast<int>(n->control_in_edges().size());
    const std::string& op = n->op();
    if (op == "Merge") {
      item.is_merge = true;
      item.merge_index = ex->num_merges_++;
      // Every control input, and then one live (or the last dead) input.
      item.initial_pending = static_cast<int>(n->control_in_edges().size()) + 1;
    }
    item.is_transfer = op == "_Send" || op == "_Recv";
    if (op == "Switch" || op == "_Recv") ex->may_be_dead_ = true;
    if (item.initial_pending == 0) ex->roots_.push_back(n->id());
  }
  // Out edges, flat: per node, each output's consumers in order, then the
  // control successors.
  for (const Node* n : g.nodes()) {
    NodeItem& item = ex->items_[n->id()];
    std::vector<std::vector<Target>> per_output(n->num_outputs() + 1);
    for (const Edge* e : n->out_edges()) {
      if (e->IsControlEdge()) {
        per_output.back().push_back(Target{-1, e->dst->id()});
      } else {
        per_output[e->src_output].push_back(Target{
            ex->items_[e->dst->id()].input_start + e->dst_input, e->dst->id()});
      }
    }
    item.bounds_start = static_cast<int>(ex->target_bounds_.size());
    for (const auto& group : per_output) {
      ex->target_bounds_.push_back(static_cast<int>(ex->targets_.size()));
      ex->targets_.insert(ex->targets_.end(), group.begin(), group.end());
    }
    ex->target_bounds_.push_back(static_cast<int>(ex->targets_.size()));
  }
  RETURN_IF_ERROR(g.TopologicalOrder().status());
  return ex;
}

void Executor::RunAsync(const Args& args,
                        std::function<void(absl::Status)> done) const {
  (new ExecutorState(this, args, std::move(done)))->Start();
}

absl::Status Executor::Run(const Args& args) const {
  absl::Notification finished;
  absl::Status result;
  RunAsync(args, [&](absl::Status s) {
    result = std::move(s);
    finished.Notify();
  });
  finished.WaitForNotification();
  return result;
}

}  // namespace rill
