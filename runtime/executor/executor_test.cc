#include "runtime/executor/executor.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/framework/kernel_registry.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/graph/graph_import.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "runtime/device/device.h"
#include "runtime/rendezvous/local_rendezvous.h"

namespace rill {
namespace {

// Test ops: "RillTestWhere" passes its input on and notes the thread it ran
// on (a kernel that does not call itself cheap); "RillTestBusy" does the
// same after 3 ms of work.
absl::Mutex where_mu;
absl::flat_hash_map<std::string, std::thread::id>& Where() {
  static auto* where = new absl::flat_hash_map<std::string, std::thread::id>;
  return *where;
}

std::thread::id RanOn(const std::string& node) {
  absl::MutexLock lock(&where_mu);
  return Where()[node];
}

RILL_REGISTER_OP("RillTestWhere")
    .Input("x: float")
    .Output("y: float")
    .SetShapeFn(shape_fns::UnknownShape);
RILL_REGISTER_OP("RillTestBusy")
    .Input("x: float")
    .Output("y: float")
    .SetShapeFn(shape_fns::UnknownShape);
RILL_REGISTER_OP("RillTestHuge")
    .Input("x: float")
    .Output("y: float")
    .SetShapeFn(shape_fns::UnknownShape);

// Sizes a std::vector past what any machine has, as a kernel trusting an
// input would: the library throws.
class HugeOp : public OpKernel {
 public:
  explicit HugeOp(OpKernelConstruction* c) : OpKernel(c) {}
  absl::Status Compute(OpKernelContext* ctx) const override {
    std::vector<float> scratch(std::numeric_limits<size_t>::max() / 2);
    ctx->set_output(0, ctx->input(0));
    return absl::OkStatus();
  }
};

class WhereOp : public OpKernel {
 public:
  explicit WhereOp(OpKernelConstruction* c) : OpKernel(c) {}
  absl::Status Compute(OpKernelContext* ctx) const override {
    if (name() == "busy") {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
    {
      absl::MutexLock lock(&where_mu);
      Where()[name()] = std::this_thread::get_id();
    }
    ctx->set_output(0, ctx->input(0));
    return absl::OkStatus();
  }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<WhereOp>(KernelDef("RillTestWhere", kDeviceCpu));
  RegisterKernel<WhereOp>(KernelDef("RillTestBusy", kDeviceCpu));
  RegisterKernel<HugeOp>(KernelDef("RillTestHuge", kDeviceCpu));
  return true;
}();

// A runner with one thread of its own, counting what it was given.
class PoolThread {
 public:
  PoolThread() : thread_([this] { Loop(); }) {}
  ~PoolThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Runner runner() {
    return [this](std::function<void()> fn) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(std::move(fn));
        ++closures_;
      }
      cv_.notify_all();
    };
  }
  std::thread::id id() const { return thread_.get_id(); }
  int closures() {
    std::lock_guard<std::mutex> lock(mu_);
    return closures_;
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      std::function<void()> fn = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  int closures_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

constexpr char kDevice[] = "/job:localhost/replica:0/task:0/device:CPU:0";

std::unique_ptr<Executor> MakeExecutor(const std::string& text,
                                       Device* device) {
  ::tensorflow::GraphDef def;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &def));
  for (auto& node : *def.mutable_node()) node.set_device(kDevice);
  auto graph = ImportGraphDef(def);
  EXPECT_TRUE(graph.ok()) << graph.status();
  auto executor = Executor::Create(*std::move(graph), device);
  EXPECT_TRUE(executor.ok()) << executor.status();
  return executor.ok() ? *std::move(executor) : nullptr;
}

constexpr char kConst[] = R"pb(
  node {
    name: "c"
    op: "Const"
    attr {
      key: "dtype"
      value { type: DT_FLOAT }
    }
    attr {
      key: "value"
      value {
        tensor {
          dtype: DT_FLOAT
          float_val: 1
          tensor_shape {}
        }
      }
    }
  }
)pb";

TEST(ExecutorTest, AKernelsLibraryAllocationFailureIsTheNodesError) {
  auto device = NewCpuDevice("localhost", 0, 0, 0);
  auto executor =
      MakeExecutor(absl::StrCat(kConst, R"pb(
                     node { name: "huge" op: "RillTestHuge" input: "c" }
                   )pb"),
                   device.get());
  ASSERT_NE(executor, nullptr);
  PoolThread pool;
  Executor::Args args;
  args.runner = pool.runner();
  const absl::Status s = executor->Run(args);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("node 'huge' (RillTestHuge)"), std::string::npos)
      << s;
}

TEST(ExecutorTest, NodesThatProvedCheapRunOnTheCallersThread) {
  auto device = NewCpuDevice("localhost", 0, 0, 0);
  auto executor =
      MakeExecutor(absl::StrCat(kConst, R"pb(
                     node { name: "where" op: "RillTestWhere" input: "c" }
                     node { name: "busy" op: "RillTestBusy" input: "c" }
                   )pb"),
                   device.get());
  ASSERT_NE(executor, nullptr);
  PoolThread pool;
  Executor::Args args;
  args.runner = pool.runner();

  // First two steps: no node has a cost yet (the first run does not
  // count), so every node runs on the pool.
  for (int step = 0; step < 2; ++step) {
    ASSERT_TRUE(executor->Run(args).ok());
    EXPECT_EQ(RanOn("where"), pool.id());
    EXPECT_EQ(RanOn("busy"), pool.id());
  }

  // Later steps: the constant and the quick node proved cheap and run on
  // this thread; the busy one always goes to the pool. A step may find the
  // quick node slow (this thread preempted in it, on a loaded machine): it
  // then runs on the pool until the next timed step, at most eight steps
  // later. So most steps, not all, run it here.
  constexpr int kSteps = 400;
  int here = 0;
  for (int step = 0; step < kSteps; ++step) {
    const int before = pool.closures();
    ASSERT_TRUE(executor->Run(args).ok());
    if (RanOn("where") == std::this_thread::get_id()) {
      ++here;
      EXPECT_EQ(pool.closures() - before, 1);  // The busy node alone.
    }
    EXPECT_EQ(RanOn("busy"), pool.id());
  }
  EXPECT_GE(here, kSteps / 2);
}

TEST(ExecutorTest, AReceivedTensorsCheapConsumersRunOnTheSendersThread) {
  auto device = NewCpuDevice("localhost", 0, 0, 0);
  auto executor =
      MakeExecutor(absl::StrCat(R"pb(
                     node {
                       name: "recv"
                       op: "_Recv"
                       attr {
                         key: "tensor_type"
                         value { type: DT_FLOAT }
                       }
                       attr {
                         key: "tensor_name"
                         value { s: "t" }
                       }
                       attr {
                         key: "send_device"
                         value { s: "/job:a/device:CPU:0" }
                       }
                       attr {
                         key: "send_device_incarnation"
                         value { i: 1 }
                       }
                       attr {
                         key: "recv_device"
                         value { s: "/job:b/device:CPU:0" }
                       }
                       attr {
                         key: "client_terminated"
                         value { b: false }
                       }
                     }
                     node { name: "where" op: "RillTestWhere" input: "recv" }
                   )pb"),
                   device.get());
  ASSERT_NE(executor, nullptr);
  PoolThread pool;
  const std::string key = Rendezvous::CreateKey("/job:a/device:CPU:0", 1,
                                                "/job:b/device:CPU:0", "t");
  // The tensor comes from a thread that is neither the caller nor the
  // pool, as a gRPC thread delivers one from another task: the same thread
  // in every step, as gRPC's threads live long (a new thread's first
  // allocations would make the consumer measure as slow).
  PoolThread sender;
  // A step that measures the consumer as slow (preempted, on a loaded
  // machine) sends it to the pool until a later timed step: most steps,
  // not all, run it on the sender's thread.
  constexpr int kSteps = 60;
  int on_sender = 0;
  for (int step = 0; step < kSteps; ++step) {
    LocalRendezvous rendezvous;
    Executor::Args args;
    args.runner = pool.runner();
    args.rendezvous = &rendezvous;
    absl::Notification sent;
    sender.runner()([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      EXPECT_TRUE(rendezvous.Send(key, Tensor::Scalar<float>(2)).ok());
      sent.Notify();
    });
    const absl::Status s = executor->Run(args);
    sent.WaitForNotification();  // Send has returned: the rendezvous is free.
    ASSERT_TRUE(s.ok()) << s;
    // Until the consumer's cost is known, the pool runs it.
    if (step < 2) EXPECT_EQ(RanOn("where"), pool.id());
    on_sender += RanOn("where") == sender.id();
  }
#ifndef __SANITIZE_ADDRESS__
  // The policy rests on measured cost: under the sanitizers a kernel runs
  // several times slower, may measure as expensive, and rightly goes to
  // the pool; there only the results above are checked.
  EXPECT_GE(on_sender, kSteps / 2);
#endif
}

}  // namespace
}  // namespace rill
