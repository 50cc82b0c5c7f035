#include "runtime/session/session.h"

#include <cmath>
#include <limits>
#include <thread>

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

TEST(SessionTest, ExtendAddsNodesAndMultiDeviceIsNotYetSupported) {
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

  SessionOptions two;
  two.num_cpu_devices = 2;
  EXPECT_EQ(Session::Create({}, two).status().code(),
            absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace rill
