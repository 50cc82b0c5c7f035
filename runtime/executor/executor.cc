#include "runtime/executor/executor.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <limits>
#include <map>
#include <new>
#include <span>
#include <stdexcept>
#include <thread>
#include <tuple>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "core/framework/kernel_registry.h"
#include "core/framework/rendezvous.h"
#include "core/platform/hash.h"
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
  // TensorFlow 1 loops: where the outputs go (LoopState).
  enum class Loop : int8_t { kNone, kEnter, kExit, kNextIteration };
  Loop loop = Loop::kNone;
  bool constant_enter = false;  // Enter's is_constant.
  int frame = -1;               // Enter's frame, into frame_enters_.
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

// A kernel's Compute. Rill code returns statuses, but the C++ library
// throws when a container sized from input cannot be had (a std::vector
// past the machine's memory): that becomes the node's RESOURCE_EXHAUSTED
// instead of ending the process.
absl::Status GuardedCompute(const OpKernel& kernel, OpKernelContext* ctx) {
  try {
    return kernel.Compute(ctx);
  } catch (const std::bad_alloc&) {
  } catch (const std::length_error&) {
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("node '", kernel.name(), "' (", kernel.type_string(),
                   "): out of memory for its working storage"));
}

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

// Turns ref inputs into values where the kernel takes values, reading the
// variable's current tensor under its lock.
absl::Status PrepareInputs(const Node& node, std::span<TensorValue> inputs) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    TensorValue& v = inputs[i];
    if (!v.is_ref() || v.is_dead) continue;
    // A resource handle travels as a ref to the resource's tensor; the
    // kernels that take it (ReadVariableOp, ...) check it themselves.
    if (node.input_type(i) == DT_RESOURCE) continue;
    const bool wants_ref = IsRefType(node.input_type(i));
    absl::MutexLock lock(v.mu);
    if (!v.ref->IsInitialized() &&
        !node.op_def().allows_uninitialized_input()) {
      const std::string what =
          v.ref_name != nullptr ? *v.ref_name : std::string("(a variable)");
      // A fetch is a _Retval node the user never named: say "fetching".
      return absl::FailedPreconditionError(
          node.op() == "_Retval"
              ? absl::StrCat("attempting to use uninitialized value ", what,
                             " (fetched)")
              : absl::StrCat("attempting to use uninitialized value ", what,
                             " in node '", node.name(), "'"));
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

// The kernel context's parameters for running `item` on `device` within the
// step `args` describes.
OpKernelContext::Params KernelParams(const OpKernel* kernel, Device* device,
                                     const Executor::Args& args,
                                     std::span<TensorValue> inputs,
                                     int num_outputs, bool dead) {
  OpKernelContext::Params p;
  p.kernel = kernel;
  p.allocator = device->allocator();
  p.resources = device->resource_manager();
  p.call_frame = args.call_frame;
  p.rendezvous = args.rendezvous;
  p.collectives = args.collectives;
  p.cancellation = args.cancellation;
  p.device_name = &device->name();
  p.step_id = args.step_id;
  p.inputs = inputs;
  p.num_outputs = num_outputs;
  p.runner = &args.runner;
  p.intra_op_parallelism = 2;
  p.is_input_dead = dead;
  return p;
}

// One node run's timings.
NodeExecStats RunStats(const Node& node, const Device& device,
                       int64_t start_us) {
  NodeExecStats stats;
  stats.start_us = start_us;
  stats.end_us = NowMicros();
  stats.node_name = node.name();
  stats.op = node.op();
  stats.device = device.name();
  stats.thread_id = ThreadId();
  return stats;
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
    // The last task launched may end the step, and delete this state with
    // its args_, before the runner has returned: the runner is called from
    // a copy of its own. (ThreadSanitizer found the runner reading its
    // freed closure.)
    const Runner runner = args_.runner;
    for (int id : expensive) {
      runner([this, id] { Process(id); });
    }
    if (!cheap.empty()) {
      runner([this, cheap = std::move(cheap)] {
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
    absl::Status s = PrepareInputs(*item.node, inputs);
    const int64_t start_us = args_.stats != nullptr ? NowMicros() : 0;
    if (s.ok()) {
      const OpKernelContext::Params p =
          KernelParams(item.kernel, executor_->device_, args_, inputs,
                       item.num_outputs, dead);
      if (item.async) {
        RunAsyncNode(id, p, start_us);
        return;
      }
      OpKernelContext ctx(p);
      const uint64_t begin = timed_ ? Cycles() : 0;
      s = GuardedCompute(*item.kernel, &ctx);
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
      NodeExecStats stats = RunStats(*item.node, *executor_->device_, start_us);
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

// Steps of graphs with TensorFlow 1 loops (Enter, Exit, NextIteration). A
// value belongs to a frame instance (the root, or a loop entered from one
// iteration of its enclosing frame) and an iteration of it, and each
// (frame, iteration) has its own pending counts and input slots: Enter's
// outputs go to iteration 0 of the child frame (to every iteration when
// is_constant), NextIteration's to the next iteration, Exit's to the
// enclosing frame. A dead NextIteration ends the loop there; an Exit that
// never ran live hands its deadness out when the frame is done (every
// Enter of it fired and nothing of it is left to run). Such steps run on
// one thread, node after node as they become ready; an async kernel (a
// _Recv) is started and the step goes on with other nodes until its
// callback reports. Transfers inside a loop carry their frame instance and
// iteration in the rendezvous key (FrameRendezvous), so a loop may span
// devices: the partitioner gives every other device a control loop that
// follows the loop's LoopCond. Graphs without loops keep ExecutorState's
// concurrent path.
class LoopState {
 public:
  LoopState(const Executor* executor, const Executor::Args& args)
      : ex_(executor), args_(args) {}

  absl::Status Run() {
    frames_.push_back(std::make_unique<Frame>());  // The root: frame 0.
    frames_[0]->key = "0";
    IterationOf(0, 0);
    for (int id : ex_->roots_) Enqueue(id, 0, 0);
    absl::Status status;
    while (status.ok()) {
      // Async kernels that finished (a _Recv whose tensor came) go on
      // first; with nothing queued, wait for one.
      std::vector<std::unique_ptr<InFlight>> finished;
      bool idle = false;
      {
        absl::MutexLock lock(&done_mu_);
        if (queue_.empty() && in_flight_ > 0) {
          while (done_.empty()) done_cv_.Wait(&done_mu_);
        }
        finished.swap(done_);
        in_flight_ -= static_cast<int>(finished.size());
        idle = queue_.empty() && finished.empty() && in_flight_ == 0;
      }
      if (idle) break;
      for (std::unique_ptr<InFlight>& f : finished) {
        if (!status.ok()) break;
        status = Finish(*f);
        if (!status.ok()) break;
        --frames_[f->frame]->outstanding;
        MaybeFrameDone(f->frame);
      }
      if (!status.ok() || queue_.empty()) continue;
      const auto [id, frame, iter] = queue_.front();
      queue_.pop_front();
      bool started = false;
      status = RunNode(id, frame, iter, &started);
      if (!status.ok() || started) continue;
      --frames_[frame]->outstanding;
      MaybeFrameDone(frame);
    }
    if (!status.ok() && args_.rendezvous != nullptr) {
      args_.rendezvous->StartAbort(status);
    }
    // Async kernels still running refer to this state: wait them out (the
    // abort above wakes every _Recv).
    absl::MutexLock lock(&done_mu_);
    while (in_flight_ > 0) {
      while (done_.empty()) done_cv_.Wait(&done_mu_);
      in_flight_ -= static_cast<int>(done_.size());
      done_.clear();
    }
    return status;
  }

 private:
  using NodeItem = Executor::NodeItem;

  // An async kernel's run (a _Recv, a queue's dequeue), kept until its
  // callback reports.
  struct InFlight {
    explicit InFlight(const OpKernelContext::Params& params) : ctx(params) {}
    OpKernelContext ctx;
    int id = 0;
    int frame = 0;
    int64_t iter = 0;
    bool dead = false;
    int64_t start_us = 0;
    absl::Status status;
  };

  // Rewrites the rendezvous keys of the transfers of one (frame instance,
  // iteration): the ";0:0" _Send and _Recv put at the end becomes the
  // frame instance's key and the iteration, the same on every device
  // (TensorFlow's keys carry frame and iteration the same way).
  class FrameRendezvous : public Rendezvous {
   public:
    FrameRendezvous(Rendezvous* base, std::string frame_iter)
        : base_(base), frame_iter_(std::move(frame_iter)) {}
    absl::Status Send(const std::string& key, const Tensor& value,
                      bool is_dead) override {
      return base_->Send(Rewrite(key), value, is_dead);
    }
    void RecvAsync(const std::string& key, DoneCallback done) override {
      base_->RecvAsync(Rewrite(key), std::move(done));
    }
    void StartAbort(const absl::Status& status) override {
      base_->StartAbort(status);
    }

   private:
    std::string Rewrite(const std::string& key) const {
      return absl::StrCat(absl::string_view(key).substr(0, key.rfind(';') + 1),
                          frame_iter_);
    }
    Rendezvous* const base_;
    const std::string frame_iter_;
  };

  Rendezvous* RendezvousFor(int frame, int64_t iter) {
    if (frame == 0 || args_.rendezvous == nullptr) return args_.rendezvous;
    auto& r = rendezvous_[{frame, iter}];
    if (r == nullptr) {
      r = std::make_unique<FrameRendezvous>(
          args_.rendezvous, absl::StrCat(frames_[frame]->key, ":", iter));
    }
    return r.get();
  }

  struct Iteration {
    explicit Iteration(const Executor& ex)
        : pending(ex.items_.size()),
          inputs(ex.num_input_slots_),
          dead(ex.items_.size(), 0),
          merge_dead(ex.num_merges_, 0),
          merge_live(ex.num_merges_, 0) {
      for (size_t i = 0; i < ex.items_.size(); ++i) {
        pending[i] = ex.items_[i].initial_pending;
      }
    }
    std::vector<int> pending;
    std::vector<TensorValue> inputs;
    std::vector<char> dead;
    std::vector<int> merge_dead;
    std::vector<char> merge_live;
  };

  struct Frame {
    int parent = -1;
    int64_t parent_iter = 0;
    // Names this instance on every device: a fingerprint of the parent's
    // key, the frame's name and the parent iteration ("0" for the root).
    std::string key;
    int pending_enters = 0;  // Enter nodes of the frame yet to fire.
    int outstanding = 0;     // Queued nodes and live child frames.
    bool done = false;
    std::map<int64_t, std::unique_ptr<Iteration>> iterations;
    std::vector<std::pair<int, TensorValue>> constants;  // Enter id, value.
    absl::flat_hash_set<int> exits_live;
    std::vector<int> dead_exits;
  };

  void Enqueue(int id, int frame, int64_t iter) {
    queue_.emplace_back(id, frame, iter);
    ++frames_[frame]->outstanding;
  }

  // The (frame, iter) state, made on first use; a new iteration gets the
  // frame's loop constants.
  Iteration& IterationOf(int frame, int64_t iter) {
    auto& slot = frames_[frame]->iterations[iter];
    if (slot == nullptr) {
      slot = std::make_unique<Iteration>(*ex_);
      for (auto& [enter, value] : frames_[frame]->constants) {
        OpKernelContext::OutputVector one = {value};
        Deliver(ex_->items_[enter], frame, iter, &one, false);
      }
    }
    return *slot;
  }

  // The instance of loop `frame_id` entered from (frame, iter) by `enter`.
  int ChildFrame(int frame, int64_t iter, int frame_id, const Node& enter) {
    auto [it, added] =
        children_.try_emplace(std::make_tuple(frame, iter, frame_id),
                              static_cast<int>(frames_.size()));
    if (added) {
      auto child = std::make_unique<Frame>();
      child->parent = frame;
      child->parent_iter = iter;
      std::string name;
      (void)GetAttr(enter.attrs(), "frame_name", &name);
      child->key = absl::StrCat(absl::Hex(Fingerprint64(
          absl::StrCat(frames_[frame]->key, ";", name, ";", iter))));
      child->pending_enters = ex_->frame_enters_[frame_id];
      frames_.push_back(std::move(child));
      ++frames_[frame]->outstanding;
    }
    return it->second;
  }

  // Runs node `id` in (frame, iter); an async kernel is only started
  // (*started), and Finish takes it on when its callback has reported.
  absl::Status RunNode(int id, int frame, int64_t iter, bool* started) {
    const NodeItem& item = ex_->items_[id];
    if (args_.cancellation != nullptr && args_.cancellation->cancelled()) {
      return args_.cancellation->status();
    }
    Iteration& state = IterationOf(frame, iter);
    std::span<TensorValue> inputs(state.inputs.data() + item.input_start,
                                  item.num_inputs);
    const bool dead = state.dead[id];
    if (dead && !item.is_transfer) {
      for (TensorValue& v : inputs) v = TensorValue();
      OpKernelContext::OutputVector outputs(item.num_outputs);
      for (TensorValue& v : outputs) v.is_dead = true;
      return Propagate(item, frame, iter, &outputs, /*node_dead=*/true);
    }
    RETURN_IF_ERROR(PrepareInputs(*item.node, inputs));
    const int64_t start_us = args_.stats != nullptr ? NowMicros() : 0;
    OpKernelContext::Params params = KernelParams(
        item.kernel, ex_->device_, args_, inputs, item.num_outputs, dead);
    params.rendezvous = RendezvousFor(frame, iter);
    if (item.async) {
      auto run = std::make_unique<InFlight>(params);
      run->id = id;
      run->frame = frame;
      run->iter = iter;
      run->dead = dead;
      run->start_us = start_us;
      InFlight* raw = run.release();
      {
        absl::MutexLock lock(&done_mu_);
        ++in_flight_;
      }
      *started = true;
      static_cast<const AsyncOpKernel*>(item.kernel)
          ->ComputeAsync(&raw->ctx, [this, raw](absl::Status s) {
            raw->status = std::move(s);
            absl::MutexLock lock(&done_mu_);
            done_.emplace_back(raw);
            done_cv_.Signal();
          });
      return absl::OkStatus();
    }
    OpKernelContext ctx(params);
    absl::Status s = GuardedCompute(*item.kernel, &ctx);
    return Done(item, frame, iter, dead, start_us, s, &ctx);
  }

  absl::Status Finish(InFlight& run) {
    return Done(ex_->items_[run.id], run.frame, run.iter, run.dead,
                run.start_us, run.status, &run.ctx);
  }

  // A kernel's run ended with `s`: its inputs go, its outputs go on.
  absl::Status Done(const NodeItem& item, int frame, int64_t iter, bool dead,
                    int64_t start_us, const absl::Status& s,
                    OpKernelContext* ctx) {
    Iteration& state = IterationOf(frame, iter);
    for (int i = 0; i < item.num_inputs; ++i) {
      state.inputs[item.input_start + i] = TensorValue();
    }
    if (args_.stats != nullptr) {
      args_.stats->push_back(RunStats(*item.node, *ex_->device_, start_us));
    }
    RETURN_IF_ERROR(s);
    OpKernelContext::OutputVector* outputs = ctx->outputs();
    const bool node_dead =
        item.is_transfer &&
        (dead || (!outputs->empty() && (*outputs)[0].is_dead));
    return Propagate(item, frame, iter, outputs, node_dead);
  }

  // Sends a node's outputs to where its kind says they go.
  absl::Status Propagate(const NodeItem& item, int frame, int64_t iter,
                         OpKernelContext::OutputVector* outputs,
                         bool node_dead) {
    for (int o = 0; o < item.num_outputs; ++o) {
      const TensorValue& out = (*outputs)[o];
      if (!out.is_ref() && !out.is_dead && !out.value.IsInitialized()) {
        return absl::InternalError(
            absl::StrCat("node '", item.node->name(), "' (", item.node->op(),
                         ") did not produce output ", o));
      }
    }
    const bool out_dead =
        node_dead || (!outputs->empty() && (*outputs)[0].is_dead);
    switch (item.loop) {
      case NodeItem::Loop::kEnter: {
        const int child = ChildFrame(frame, iter, item.frame, *item.node);
        Frame& f = *frames_[child];
        --f.pending_enters;
        if (item.constant_enter) {
          // Every iteration of the frame gets it: those there now, and
          // each one made later.
          f.constants.emplace_back(item.node->id(), (*outputs)[0]);
          if (f.iterations.empty()) {
            IterationOf(child, 0);
          } else {
            std::vector<int64_t> iters;
            for (const auto& [k, unused] : f.iterations) iters.push_back(k);
            for (int64_t k : iters) {
              OpKernelContext::OutputVector one = {(*outputs)[0]};
              Deliver(item, child, k, &one, node_dead);
            }
          }
        } else {
          Deliver(item, child, 0, outputs, node_dead);
        }
        MaybeFrameDone(child);
        return absl::OkStatus();
      }
      case NodeItem::Loop::kExit: {
        Frame& f = *frames_[frame];
        if (out_dead) {
          f.dead_exits.push_back(item.node->id());
          return absl::OkStatus();
        }
        f.exits_live.insert(item.node->id());
        Deliver(item, f.parent, f.parent_iter, outputs, false);
        return absl::OkStatus();
      }
      case NodeItem::Loop::kNextIteration:
        // A dead value does not go on: the loop ends in this iteration.
        if (out_dead) return absl::OkStatus();
        Deliver(item, frame, iter + 1, outputs, false);
        return absl::OkStatus();
      case NodeItem::Loop::kNone:
        Deliver(item, frame, iter, outputs, node_dead);
        return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  // Fills the consumers' slots in (frame, iter) and queues those that
  // become ready.
  void Deliver(const NodeItem& item, int frame, int64_t iter,
               OpKernelContext::OutputVector* outputs, bool node_dead) {
    Iteration& state = IterationOf(frame, iter);
    const int* bounds = &ex_->target_bounds_[item.bounds_start];
    const Executor::Target* targets = ex_->targets_.data();
    const int num_outputs = static_cast<int>(outputs->size());
    for (int o = 0; o < num_outputs; ++o) {
      const TensorValue& out = (*outputs)[o];
      for (int t = bounds[o]; t < bounds[o + 1]; ++t) {
        const auto [slot, dst] = targets[t];
        const NodeItem& consumer = ex_->items_[dst];
        if (consumer.is_merge) {
          if (out.is_dead) {
            if (++state.merge_dead[consumer.merge_index] !=
                consumer.num_inputs) {
              continue;
            }
            state.dead[dst] = 1;
          } else {
            if (state.merge_live[consumer.merge_index]) continue;
            state.merge_live[consumer.merge_index] = 1;
            state.inputs[slot] = out;
          }
        } else {
          if (out.is_dead) state.dead[dst] = 1;
          state.inputs[slot] = out;
        }
        if (--state.pending[dst] == 0) Enqueue(dst, frame, iter);
      }
    }
    for (int t = bounds[item.num_outputs]; t < bounds[item.num_outputs + 1];
         ++t) {
      const int dst = targets[t].dst;
      if (node_dead && !ex_->items_[dst].is_merge) state.dead[dst] = 1;
      if (--state.pending[dst] == 0) Enqueue(dst, frame, iter);
    }
  }

  // A loop frame is done when every Enter of it fired and nothing of it is
  // left to run: its Exits that never ran live hand out their deadness,
  // and its state is freed.
  void MaybeFrameDone(int frame) {
    while (frame > 0) {
      Frame& f = *frames_[frame];
      if (f.done || f.outstanding > 0 || f.pending_enters > 0) return;
      f.done = true;
      absl::flat_hash_set<int> handed;
      for (int exit : f.dead_exits) {
        if (f.exits_live.contains(exit) || !handed.insert(exit).second) {
          continue;
        }
        const NodeItem& item = ex_->items_[exit];
        OpKernelContext::OutputVector dead(item.num_outputs);
        for (TensorValue& v : dead) v.is_dead = true;
        Deliver(item, f.parent, f.parent_iter, &dead, true);
      }
      f.iterations.clear();
      f.constants.clear();
      const int parent = f.parent;
      --frames_[parent]->outstanding;
      frame = parent;
    }
  }

  const Executor* ex_;
  const Executor::Args& args_;
  std::vector<std::unique_ptr<Frame>> frames_;
  std::map<std::tuple<int, int64_t, int>, int> children_;
  std::deque<std::tuple<int, int, int64_t>> queue_;
  std::map<std::pair<int, int64_t>, std::unique_ptr<FrameRendezvous>>
      rendezvous_;
  absl::Mutex done_mu_;
  absl::CondVar done_cv_;
  int in_flight_ ABSL_GUARDED_BY(done_mu_) = 0;
  std::vector<std::unique_ptr<InFlight>> done_ ABSL_GUARDED_BY(done_mu_);
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
  absl::flat_hash_map<std::string, int> frame_ids;
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
    if (op == "Enter" || op == "RefEnter") {
      item.loop = NodeItem::Loop::kEnter;
      std::string frame;
      RETURN_IF_ERROR(GetAttr(n->attrs(), "frame_name", &frame));
      if (n->attrs().contains("is_constant")) {
        RETURN_IF_ERROR(
            GetAttr(n->attrs(), "is_constant", &item.constant_enter));
      }
      auto [it, added] = frame_ids.try_emplace(
          frame, static_cast<int>(ex->frame_enters_.size()));
      if (added) ex->frame_enters_.push_back(0);
      item.frame = it->second;
      ++ex->frame_enters_[item.frame];
    } else if (op == "Exit" || op == "RefExit") {
      item.loop = NodeItem::Loop::kExit;
    } else if (op == "NextIteration" || op == "RefNextIteration") {
      item.loop = NodeItem::Loop::kNextIteration;
    }
    if (op == "Merge" || op == "RefMerge") {
      item.is_merge = true;
      item.merge_index = ex->num_merges_++;
      // Every control input, and then one live (or the last dead) input.
      item.initial_pending = static_cast<int>(n->control_in_edges().size()) + 1;
    }
    item.is_transfer = op == "_Send" || op == "_Recv";
    if (op == "Switch" || op == "RefSwitch" || op == "_Recv") {
      ex->may_be_dead_ = true;
    }
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
  if (!frame_enters_.empty()) {
    // A step with loops runs on one pool thread, start to end.
    args.runner([this, args, done = std::move(done)] {
      absl::Status s = LoopState(this, args).Run();
      done(std::move(s));
    });
    return;
  }
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
