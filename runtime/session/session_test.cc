#include "runtime/session/session.h"

#include <cmath>
#include <limits>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/cc/ops.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

std::unique_ptr<Session> MakeSession(const Scope& root) {
  ::tensorflow::GraphDef def;
  EXPECT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto s = Session::Create(std::move(def));
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  auto v = t.flat<T>();
  return std::vector<T>(v.begin(), v.end());
}

TEST(SessionTest, FeedsFetchesAndPruning) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root.WithOpName("a"), DT_FLOAT);
  auto c = ops::AddV2(root.WithOpName("c"), a, {10.0f, 20.0f});
  auto d = ops::Mul(root.WithOpName("d"), c, c);
  ops::Placeholder(root.WithOpName("unused"), DT_INT32);  // Never needed.
  auto session = MakeSession(root);
  ASSERT_NE(session, nullptr);

  auto out = session->Run({{"a", Tensor::FromVector<float>({1, 2})}},
                          {"d", "c:0", "d"}, {});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 3u);
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{121, 484}));
  EXPECT_EQ(Values<float>((*out)[1]), (std::vector<float>{11, 22}));
  EXPECT_EQ(Values<float>((*out)[2]), (std::vector<float>{121, 484}));

  // Feeding an intermediate cuts everything above it: `a` is not needed.
  auto fed =
      session->Run({{"c", Tensor::FromVector<float>({3, 4})}}, {"d"}, {});
  ASSERT_TRUE(fed.ok()) << fed.status();
  EXPECT_EQ(Values<float>((*fed)[0]), (std::vector<float>{9, 16}));

  // Fetching a fed tensor returns the fed value.
  auto echo =
      session->Run({{"c", Tensor::FromVector<float>({5, 6})}}, {"c"}, {});
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(Values<float>((*echo)[0]), (std::vector<float>{5, 6}));
}

TEST(SessionTest, ClearErrors) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Placeholder(root.WithOpName("a"), DT_FLOAT);
  auto b = ops::Placeholder(root.WithOpName("b"), DT_FLOAT);
  ops::AddV2(root.WithOpName("sum"), a, b);
  auto session = MakeSession(root);
  ASSERT_NE(session, nullptr);

  auto missing = session->Run({{"a", Tensor::Scalar(1.0f)}}, {"sum"}, {});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("placeholder 'b'"),
            std::string::npos)
      << missing.status();

  auto unknown = session->Run({}, {"nope:0"}, {});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("nope"), std::string::npos);

  auto bad_index = session->Run({}, {"sum:3"}, {});
  EXPECT_EQ(bad_index.status().code(), absl::StatusCode::kInvalidArgument);

  auto shapes = session->Run({{"a", Tensor::FromVector<float>({1, 2})},
                              {"b", Tensor::FromVector<float>({1, 2, 3})}},
                             {"sum"}, {});
  EXPECT_EQ(shapes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(shapes.status().message().find("'sum'"), std::string::npos)
      << shapes.status();

  auto wrong_dtype = session->Run(
      {{"a", Tensor::Scalar<int32_t>(1)}, {"b", Tensor::Scalar(1.0f)}}, {"sum"},
      {});
  EXPECT_EQ(wrong_dtype.status().code(), absl::StatusCode::kInvalidArgument);

  auto twice =
      session->Run({{"a", Tensor::Scalar(1.0f)}, {"a:0", Tensor::Scalar(2.0f)}},
                   {"sum"}, {});
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kInvalidArgument);

  auto target = session->Run({}, {}, {"ghost"});
  EXPECT_EQ(target.status().code(), absl::StatusCode::kNotFound);
}

TEST(SessionTest, RefVariablesLiveAcrossRuns) {
  Scope root = Scope::NewRootScope();
  auto v =
      ops::VariableV2(root.WithOpName("v"), PartialTensorShape({2}), DT_FLOAT);
  ops::Assign(root.WithOpName("init"), v, {1.0f, 2.0f});
  ops::AssignAdd(root.WithOpName("bump"), v, {0.5f, 0.5f});
  ops::Identity(root.WithOpName("read"), v);
  auto session = MakeSession(root);
  ASSERT_NE(session, nullptr);

  auto uninit = session->Run({}, {"read"}, {});
  EXPECT_EQ(uninit.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(uninit.status().message().find("v"), std::string::npos);

  ASSERT_TRUE(session->Run({}, {}, {"init"}).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(session->Run({}, {}, {"bump"}).ok());
  auto out = session->Run({}, {"read"}, {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{2.5f, 3.5f}));
}

TEST(SessionTest, BroadcastingAndIntegerSemantics) {
  Scope root = Scope::NewRootScope();
  auto col = ops::Const(root, {{1}, {2}, {3}});   // [3,1]
  auto row = ops::Const(root, {10, 20, 30, 40});  // [4]
  ops::AddV2(root.WithOpName("grid"), col, row);
  auto big = ops::Const(root, std::numeric_limits<int32_t>::max());
  ops::AddV2(root.WithOpName("wrap"), big, 1);
  ops::FloorDiv(root.WithOpName("fdiv"), {-7, 7}, {2, -2});
  ops::FloorMod(root.WithOpName("fmod"), {-7, 7}, {2, -2});
  ops::Div(root.WithOpName("div0"), {1, 2}, {1, 0});
  auto empty = ops::Placeholder(root.WithOpName("empty"), DT_FLOAT);
  ops::Mul(root.WithOpName("empty_mul"), empty, {1.0f, 2.0f, 3.0f});
  ops::Less(root.WithOpName("less"), {1.0f, 5.0f}, 3.0f);
  auto session = MakeSession(root);
  ASSERT_NE(session, nullptr);

  auto out = session->Run({}, {"grid", "wrap", "fdiv", "fmod", "less"}, {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), TensorShape({3, 4}));
  EXPECT_EQ(
      Values<int32_t>((*out)[0]),
      (std::vector<int32_t>{11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43}));
  EXPECT_EQ((*out)[1].scalar<int32_t>(), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(Values<int32_t>((*out)[2]), (std::vector<int32_t>{-4, -4}));
  EXPECT_EQ(Values<int32_t>((*out)[3]), (std::vector<int32_t>{1, -1}));
  EXPECT_EQ(Values<bool>((*out)[4]), (std::vector<bool>{true, false}));

  auto div0 = session->Run({}, {"div0"}, {});
  EXPECT_EQ(div0.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(div0.status().message().find("division by zero"),
            std::string::npos);

  auto e =
      session->Run({{"empty", *Tensor::Create(DT_FLOAT, TensorShape({0, 3}))}},
                   {"empty_mul"}, {});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)[0].shape(), TensorShape({0, 3}));
}

TEST(SessionTest, ChainsReuseBuffersAndStayCorrect) {
  // Each intermediate has one consumer, so kernels write into the buffer of
  // their input; the values must come out as if they had not.
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  Output y = ops::Neg(root, x);
  y = ops::Square(root, y);
  y = ops::AddV2(root, y, 1.0f);
  y = ops::Mul(root, y, {2.0f, 3.0f});
  ops::Sqrt(root.WithOpName("out"), y);
  auto session = MakeSession(root);
  ASSERT_NE(session, nullptr);
  auto out =
      session->Run({{"x", Tensor::FromVector<float>({1, 2})}}, {"out"}, {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FLOAT_EQ((*out)[0].flat<float>()[0], std::sqrt(4.0f));
  EXPECT_FLOAT_EQ((*out)[0].flat<float>()[1], std::sqrt(15.0f));
}

TEST(SessionTest, ConcurrentRuns) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  ops::Square(root.WithOpName("y"), ops::Neg(root, x));
  auto session = MakeSession(root);
  ASSERT_NE(session, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const float v = static_cast<float>(t * 100 + i);
        auto out = session->Run({{"x", Tensor::Scalar(v)}}, {"y"}, {});
        if (!out.ok() || (*out)[0].scalar<float>() != v * v) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(SessionTest, ExtendAddsNodesAndRejectsZeroDevices) {
  Scope root = Scope::NewRootScope();
  ops::Const(root.WithOpName("one"), 1.0f);
  auto session = MakeSession(root);
  ASSERT_NE(session, nullptr);
  Scope more = Scope::NewRootScope();
  auto one = ops::Placeholder(more.WithOpName("one"), DT_FLOAT);
  ops::AddV2(more.WithOpName("two"), one, one);
  ::tensorflow::GraphDef extra;
  ASSERT_TRUE(more.ToGraphDef(&extra).ok());
  // "one" exists already: Extend must refuse the duplicate and keep going.
  EXPECT_FALSE(session->Extend(extra).ok());
  extra.mutable_node()->erase(extra.mutable_node()->begin());
  ASSERT_TRUE(session->Extend(extra).ok());
  auto out = session->Run({}, {"two"}, {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].scalar<float>(), 2.0f);

  SessionOptions none;
  none.num_cpu_devices = 0;
  EXPECT_EQ(Session::Create({}, none).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The same graph, nodes pinned to both of two CPU devices, gives the same
// results as on one device, with real _Send/_Recv pairs in between.
TEST(SessionTest, TwoDevicesMatchOneDevice) {
  auto build = [](bool pinned) {
    Scope root = Scope::NewRootScope();
    Scope cpu0 = pinned ? root.WithDevice("/device:CPU:0") : root;
    Scope cpu1 = pinned ? root.WithDevice("/device:CPU:1") : root;
    auto x = ops::Placeholder(cpu0.WithOpName("x"), DT_FLOAT);
    auto w = ops::VariableV2(cpu1.WithOpName("w"), PartialTensorShape({3, 2}),
                             DT_FLOAT);
    auto init = ops::Assign(cpu1.WithOpName("init"), w,
                            {{1.0f, -2.0f}, {3.0f, 4.0f}, {-5.0f, 6.0f}});
    auto h = ops::MatMul(cpu0.WithOpName("h"), x, w);    // w: CPU:1 -> CPU:0
    auto r = ops::Relu(cpu1.WithOpName("r"), h);         // h: CPU:0 -> CPU:1
    auto s = ops::Sum(cpu0.WithOpName("s"), r, {0, 1});  // r: CPU:1 -> CPU:0
    auto g = ops::Mul(cpu1.WithOpName("g"), s, 0.01f);   // s: CPU:0 -> CPU:1
    ops::AssignSub(cpu1.WithOpName("step"), w, ops::Fill(cpu1, {3, 2}, g));
    // A control edge across devices: "after" (CPU:0) runs after init (CPU:1).
    ops::NoOp(
        cpu0.WithOpName("after").WithControlDependencies({init.operation}));
    ops::Identity(cpu0.WithOpName("read"), w);
    return root;
  };
  auto run = [&](bool pinned, int devices, RunMetadata* meta) {
    SessionOptions options;
    options.num_cpu_devices = devices;
    ::tensorflow::GraphDef def;
    EXPECT_TRUE(build(pinned).ToGraphDef(&def).ok());
    auto session = Session::Create(def, options);
    EXPECT_TRUE(session.ok()) << session.status();
    std::vector<float> trace;
    if (!session.ok()) return trace;
    EXPECT_TRUE((*session)->Run({}, {}, {"init", "after"}).ok());
    Tensor x =
        Tensor::FromVector<float>({1, 2, 3, -1, 0, 1}, TensorShape({2, 3}));
    for (int i = 0; i < 3; ++i) {
      auto out = (*session)->Run({{"x", x}}, {"s"}, {"step"}, meta);
      EXPECT_TRUE(out.ok()) << out.status();
      if (out.ok()) trace.push_back((*out)[0].scalar<float>());
    }
    auto w = (*session)->Run({}, {"read"}, {});
    EXPECT_TRUE(w.ok()) << w.status();
    if (w.ok()) {
      for (float v : (*w)[0].flat<float>()) trace.push_back(v);
    }
    return trace;
  };
  RunMetadata meta;
  const std::vector<float> one = run(false, 1, nullptr);
  const std::vector<float> two = run(true, 2, &meta);
  ASSERT_EQ(one.size(), 9u);
  EXPECT_EQ(one, two);
  int sends = 0, recvs = 0;
  for (const NodeExecStats& s : meta.step_stats) {
    sends += s.op == "_Send";
    recvs += s.op == "_Recv";
  }
  EXPECT_GE(sends, 4);
  EXPECT_EQ(sends, recvs);
}

// An error on one device ends the step on the other, which would otherwise
// wait for a tensor that never comes.
TEST(SessionTest, ErrorOnOneDeviceEndsTheStep) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x").WithDevice("/device:CPU:0"),
                            DT_INT32);
  auto bad = ops::Div(root.WithOpName("bad").WithDevice("/device:CPU:0"), 1, x);
  ops::Neg(root.WithOpName("out").WithDevice("/device:CPU:1"), bad);
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  SessionOptions options;
  options.num_cpu_devices = 2;
  auto session = Session::Create(def, options);
  ASSERT_TRUE(session.ok());
  auto out = (*session)->Run({{"x", Tensor::Scalar<int32_t>(0)}}, {"out"}, {});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("division by zero"), std::string::npos)
      << out.status();
  // The session still works afterwards.
  auto ok = (*session)->Run({{"x", Tensor::Scalar<int32_t>(1)}}, {"out"}, {});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0].scalar<int32_t>(), -1);
}

// Collectives among the session's own devices: each device's member runs
// on Gloo over loopback, as members on several tasks would.
TEST(SessionTest, CollectivesAcrossLocalDevices) {
  Scope root = Scope::NewRootScope();
  for (int d = 0; d < 2; ++d) {
    Scope s = root.WithDevice(absl::StrCat("/device:CPU:", d));
    auto x = ops::Placeholder(s.WithOpName(absl::StrCat("x", d)), DT_FLOAT);
    ops::CollectiveReduceV2(s.WithOpName(absl::StrCat("mean", d)), x, 2, 5, 1,
                            {}, "Add", "Div");
  }
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  SessionOptions options;
  options.num_cpu_devices = 2;
  auto session = Session::Create(def, options);
  ASSERT_TRUE(session.ok()) << session.status();
  for (int step = 0; step < 3; ++step) {
    auto out =
        (*session)->Run({{"x0", Tensor::FromVector<float>({1.f * step, 4})},
                         {"x1", Tensor::FromVector<float>({3, 8})}},
                        {"mean0", "mean1"}, {});
    ASSERT_TRUE(out.ok()) << out.status();
    for (const Tensor& t : *out) {
      EXPECT_TRUE(t.Equals(Tensor::FromVector<float>({(step + 3) / 2.f, 6})))
          << t.DebugString();
    }
  }
}

// A collective whose peers will not come never holds its step past the
// step's end: when another device's node fails, or the step's timeout
// passes, the waiting member stops at once (not after the collective's own
// 10-minute timeout), and the step reports the cause.
TEST(SessionTest, ACancelledStepStopsItsWaitingCollectives) {
  Scope root = Scope::NewRootScope();
  Scope d0 = root.WithDevice("/device:CPU:0");
  Scope d1 = root.WithDevice("/device:CPU:1");
  ops::CollectiveReduceV2(d0.WithOpName("sum0"), {1.0f, 2.0f}, 2, 9, 1, {},
                          "Add", "Id");
  auto x = ops::Placeholder(d1.WithOpName("x"), DT_FLOAT);
  auto bad = ops::Reshape(d1.WithOpName("bad"), x, {2});
  ops::CollectiveReduceV2(d1.WithOpName("sum1"), bad, 2, 9, 1, {}, "Add", "Id");
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  SessionOptions options;
  options.num_cpu_devices = 2;
  auto session = Session::Create(def, options);
  ASSERT_TRUE(session.ok()) << session.status();

  // Device 1's input fails; device 0's member is waiting for it.
  absl::Time start = absl::Now();
  auto failed = (*session)->Run({{"x", Tensor::FromVector<float>({1, 2, 3})}},
                                {"sum0", "sum1"}, {});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument)
      << failed.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));

  // Only device 0 runs its member; the step's timeout ends the wait.
  RunOptions timed;
  timed.timeout_in_ms = 300;
  start = absl::Now();
  auto late = (*session)->Run(timed, {}, {"sum0"}, {});
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded)
      << late.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));

  // Nothing is left behind: the next full step works.
  auto ok = (*session)->Run({{"x", Tensor::FromVector<float>({3, 4})}},
                            {"sum0", "sum1"}, {});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE((*ok)[0].Equals(Tensor::FromVector<float>({4, 6})))
      << (*ok)[0].DebugString();
}

// A reduce works in its input's buffer only when nothing else reads it: a
// tensor that another node also consumes keeps its values, and a chain of
// reduces (the second may reuse the first's buffer) gives the right sums.
TEST(SessionTest, CollectiveReduceLeavesSharedInputsAlone) {
  Scope root = Scope::NewRootScope();
  for (int d = 0; d < 2; ++d) {
    Scope s = root.WithDevice(absl::StrCat("/device:CPU:", d));
    auto x = ops::Placeholder(s.WithOpName(absl::StrCat("x", d)), DT_FLOAT);
    auto y = ops::Mul(s.WithOpName(absl::StrCat("y", d)), x, 2.0f);
    auto sum = ops::CollectiveReduceV2(s.WithOpName(absl::StrCat("sum", d)), y,
                                       2, 6, 1, {}, "Add", "Id");
    ops::Add(s.WithOpName(absl::StrCat("after", d))
                 .WithControlDependencies({sum.operation}),
             y, 0.0f);
    ops::CollectiveReduceV2(s.WithOpName(absl::StrCat("again", d)), sum, 2, 6,
                            2, {}, "Add", "Div");
  }
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  SessionOptions options;
  options.num_cpu_devices = 2;
  auto session = Session::Create(def, options);
  ASSERT_TRUE(session.ok()) << session.status();
  auto out = (*session)->Run({{"x0", Tensor::FromVector<float>({1, 2})},
                              {"x1", Tensor::FromVector<float>({3, 4})}},
                             {"after0", "after1", "again0", "again1"}, {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE((*out)[0].Equals(Tensor::FromVector<float>({2, 4})))
      << (*out)[0].DebugString();
  EXPECT_TRUE((*out)[1].Equals(Tensor::FromVector<float>({6, 8})))
      << (*out)[1].DebugString();
  for (int i : {2, 3}) {
    EXPECT_TRUE((*out)[i].Equals(Tensor::FromVector<float>({8, 12})))
        << (*out)[i].DebugString();
  }
}

// tf.cond written out as Switch/Merge: only the taken branch runs (its
// variable update included), Merge forwards it, and a tensor of the untaken
// branch is dead. On two devices the deadness crosses in _Send/_Recv.
TEST(SessionTest, SwitchAndMergeRunOnlyTheTakenBranch) {
  for (int devices : {1, 2}) {
    SCOPED_TRACE(devices);
    Scope root = Scope::NewRootScope();
    Scope cpu0 = root.WithDevice("/device:CPU:0");
    Scope cpu1 = root.WithDevice(devices == 2 ? "/device:CPU:1" : "");
    auto x = ops::Placeholder(cpu0.WithOpName("x"), DT_FLOAT);
    auto pred = ops::Placeholder(cpu0.WithOpName("pred"), DT_BOOL);
    auto count = ops::VariableV2(cpu1.WithOpName("count"),
                                 PartialTensorShape::Scalar(), DT_INT32);
    ops::Assign(cpu1.WithOpName("init"), count, 0);
    auto sw = ops::Switch(cpu0.WithOpName("sw"), x, pred);
    // True branch on the other device: doubles x and counts its runs. The
    // update hangs off the branch by a control edge from an Identity of
    // output_true, as tf.cond builds it.
    auto gate = ops::Identity(cpu1.WithOpName("sw_true"), sw.output_true);
    auto bump = ops::AssignAdd(
        cpu1.WithOpName("bump").WithControlDependencies({gate.operation}),
        count, 1);
    auto doubled = ops::Mul(
        cpu1.WithOpName("doubled").WithControlDependencies({bump.operation}),
        gate, 2.0f);
    auto shifted =
        ops::AddV2(cpu0.WithOpName("shifted"), sw.output_false, 100.0f);
    ops::Merge(cpu0.WithOpName("merged"), {shifted, doubled});
    ops::Identity(cpu1.WithOpName("read_count"), count);
    ::tensorflow::GraphDef def;
    ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();

    SessionOptions options;
    options.num_cpu_devices = devices;
    auto session = Session::Create(def, options);
    ASSERT_TRUE(session.ok()) << session.status();
    ASSERT_TRUE((*session)->Run({}, {}, {"init"}).ok());
    const Tensor three = Tensor::Scalar(3.0f);
    auto taken = (*session)->Run({{"x", three}, {"pred", Tensor::Scalar(true)}},
                                 {"merged", "merged:1"}, {});
    ASSERT_TRUE(taken.ok()) << taken.status();
    EXPECT_EQ((*taken)[0].scalar<float>(), 6.0f);
    EXPECT_EQ((*taken)[1].scalar<int32_t>(), 1);
    auto other =
        (*session)->Run({{"x", three}, {"pred", Tensor::Scalar(false)}},
                        {"merged", "merged:1"}, {});
    ASSERT_TRUE(other.ok()) << other.status();
    EXPECT_EQ((*other)[0].scalar<float>(), 103.0f);
    EXPECT_EQ((*other)[1].scalar<int32_t>(), 0);
    // The untaken branch's update did not run: one bump, from the first run.
    auto count_now = (*session)->Run({}, {"read_count"}, {});
    ASSERT_TRUE(count_now.ok()) << count_now.status();
    EXPECT_EQ((*count_now)[0].scalar<int32_t>(), 1);
    // A tensor on the untaken branch has no value.
    auto dead = (*session)->Run({{"x", three}, {"pred", Tensor::Scalar(false)}},
                                {"doubled"}, {});
    ASSERT_FALSE(dead.ok());
    EXPECT_EQ(dead.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(dead.status().message().find("dead"), std::string::npos)
        << dead.status();
  }
}

// A step longer than its timeout ends with DEADLINE_EXCEEDED instead of
// running on: 200 chained 1000x1000 products (about 400 GFLOP, far beyond
// 50 ms on any machine) stop after the product in flight.
TEST(SessionTest, TimeoutEndsALongStep) {
  Scope root = Scope::NewRootScope();
  Output x = ops::Fill(root, {1000, 1000}, 0.001f);
  Output m = x;
  for (int i = 0; i < 200; ++i) m = ops::MatMul(root, m, x);
  ops::Identity(root.WithOpName("out"), m);
  auto session = MakeSession(root);
  ASSERT_NE(session, nullptr);
  RunOptions options;
  options.timeout_in_ms = 50;
  auto out = session->Run(options, {}, {"out"}, {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kDeadlineExceeded)
      << out.status();
  EXPECT_NE(out.status().message().find("50 ms"), std::string::npos);
  options.timeout_in_ms = -1;
  EXPECT_EQ(session->Run(options, {}, {"out"}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A step within its timeout is unaffected.
  options.timeout_in_ms = 60'000;
  auto quick =
      session->Run(options, {{"out", Tensor::Scalar(1.0f)}}, {"out"}, {});
  ASSERT_TRUE(quick.ok()) << quick.status();
}

}  // namespace
}  // namespace rill
