// Kernels of many op families on the op harness (op_harness.h); the string
// ops have their own file.
#include <cmath>
#include <functional>
#include <limits>
#include <map>

#include "core/cc/node_builder.h"
#include "core/cc/ops.h"
#include "core/protos/summary.pb.h"
#include "kernels/cpu/op_harness.h"

namespace rill {
namespace {

// A 1x3x3x1 NHWC image holding 1..9.
Tensor Image3x3() {
  return Tensor::FromVector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9},
                                   TensorShape({1, 3, 3, 1}));
}

TEST(KernelsTest, LayoutOps) {
  RunCases({
      {"ConcatV2 axis 1",
       [](const Scope& s) {
         return ops::ConcatV2(s,
                              {ops::Const(s, {{1.0f}, {2.0f}}),
                               ops::Const(s, {{3.0f, 4.0f}, {5.0f, 6.0f}})},
                              1);
       },
       F({1, 3, 4, 2, 5, 6}, {2, 3})},
      {"ConcatV2 negative axis",
       [](const Scope& s) {
         return ops::ConcatV2(s, {ops::Const(s, {1, 2}), ops::Const(s, {3})},
                              -1);
       },
       I({1, 2, 3}, {3})},
      {"Pack axis 1",
       [](const Scope& s) {
         return ops::Pack(s, {ops::Const(s, {1, 2}), ops::Const(s, {3, 4})},
                          ops::Pack::Axis(1));
       },
       I({1, 3, 2, 4}, {2, 2})},
      {"Unpack",
       [](const Scope& s) {
         return ops::Unpack(s, ops::Const(s, {{1, 2}, {3, 4}, {5, 6}}), 2,
                            ops::Unpack::Axis(1))
             .output[1];
       },
       I({2, 4, 6}, {3})},
      {"Split",
       [](const Scope& s) {
         return ops::Split(s, 1, ops::Const(s, {{1, 2, 3, 4}, {5, 6, 7, 8}}), 2)
             .output[1];
       },
       I({3, 4, 7, 8}, {2, 2})},
      {"SplitV with -1",
       [](const Scope& s) {
         return ops::SplitV(s, ops::Const(s, {1, 2, 3, 4, 5}),
                            ops::Const(s, {1, -1}), 0, 2)
             .output[1];
       },
       I({2, 3, 4, 5}, {4})},
      {"Slice",
       [](const Scope& s) {
         return ops::Slice(s, ops::Const(s, {{1, 2, 3}, {4, 5, 6}}), {0, 1},
                           {2, -1});
       },
       I({2, 3, 5, 6}, {2, 2})},
      {"StridedSlice reverse",
       [](const Scope& s) {
         return ops::StridedSlice(s, ops::Const(s, {1, 2, 3, 4, 5}), {0}, {0},
                                  {-2},
                                  ops::StridedSlice::BeginMask(1).EndMask(1));
       },
       I({5, 3, 1}, {3})},
      {"StridedSlice shrink + ellipsis",
       [](const Scope& s) {
         return ops::StridedSlice(
             s, ops::Const(s, {{1, 2, 3}, {4, 5, 6}}), {0, 1}, {0, 2}, {1, 1},
             ops::StridedSlice::EllipsisMask(1).ShrinkAxisMask(2));
       },
       I({2, 5}, {2})},
      {"Transpose",
       [](const Scope& s) {
         return ops::Transpose(s, ops::Const(s, {{1, 2, 3}, {4, 5, 6}}),
                               {1, 0});
       },
       I({1, 4, 2, 5, 3, 6}, {3, 2})},
      {"Pad",
       [](const Scope& s) {
         return ops::Pad(s, ops::Const(s, {{1, 2}}),
                         ops::Const(s, {{1, 0}, {0, 1}}));
       },
       I({0, 0, 0, 1, 2, 0}, {2, 3})},
      {"Tile",
       [](const Scope& s) {
         return ops::Tile(s, ops::Const(s, {{1, 2}}), {2, 2});
       },
       I({1, 2, 1, 2, 1, 2, 1, 2}, {2, 4})},
      {"GatherV2 axis 1",
       [](const Scope& s) {
         return ops::GatherV2(s, ops::Const(s, {{1, 2, 3}, {4, 5, 6}}), {2, 0},
                              1);
       },
       I({3, 1, 6, 4}, {2, 2})},
  });
}

// The string ops a sharded Saver builds its file names with.
TEST(KernelsTest, StringOpsOfTheSaver) {
  using S = std::vector<std::string>;
  const std::string prefix = "/ckpt/model";
  RunCases({
      {"StringJoin with a scalar repeated",
       [](const Scope& s) {
         return ops::StringJoin(
             s,
             InputList(
                 {ops::Const(s, std::string("a")),
                  ops::Const(s, Tensor::FromVector<std::string>({"x", "yy"}))}),
             ops::StringJoin::Separator("/"));
       },
       Tensor::FromVector<std::string>({"a/x", "a/yy"})},
      {"StringJoin of nothing",
       [](const Scope& s) {
         return ops::StringJoin(s, InputList(std::vector<Output>{}));
       },
       Tensor::Scalar<std::string>("")},
      {"ShardedFilename",
       [&](const Scope& s) {
         return ops::ShardedFilename(s, ops::Const(s, prefix), 1, 12);
       },
       Tensor::Scalar<std::string>("/ckpt/model-00001-of-00012")},
      {"ShardedFilespec",
       [&](const Scope& s) {
         return ops::ShardedFilespec(s, ops::Const(s, prefix), 3);
       },
       Tensor::Scalar<std::string>("/ckpt/model-?????-of-00003")},
      {"StaticRegexFullMatch",
       [](const Scope& s) {
         return ops::StaticRegexFullMatch(
             s,
             ops::Const(s, Tensor::FromVector<std::string>(
                               {"s3://bucket/x", "/tmp/s3://", ""})),
             "^s3://.*");
       },
       Tensor::FromVector<bool>({true, false, false})},
      {"Pack of strings",
       [](const Scope& s) {
         return ops::Pack(s, InputList({ops::Const(s, std::string("p0")),
                                        ops::Const(s, std::string("p1"))}));
       },
       Tensor::FromVector<std::string>(S{"p0", "p1"})},
      {"ConcatV2 of strings",
       [](const Scope& s) {
         return ops::ConcatV2(
             s,
             InputList(
                 {ops::Const(s, Tensor::FromVector<std::string>(
                                    {"a", "b", "c", "d"}, TensorShape({2, 2}))),
                  ops::Const(s, Tensor::FromVector<std::string>(
                                    {"e", "f"}, TensorShape({2, 1})))}),
             1);
       },
       Tensor::FromVector<std::string>({"a", "b", "e", "c", "d", "f"},
                                       TensorShape({2, 3}))},
      {"GatherV2 of strings",
       [](const Scope& s) {
         return ops::GatherV2(
             s, ops::Const(s, Tensor::FromVector<std::string>({"w", "b", "c"})),
             ops::Const(s, Tensor::FromVector<int64_t>({2, 0})), 0);
       },
       Tensor::FromVector<std::string>(S{"c", "w"})},
      {"Where",
       [](const Scope& s) {
         return ops::Where(
             s, ops::Const(s, Tensor::FromVector<bool>(
                                  {false, true, true, false, false, true},
                                  TensorShape({2, 3}))));
       },
       Tensor::FromVector<int64_t>({0, 1, 0, 2, 1, 2}, TensorShape({3, 2}))},
      {"SelectV2 of strings",
       [](const Scope& s) {
         return ops::SelectV2(s, ops::Const(s, false),
                              ops::Const(s, std::string(".part")),
                              ops::Const(s, std::string("_temp/part")));
       },
       Tensor::Scalar<std::string>("_temp/part")},
  });
}

TEST(KernelsTest, SummariesMergeAndRefuseDuplicateTags) {
  Scope root = Scope::NewRootScope();
  auto a = ops::ScalarSummary(
      root, ops::Const(root, Tensor::FromVector<std::string>({"loss", "acc"})),
      ops::Const(root, Tensor::FromVector<double>({0.25, 0.5})));
  auto b = ops::ScalarSummary(root, ops::Const(root, std::string("lr")),
                              ops::Const(root, int64_t{3}));
  ops::MergeSummary(root.WithOpName("merged"), InputList({a, b}));
  ops::MergeSummary(root.WithOpName("twice"), InputList({a, a}));
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  auto got = (*session)->Run({}, {"merged"}, {});
  ASSERT_TRUE(got.ok()) << got.status();
  ::tensorflow::Summary summary;
  ASSERT_TRUE(summary.ParseFromString((*got)[0].scalar<std::string>()));
  ASSERT_EQ(summary.value_size(), 3);
  EXPECT_EQ(summary.value(0).tag(), "loss");
  EXPECT_EQ(summary.value(0).simple_value(), 0.25f);
  EXPECT_EQ(summary.value(2).tag(), "lr");
  EXPECT_EQ(summary.value(2).simple_value(), 3.0f);
  auto twice = (*session)->Run({}, {"twice"}, {});
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(twice.status().message().find("duplicate tag 'loss'"),
            std::string::npos)
      << twice.status();
}

TEST(KernelsTest, MathAndNnOps) {
  RunCases({
      {"MatMul transpose_b",
       [](const Scope& s) {
         return ops::MatMul(s, ops::Const(s, {{1.0f, 2.0f}}),
                            ops::Const(s, {{3.0f, 4.0f}, {5.0f, 6.0f}}),
                            ops::MatMul::TransposeB(true));
       },
       F({11, 17}, {1, 2})},
      {"AddN",
       [](const Scope& s) {
         return ops::AddN(
             s, {ops::Const(s, {1.0f, 2.0f}), ops::Const(s, {3.0f, 4.0f}),
                 ops::Const(s, {5.0f, 6.0f})});
       },
       F({9, 12}, {2})},
      {"SelectV2 broadcast",
       [](const Scope& s) {
         return ops::SelectV2(s, ops::Const(s, {true, false}),
                              ops::Const(s, {{1, 2}, {3, 4}}), 0);
       },
       I({1, 0, 3, 0}, {2, 2})},
      {"Select rows",
       [](const Scope& s) {
         return ops::Select(s, ops::Const(s, {false, true}),
                            ops::Const(s, {{1, 2}, {3, 4}}),
                            ops::Const(s, {{5, 6}, {7, 8}}));
       },
       I({5, 6, 3, 4}, {2, 2})},
      {"Range", [](const Scope& s) { return ops::Range(s, 1, 10, 3); },
       I({1, 4, 7}, {3})},
      {"OneHot",
       [](const Scope& s) {
         return ops::OneHot(s, ops::Const(s, {0, 2, 5}), 3, 1.0f, 0.0f);
       },
       F({1, 0, 0, 0, 0, 1, 0, 0, 0}, {3, 3})},
      {"BroadcastGradientArgs r0",
       [](const Scope& s) {
         return ops::BroadcastGradientArgs(s, {1, 3}, {2, 1, 3}).r0;
       },
       I({0, 1}, {2})},
      {"BroadcastGradientArgs r1",
       [](const Scope& s) {
         return ops::BroadcastGradientArgs(s, {1, 3}, {2, 1, 3}).r1;
       },
       I({1}, {1})},
      {"InvertPermutation",
       [](const Scope& s) {
         return ops::InvertPermutation(s, ops::Const(s, {2, 0, 1}));
       },
       I({1, 2, 0}, {3})},
      {"Softmax",
       [](const Scope& s) {
         return ops::Softmax(s, ops::Const(s, {{0.0f, std::log(3.0f)}}));
       },
       F({0.25f, 0.75f}, {1, 2})},
      {"cross entropy over no classes",
       [](const Scope& s) {
         return ops::SoftmaxCrossEntropyWithLogits(
                    s, ops::Fill(s, {2, 0}, 1.0f), ops::Fill(s, {2, 0}, 1.0f))
             .loss;
       },
       F({0, 0}, {2})},
      {"BiasAdd NCHW",
       [](const Scope& s) {
         return ops::BiasAdd(s, ops::Const(s, {{{1.0f, 1.0f}, {1.0f, 1.0f}}}),
                             ops::Const(s, {10.0f, 20.0f}),
                             ops::BiasAdd::DataFormat("NCHW"));
       },
       F({11, 11, 21, 21}, {1, 2, 2})},
      {"LeakyRelu",
       [](const Scope& s) {
         return ops::LeakyRelu(s, ops::Const(s, {-1.0f, 2.0f}),
                               ops::LeakyRelu::Alpha(0.5f));
       },
       F({-0.5f, 2}, {2})},
      {"Floor",
       [](const Scope& s) {
         return ops::Floor(s, ops::Const(s, {-1.5f, 2.5f}));
       },
       F({-2, 2}, {2})},
      {"Ceil",
       [](const Scope& s) {
         return ops::Ceil(s, ops::Const(s, {-1.5f, 2.5f}));
       },
       F({-1, 3}, {2})},
      {"Round halves to even",
       [](const Scope& s) {
         return ops::Round(s, ops::Const(s, {-1.5f, 0.5f, 2.5f, 2.6f}));
       },
       F({-2, 0, 2, 3}, {4})},
      {"Rint",
       [](const Scope& s) {
         return ops::Rint(s, ops::Const(s, {1.5f, -0.5f}));
       },
       F({2, -0.0f}, {2})},
      {"Erf and Erfc",
       [](const Scope& s) {
         return ops::AddV2(s, ops::Erf(s, ops::Const(s, {0.5f})),
                           ops::Erfc(s, ops::Const(s, {0.5f})));
       },
       F({1}, {1})},
      {"Softplus without overflow",
       [](const Scope& s) {
         return ops::Softplus(s, ops::Const(s, {-200.0f, 0.0f, 200.0f}));
       },
       F({0, std::log(2.0f), 200}, {3})},
      {"Softsign",
       [](const Scope& s) {
         return ops::Softsign(s, ops::Const(s, {-3.0f, 1.0f}));
       },
       F({-0.75f, 0.5f}, {2})},
      {"DivNoNan by zero is zero",
       [](const Scope& s) {
         return ops::DivNoNan(s, ops::Const(s, {1.0f, 0.0f, 6.0f}),
                              ops::Const(s, {0.0f, 0.0f, 3.0f}));
       },
       F({0, 0, 2}, {3})},
      {"Atan2 takes y first",
       [](const Scope& s) {
         return ops::Atan2(s, ops::Const(s, {1.0f}), ops::Const(s, {-1.0f}));
       },
       F({std::atan2(1.0f, -1.0f)}, {1})},
      {"L2Loss",
       [](const Scope& s) {
         return ops::L2Loss(s, ops::Const(s, {{1.0f, 2.0f}, {3.0f, 4.0f}}));
       },
       F({15}, {})},
      {"Selu",
       [](const Scope& s) {
         return ops::Selu(s, ops::Const(s, {-1.0f, 2.0f}));
       },
       F({static_cast<float>(1.0507009873554805 * 1.6732632423543772 *
                             std::expm1(-1.0)),
          static_cast<float>(1.0507009873554805 * 2)},
         {2})},
      {"SeluGrad",
       [](const Scope& s) {
         return ops::SeluGrad(s, ops::Const(s, {2.0f, 2.0f}),
                              ops::Const(s, {-1.0f, 3.0f}));
       },
       F({static_cast<float>(2 *
                             (-1 + 1.0507009873554805 * 1.6732632423543772)),
          static_cast<float>(2 * 1.0507009873554805)},
         {2})},
      {"IsFinite, IsInf, IsNan",
       [](const Scope& s) {
         auto x = ops::Const(s, {1.0f, INFINITY, -INFINITY, NAN});
         return ops::Cast(
             s,
             ops::ConcatV2(
                 s, {ops::IsFinite(s, x), ops::IsInf(s, x), ops::IsNan(s, x)},
                 0),
             DT_INT32);
       },
       I({1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1}, {12})},
      {"Elu",
       [](const Scope& s) {
         return ops::Elu(s, ops::Const(s, {-1.0f, 2.0f}));
       },
       F({std::expm1(-1.0f), 2}, {2})},
      {"Conv2D VALID",
       [](const Scope& s) {
         return ops::Conv2D(s, ops::Const(s, Image3x3()),
                            ops::Fill(s, {2, 2, 1, 1}, 1.0f), {1, 1, 1, 1},
                            "VALID");
       },
       F({12, 16, 24, 28}, {1, 2, 2, 1})},
      {"Conv2D SAME stride 2",
       [](const Scope& s) {
         return ops::Conv2D(s, ops::Const(s, Image3x3()),
                            ops::Fill(s, {2, 2, 1, 1}, 1.0f), {1, 2, 2, 1},
                            "SAME");
       },
       F({12, 9, 15, 9}, {1, 2, 2, 1})},
      {"MaxPool VALID",
       [](const Scope& s) {
         return ops::MaxPool(s, ops::Const(s, Image3x3()), {1, 2, 2, 1},
                             {1, 1, 1, 1}, "VALID");
       },
       F({5, 6, 8, 9}, {1, 2, 2, 1})},
      {"AvgPool SAME averages real elements only",
       [](const Scope& s) {
         return ops::AvgPool(s, ops::Const(s, Image3x3()), {1, 2, 2, 1},
                             {1, 2, 2, 1}, "SAME");
       },
       F({3, 4.5f, 7.5f, 9}, {1, 2, 2, 1})},
      {"MaxPoolGrad routes to each window's maximum",
       [](const Scope& s) {
         auto x = ops::Const(s, Image3x3());
         auto y = ops::MaxPool(s, x, {1, 2, 2, 1}, {1, 1, 1, 1}, "VALID");
         return ops::MaxPoolGrad(s, x, y,
                                 ops::Const(s, F({1, 2, 3, 4}, {1, 2, 2, 1})),
                                 {1, 2, 2, 1}, {1, 1, 1, 1}, "VALID");
       },
       F({0, 0, 0, 0, 1, 2, 0, 3, 4}, {1, 3, 3, 1})},
      {"AvgPoolGrad SAME spreads over real elements only",
       [](const Scope& s) {
         return ops::AvgPoolGrad(s, ops::Const(s, {1, 3, 3, 1}),
                                 ops::Const(s, F({4, 6, 8, 3}, {1, 2, 2, 1})),
                                 {1, 2, 2, 1}, {1, 2, 2, 1}, "SAME");
       },
       F({1, 1, 3, 1, 1, 3, 4, 4, 3}, {1, 3, 3, 1})},
      {"Conv2DBackpropInput of a 1x1 filter scales the gradient",
       [](const Scope& s) {
         return ops::Conv2DBackpropInput(
             s, ops::Const(s, {1, 2, 2, 1}),
             ops::Const(s, F({3}, {1, 1, 1, 1})),
             ops::Const(s, F({1, 2, 3, 4}, {1, 2, 2, 1})), {1, 1, 1, 1},
             "VALID");
       },
       F({3, 6, 9, 12}, {1, 2, 2, 1})},
      {"Conv2DBackpropFilter sums input times gradient over windows",
       [](const Scope& s) {
         // 2x2 filter over the 3x3 image, VALID: out 2x2 of all ones.
         return ops::Conv2DBackpropFilter(
             s, ops::Const(s, Image3x3()), ops::Const(s, {2, 2, 1, 1}),
             ops::Fill(s, {1, 2, 2, 1}, 1.0f), {1, 1, 1, 1}, "VALID");
       },
       F({1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9},
         {2, 2, 1, 1})},
      {"StridedSliceGrad writes dy where the slice read",
       [](const Scope& s) {
         // x[1:, ::-2] of a [2, 3] tensor is [[x12, x10]].
         return ops::StridedSliceGrad(
             s, ops::Const(s, {2, 3}), ops::Const(s, {1, -1}),
             ops::Const(s, {2, 0}), ops::Const(s, {1, -2}),
             ops::Const(s, F({7, 8}, {1, 2})),
             ops::StridedSliceGrad::EndMask(2));
       },
       F({0, 0, 0, 8, 0, 7}, {2, 3})},
      {"UnsortedSegmentSum adds rows by id and drops negative ids",
       [](const Scope& s) {
         return ops::UnsortedSegmentSum(
             s, ops::Const(s, {{1.0f, 2.0f}, {3.0f, 4.0f}, {5.0f, 6.0f}}),
             ops::Const(s, {2, -1, 2}), 3);
       },
       F({0, 0, 0, 0, 6, 8}, {3, 2})},
      {"GatherNd elements and rows",
       [](const Scope& s) {
         auto p = ops::Reshape(s, ops::Range(s, 0, 12, 1), {3, 4});
         return ops::ConcatV2(
             s,
             {ops::GatherNd(s, p, ops::Const(s, {{0, 1}, {2, 3}})),
              ops::Reshape(s, ops::GatherNd(s, p, ops::Const(s, {{1}})), {-1})},
             0);
       },
       I({1, 11, 4, 5, 6, 7}, {6})},
      {"ScatterNd adds duplicates",
       [](const Scope& s) {
         return ops::ScatterNd(s, ops::Const(s, {{1}, {3}, {1}}),
                               ops::Const(s, {9, 10, 11}), ops::Const(s, {4}));
       },
       I({0, 20, 0, 10}, {4})},
      {"TopKV2: ties by position, indices",
       [](const Scope& s) {
         auto top =
             ops::TopKV2(s, ops::Const(s, {{1, 5, 3, 5}, {4, 2, 8, 0}}), 2);
         return ops::ConcatV2(s,
                              {ops::Reshape(s, top.values, {-1}),
                               ops::Reshape(s, top.indices, {-1})},
                              0);
       },
       I({5, 5, 8, 4, 1, 3, 2, 0}, {8})},
      {"SegmentSum, SegmentMean, SegmentMax: an empty segment is 0",
       [](const Scope& s) {
         auto data = ops::Const(s, {1.0f, 2.0f, 6.0f, 4.0f});
         auto ids = ops::Const(s, {0, 0, 2, 2});
         return ops::ConcatV2(
             s,
             {ops::SegmentSum(s, data, ids), ops::SegmentMean(s, data, ids),
              ops::SegmentMax(s, data, ids)},
             0);
       },
       F({3, 0, 10, 1.5f, 0, 5, 2, 0, 6}, {9})},
      {"UnsortedSegmentMin: an empty segment is the highest value",
       [](const Scope& s) {
         return ops::UnsortedSegmentMin(s, ops::Const(s, {3, 1, 2}),
                                        ops::Const(s, {0, -1, 0}), 2);
       },
       I({2, std::numeric_limits<int32_t>::max()}, {2})},
      {"UnsortedSegmentProd: an empty segment is one, negative ids dropped",
       [](const Scope& s) {
         return ops::UnsortedSegmentProd(s, ops::Const(s, {3, 5, 2, 7}),
                                         ops::Const(s, {0, -1, 0, 2}), 3);
       },
       I({6, 1, 7}, {3})},
      {"SparseTensorDenseMatMul, A adjoint",
       [](const Scope& s) {
         // A = [[0, 2], [3, 0]] as (indices, values); A^T B.
         return ops::SparseTensorDenseMatMul(
             s,
             ops::Const(s,
                        {{int64_t{0}, int64_t{1}}, {int64_t{1}, int64_t{0}}}),
             ops::Const(s, {2.0f, 3.0f}),
             ops::Const(s, {int64_t{2}, int64_t{2}}),
             ops::Const(s, {{1.0f, 2.0f}, {3.0f, 4.0f}}),
             ops::SparseTensorDenseMatMul::AdjointA(true));
       },
       F({9, 12, 2, 4}, {2, 2})},
      {"SparseToDense with a default",
       [](const Scope& s) {
         return ops::SparseToDense(s, ops::Const(s, {{0, 1}, {2, 0}}),
                                   ops::Const(s, {3, 2}),
                                   ops::Const(s, {7.0f, 8.0f}), -1.0f);
       },
       F({-1, 7, -1, -1, 8, -1}, {3, 2})},
      {"Cumprod exclusive reverse",
       [](const Scope& s) {
         return ops::Cumprod(s, ops::Const(s, {2.0f, 3.0f, 4.0f}), 0,
                             ops::Cumprod::Exclusive(true).Reverse(true));
       },
       F({12, 4, 1}, {3})},
      {"Cumsum along axis 1",
       [](const Scope& s) {
         return ops::Cumsum(s, ops::Const(s, {{1.0f, 2.0f}, {3.0f, 4.0f}}), 1);
       },
       F({1, 3, 3, 7}, {2, 2})},
      {"FusedBatchNormV3 training NHWC, running stats mixed by half",
       [](const Scope& s) {
         // Channel 0 holds {1, 3}, channel 1 {2, 6}.
         auto bn = ops::FusedBatchNormV3(
             s,
             ops::Reshape(s, ops::Const(s, {1.0f, 2.0f, 3.0f, 6.0f}),
                          {1, 2, 1, 2}),
             ops::Const(s, {1.0f, 2.0f}), ops::Const(s, {0.0f, 1.0f}),
             ops::Const(s, {10.0f, 20.0f}), ops::Const(s, {30.0f, 40.0f}),
             ops::FusedBatchNormV3::ExponentialAvgFactor(0.5f));
         return ops::ConcatV2(
             s,
             {ops::Reshape(s, bn.y, {-1}), bn.batch_mean, bn.batch_variance,
              bn.reserve_space_1, bn.reserve_space_2},
             0);
       },
       // Batch mean {2, 4}, biased variance {1, 4}, unbiased {2, 8}.
       F({-0.99995f, -0.999975f, 0.99995f, 2.999975f, 6, 12, 16, 24, 2, 4, 1,
          4},
         {12})},
      {"FusedBatchNormV3 inference NCHW",
       [](const Scope& s) {
         auto bn = ops::FusedBatchNormV3(
             s,
             ops::Reshape(s, ops::Const(s, {1.0f, 3.0f, 2.0f, 6.0f}),
                          {1, 2, 2, 1}),
             ops::Const(s, {1.0f, 2.0f}), ops::Const(s, {0.0f, 1.0f}),
             ops::Const(s, {1.0f, 2.0f}), ops::Const(s, {4.0f, 16.0f}),
             ops::FusedBatchNormV3::DataFormat("NCHW").IsTraining(false));
         return ops::ConcatV2(
             s, {ops::Reshape(s, bn.y, {-1}), bn.batch_mean, bn.batch_variance},
             0);
       },
       F({0, 0.9999875f, 1, 2.99999375f, 1, 2, 4, 16}, {8})},
      {"FusedBatchNormGradV3 training: sums and the centred dx",
       [](const Scope& s) {
         // One channel {1, 3}: mean 2, variance 1; dy {1, 0}.
         auto g = ops::FusedBatchNormGradV3(
             s, ops::Reshape(s, ops::Const(s, {1.0f, 0.0f}), {1, 2, 1, 1}),
             ops::Reshape(s, ops::Const(s, {1.0f, 3.0f}), {1, 2, 1, 1}),
             ops::Const(s, {2.0f}), ops::Const(s, {2.0f}),
             ops::Const(s, {1.0f}), ops::Const(s, 0.0f),
             ops::FusedBatchNormGradV3::Epsilon(0));
         return ops::ConcatV2(s,
                              {ops::Reshape(s, g.x_backprop, {-1}),
                               g.scale_backprop, g.offset_backprop},
                              0);
       },
       // xhat {-1, 1}: dx = 2 * (dy - 1/2 - xhat * (-1/2)) = {0, 0}.
       F({0, 0, -1, 1}, {4})},
      {"Cast float to int truncates",
       [](const Scope& s) {
         return ops::Cast(s, ops::Const(s, {1.7f, -1.7f}), DT_INT32);
       },
       I({1, -1}, {2})},
  });
}

// x [2, 2, 3] times y [3, 2], y broadcast over x's batch, computed here
// with plain loops.
Tensor BatchMatMulExpected(const std::vector<float>& x,
                           const std::vector<float>& y) {
  std::vector<float> out(8, 0.0f);
  for (int b = 0; b < 2; ++b) {
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 2; ++j) {
        for (int k = 0; k < 3; ++k) {
          out[b * 4 + i * 2 + j] += x[b * 6 + i * 3 + k] * y[k * 2 + j];
        }
      }
    }
  }
  return F(out, {2, 2, 2});
}

TEST(KernelsTest, IndexingAndBroadcastOps) {
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::vector<float> y = {1, -1, 2, 0, 0.5f, 3};
  RunCases({
      {"BatchMatMulV2 broadcasts y",
       [&](const Scope& s) {
         return ops::BatchMatMulV2(s, ops::Const(s, F(x, {2, 2, 3})),
                                   ops::Const(s, F(y, {3, 2})));
       },
       BatchMatMulExpected(x, y)},
      {"BatchMatMulV2 adj_x adj_y",
       [](const Scope& s) {
         // x^T is [[1, 2]], y^T is [[3], [4]]: one batch of [1x2]*[2x1].
         return ops::BatchMatMulV2(s, ops::Const(s, {{{1.0f}, {2.0f}}}),
                                   ops::Const(s, {{{3.0f, 4.0f}}}),
                                   ops::BatchMatMulV2::AdjX(true).AdjY(true));
       },
       F({11}, {1, 1, 1})},
      {"BatchMatMulV2 int32 empty batch",
       [](const Scope& s) {
         return ops::BatchMatMulV2(s, ops::Fill(s, {0, 2, 2}, 1),
                                   ops::Fill(s, {2, 3}, 1));
       },
       I({}, {0, 2, 3})},
      {"BroadcastTo row to matrix",
       [](const Scope& s) {
         return ops::BroadcastTo(s, ops::Const(s, {1, 2, 3}), {2, 3});
       },
       I({1, 2, 3, 1, 2, 3}, {2, 3})},
      {"BroadcastTo column",
       [](const Scope& s) {
         return ops::BroadcastTo(s, ops::Const(s, {{1}, {2}}), {2, 3});
       },
       I({1, 1, 1, 2, 2, 2}, {2, 3})},
      {"BroadcastTo scalar to empty",
       [](const Scope& s) {
         return ops::BroadcastTo(s, 7, {0, 4});
       },
       I({}, {0, 4})},
      {"Tile scalar",
       [](const Scope& s) {
         return ops::Tile(s, ops::Const(s, 5.0f),
                          ops::Const(s, Tensor::FromVector<int32_t>({})));
       },
       F({5}, {})},
      {"Tile rank 3",
       [](const Scope& s) {
         return ops::Tile(s, ops::Const(s, {{{1, 2}}}), {2, 1, 2});
       },
       I({1, 2, 1, 2, 1, 2, 1, 2}, {2, 1, 4})},
      {"Gather axis 0 bool",
       [](const Scope& s) {
         return ops::Gather(s, ops::Const(s, {true, false}),
                            ops::Const(s, {{1, 1}, {0, 1}}));
       },
       Tensor::FromVector<bool>({false, false, true, false},
                                TensorShape({2, 2}))},
      {"GatherV2 negative axis",
       [](const Scope& s) {
         return ops::GatherV2(s, ops::Const(s, {{1, 2, 3}, {4, 5, 6}}),
                              int64_t{1}, -1);
       },
       I({2, 5}, {2})},
      {"GatherV2 batch_dims 1",
       [](const Scope& s) {
         // Row b takes its own elements indices[b].
         return ops::GatherV2(s, ops::Const(s, {{1, 2, 3}, {4, 5, 6}}),
                              ops::Const(s, {{2, 0}, {1, 1}}), 1,
                              ops::GatherV2::BatchDims(1));
       },
       I({3, 1, 5, 5}, {2, 2})},
      {"GatherV2 batch_dims -1 with inner dims",
       [](const Scope& s) {
         return ops::GatherV2(
             s, ops::Const(s, {{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}}),
             ops::Const(s, {{1}, {0}}), 1, ops::GatherV2::BatchDims(-1));
       },
       I({3, 4, 5, 6}, {2, 1, 2})},
      {"DynamicStitch later inputs win",
       [](const Scope& s) {
         return ops::DynamicStitch(
             s, {ops::Const(s, {0, 2}), ops::Const(s, {{1}, {2}})},
             {ops::Const(s, {{1.0f, 1.0f}, {3.0f, 3.0f}}),
              ops::Const(s, {{{7.0f, 7.0f}}, {{9.0f, 9.0f}}})});
       },
       F({1, 1, 7, 7, 9, 9}, {3, 2})},
      {"DynamicStitch scalar indices",
       [](const Scope& s) {
         return ops::DynamicStitch(s, {ops::Const(s, 1), ops::Const(s, 0)},
                                   {ops::Const(s, 10), ops::Const(s, 20)});
       },
       I({20, 10}, {2})},
      {"ParallelDynamicStitch",
       [](const Scope& s) {
         return ops::ParallelDynamicStitch(
             s, {ops::Const(s, {2, 0}), ops::Const(s, {1})},
             {ops::Const(s, {5, 6}), ops::Const(s, {7})});
       },
       I({6, 7, 5}, {3})},
      {"DynamicPartition rows, in order, one partition empty",
       [](const Scope& s) {
         auto parts = ops::DynamicPartition(
             s, ops::Const(s, {{1, 2}, {3, 4}, {5, 6}, {7, 8}}),
             ops::Const(s, {2, 0, 2, 0}), 3);
         return ops::ConcatV2(
             s, {parts.outputs[2], parts.outputs[0], parts.outputs[1]}, 0);
       },
       I({1, 2, 5, 6, 3, 4, 7, 8}, {4, 2})},
      {"DynamicPartition empty partition's shape",
       [](const Scope& s) {
         auto parts = ops::DynamicPartition(s, ops::Const(s, {{1, 2}}),
                                            ops::Const(s, {0}), 2);
         return ops::Shape(s, parts.outputs[1]);
       },
       I({0, 2}, {2})},
      {"Unique in first-occurrence order",
       [](const Scope& s) {
         auto u = ops::Unique(s, ops::Const(s, {7, 3, 7, 1, 3}));
         return ops::ConcatV2(s, {u.y, u.idx}, 0);
       },
       I({7, 3, 1, 0, 1, 0, 2, 1}, {8})},
      {"ConcatOffset",
       [](const Scope& s) {
         auto o = ops::ConcatOffset(
             s, 1,
             {ops::Const(s, {2, 3, 5}), ops::Const(s, {2, 4, 5}),
              ops::Const(s, {2, 1, 5})});
         return ops::Pack(s, o.offset);
       },
       I({0, 0, 0, 0, 3, 0, 0, 7, 0}, {3, 3})},
  });
}

// Scatter{Add,Sub,Update} and SparseApply{Adagrad,Momentum}, ref and
// resource: only the named rows change, a repeated row twice, in order.
TEST(KernelsTest, RowUpdatesChangeTheNamedRowsInOrder) {
  struct Case {
    std::string name;
    std::vector<float> var, slot;  // 3 rows of 2.
    // Builds the update: constants under `s`, the update itself under `n`.
    std::function<void(const Scope&, const Scope&, Output, Output, bool)> apply;
    std::vector<float> want;
  };
  const std::vector<float> start = {1, 2, 3, 4, 5, 6};
  const double a0 = 0.5 + 4, a2 = 0.5 + 1;
  const std::vector<Case> cases = {
      {"ScatterAdd",
       start,
       {},
       [](const Scope& s, const Scope& n, Output v, Output, bool r) {
         auto idx = ops::Const(s, {2, 0, 2});
         auto up =
             ops::Const(s, {{1.0f, 1.0f}, {10.0f, 10.0f}, {100.0f, 100.0f}});
         if (r) {
           ops::ResourceScatterAdd(n, v, idx, up);
         } else {
           ops::ScatterAdd(n, v, idx, up);
         }
       },
       {11, 12, 3, 4, 106, 107}},
      {"ScatterSub",
       start,
       {},
       [](const Scope& s, const Scope& n, Output v, Output, bool r) {
         auto idx = ops::Const(s, int64_t{1});
         auto up = ops::Const(s, {1.0f, 1.0f});
         if (r) {
           ops::ResourceScatterSub(n, v, idx, up);
         } else {
           ops::ScatterSub(n, v, idx, up);
         }
       },
       {1, 2, 2, 3, 5, 6}},
      {"ScatterUpdate, the last of a repeated row wins",
       start,
       {},
       [](const Scope& s, const Scope& n, Output v, Output, bool r) {
         auto idx = ops::Const(s, {0, 0});
         auto up = ops::Const(s, {{7.0f, 7.0f}, {8.0f, 9.0f}});
         if (r) {
           ops::ResourceScatterUpdate(n, v, idx, up);
         } else {
           ops::ScatterUpdate(n, v, idx, up);
         }
       },
       {8, 9, 3, 4, 5, 6}},
      {"SparseApplyAdagrad",
       std::vector<float>(6, 1),
       std::vector<float>(6, 0.5f),
       [](const Scope& s, const Scope& n, Output v, Output a, bool r) {
         auto g = ops::Const(s, {{2.0f, 2.0f}, {1.0f, 1.0f}});
         auto idx = ops::Const(s, {0, 2});
         if (r) {
           ops::ResourceSparseApplyAdagrad(n, v, a, 0.5f, g, idx);
         } else {
           ops::SparseApplyAdagrad(n, v, a, 0.5f, g, idx);
         }
       },
       {static_cast<float>(1 - 0.5 * 2 / std::sqrt(a0)),
        static_cast<float>(1 - 0.5 * 2 / std::sqrt(a0)), 1, 1,
        static_cast<float>(1 - 0.5 / std::sqrt(a2)),
        static_cast<float>(1 - 0.5 / std::sqrt(a2))}},
      {"SparseApplyMomentum",
       std::vector<float>(6, 1),
       std::vector<float>(6, 1),
       [](const Scope& s, const Scope& n, Output v, Output a, bool r) {
         auto g = ops::Const(s, {{2.0f, 4.0f}});
         auto idx = ops::Const(s, {1});
         if (r) {
           ops::ResourceSparseApplyMomentum(n, v, a, 0.1f, g, idx, 0.5f);
         } else {
           ops::SparseApplyMomentum(n, v, a, 0.1f, g, idx, 0.5f);
         }
       },
       // accum = 0.5 + g: 2.5, 4.5; var -= 0.1 * accum.
       {1, 1, 0.75f, 0.55f, 1, 1}},
  };
  for (const Case& c : cases) {
    for (const bool resource : {false, true}) {
      SCOPED_TRACE(c.name + (resource ? " (resource)" : " (ref)"));
      Scope root = Scope::NewRootScope();
      std::vector<Output> vars;
      std::vector<Operation> inits;
      for (int i = 0; i < (c.slot.empty() ? 1 : 2); ++i) {
        Tensor init = F(i == 0 ? c.var : c.slot, {3, 2});
        const std::string name = i == 0 ? "var" : "slot";
        if (resource) {
          Output h = ops::VarHandleOp(root.WithOpName(name), DT_FLOAT,
                                      PartialTensorShape({3, 2}));
          inits.push_back(
              ops::AssignVariableOp(root, h, ops::Const(root, init)));
          if (i == 0) ops::ReadVariableOp(root.WithOpName("read"), h, DT_FLOAT);
          vars.push_back(h);
        } else {
          Output v = ops::VariableV2(root.WithOpName(name),
                                     PartialTensorShape({3, 2}), DT_FLOAT);
          inits.push_back(
              ops::Assign(root, v, ops::Const(root, init)).operation);
          if (i == 0) ops::Identity(root.WithOpName("read"), v);
          vars.push_back(v);
        }
      }
      ops::NoOp(root.WithOpName("init").WithControlDependencies(inits));
      c.apply(root, root.WithOpName("apply"), vars[0],
              vars.size() > 1 ? vars[1] : Output(), resource);
      ::tensorflow::GraphDef def;
      ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
      auto session = Session::Create(def);
      ASSERT_TRUE(session.ok()) << session.status();
      ASSERT_TRUE((*session)->Run({}, {}, {"init"}).ok());
      auto ran = (*session)->Run({}, {}, {"apply"});
      ASSERT_TRUE(ran.ok()) << ran.status();
      auto got = (*session)->Run({}, {"read"}, {});
      ASSERT_TRUE(got.ok()) << got.status();
      ExpectClose((*got)[0], F(c.want, {3, 2}), c.name);
    }
  }
}

TEST(KernelsTest, RowUpdatesRefuseRowsOutsideTheVariable) {
  Scope root = Scope::NewRootScope();
  auto v =
      ops::VariableV2(root.WithOpName("v"), PartialTensorShape({3}), DT_FLOAT);
  ops::Assign(root.WithOpName("init"), v, ops::Const(root, {1.0f, 2.0f, 3.0f}));
  // The good row comes first: nothing may change before the check.
  ops::ScatterAdd(root.WithOpName("bad"), v, ops::Const(root, {0, 3}),
                  ops::Const(root, {5.0f, 5.0f}));
  ops::Identity(root.WithOpName("read"), v);
  ops::DynamicPartition(root.WithOpName("parts"), ops::Const(root, {1, 2}),
                        ops::Const(root, {0, 2}), 2);
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({}, {}, {"init"}).ok());
  auto bad = (*session)->Run({}, {}, {"bad"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("indices[1] = 3 is not in [0, 3)"),
            std::string::npos)
      << bad.status();
  auto read = (*session)->Run({}, {"read"}, {});
  ASSERT_TRUE(read.ok());
  ExpectClose((*read)[0], F({1, 2, 3}, {3}), "unchanged");
  auto parts = (*session)->Run({}, {"parts:0"}, {});
  ASSERT_FALSE(parts.ok());
  EXPECT_NE(parts.status().message().find("partitions[1] = 2 is not in [0, 2)"),
            std::string::npos)
      << parts.status();
}

// Element-wise kernels at their edges: broadcasting both ways, scalars,
// empty tensors, and integer overflow, which wraps in TensorFlow.
TEST(KernelsTest, ElementwiseEdgeCases) {
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  RunCases({
      {"AddV2 [2,1] + [3] broadcasts both",
       [](const Scope& s) {
         return ops::AddV2(s, ops::Const(s, {{10}, {20}}),
                           ops::Const(s, {1, 2, 3}));
       },
       I({11, 12, 13, 21, 22, 23}, {2, 3})},
      {"Mul scalar * matrix",
       [](const Scope& s) {
         return ops::Mul(s, 2.0f, ops::Const(s, {{1.0f, 2.0f}, {3.0f, 4.0f}}));
       },
       F({2, 4, 6, 8}, {2, 2})},
      {"Sub of empty with broadcast",
       [](const Scope& s) {
         return ops::Sub(s, ops::Fill(s, {0, 3}, 1.0f),
                         ops::Const(s, {1.0f, 2.0f, 3.0f}));
       },
       F({}, {0, 3})},
      {"Sqrt of empty",
       [](const Scope& s) { return ops::Sqrt(s, ops::Fill(s, {0}, 1.0f)); },
       F({}, {0})},
      {"int32 Add wraps", [](const Scope& s) { return ops::AddV2(s, kMax, 1); },
       I({kMin}, {})},
      {"int32 Mul wraps", [](const Scope& s) { return ops::Mul(s, kMax, 2); },
       I({-2}, {})},
      {"int32 Neg of min wraps",
       [](const Scope& s) { return ops::Neg(s, ops::Const(s, kMin)); },
       I({kMin}, {})},
      {"FloorDiv and FloorMod round toward -inf",
       [](const Scope& s) {
         return ops::AddV2(
             s, ops::Mul(s, ops::FloorDiv(s, ops::Const(s, {-7, 7}), 2), 100),
             ops::FloorMod(s, ops::Const(s, {-7, 7}), 2));
       },
       I({-399, 301}, {2})},
      {"Equal on bool",
       [](const Scope& s) {
         return ops::Equal(s, ops::Const(s, {true, false}), true);
       },
       Tensor::FromVector<bool>({true, false}, TensorShape({2}))},
      {"Maximum int64 broadcast",
       [](const Scope& s) {
         return ops::Maximum(s, ops::Const(s, {int64_t{-5}, int64_t{5}}),
                             int64_t{0});
       },
       Tensor::FromVector<int64_t>({0, 5}, TensorShape({2}))},
  });
}

TEST(KernelsTest, ResourceGatherAndWrappingVariableUpdates) {
  Scope root = Scope::NewRootScope();
  auto v = ops::VarHandleOp(root.WithOpName("v"), DT_FLOAT,
                            PartialTensorShape({3, 2}));
  ops::AssignVariableOp(
      root.WithOpName("init_v"), v,
      ops::Const(root, {{1.0f, 2.0f}, {3.0f, 4.0f}, {5.0f, 6.0f}}));
  ops::ResourceGather(root.WithOpName("rows"), v, ops::Const(root, {2, 0}),
                      DT_FLOAT);
  auto c = ops::VarHandleOp(root.WithOpName("counter"), DT_INT32,
                            PartialTensorShape::Scalar());
  ops::AssignVariableOp(root.WithOpName("init_c"), c,
                        ops::Const(root, std::numeric_limits<int32_t>::max()));
  auto bump = ops::AssignAddVariableOp(root.WithOpName("bump"), c, 1);
  ops::ReadVariableOp(
      root.WithOpName("read_c").WithControlDependencies({bump.operation}), c,
      DT_INT32);
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();

  auto uninit = (*session)->Run({}, {"rows"}, {});
  ASSERT_FALSE(uninit.ok());
  EXPECT_EQ(uninit.status().code(), absl::StatusCode::kFailedPrecondition);

  ASSERT_TRUE((*session)->Run({}, {}, {"init_v", "init_c"}).ok());
  auto rows = (*session)->Run({}, {"rows"}, {});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ExpectClose((*rows)[0], F({5, 6, 1, 2}, {2, 2}), "ResourceGather");

  auto wrapped = (*session)->Run({}, {"read_c"}, {});
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_EQ((*wrapped)[0].scalar<int32_t>(),
            std::numeric_limits<int32_t>::min());
}

// Optimizer kernels, ref and resource forms: two steps from the same start,
// checked against the update rules computed here in double precision.
struct OptimizerCase {
  std::string name;
  int slots;  // The variable and its accumulators.
  // Adds the update of `slots` by `grad` (scalars are constants in it).
  std::function<void(const Scope&, const std::vector<Output>&, Output, bool)>
      apply;
  // One step of the rule, on vars[slot][element].
  std::function<void(std::vector<std::vector<double>>&,
                     const std::vector<double>&)>
      step;
};

void CheckOptimizer(const OptimizerCase& c, bool resource) {
  SCOPED_TRACE(c.name + (resource ? " (resource)" : " (ref)"));
  const std::vector<double> grad = {0.5, -1.0, 2.0};
  std::vector<std::vector<double>> want = {{1, -2, 3}};
  for (int i = 1; i < c.slots; ++i) want.push_back({0.1, 0.2, 0.3});
  Scope root = Scope::NewRootScope();
  std::vector<Output> slots;
  std::vector<Operation> inits;
  for (int i = 0; i < c.slots; ++i) {
    const std::string name = absl::StrCat("slot", i);
    Tensor init = Tensor::FromVector<float>(
        std::vector<float>(want[i].begin(), want[i].end()), TensorShape({3}));
    if (resource) {
      Output h = ops::VarHandleOp(root.WithOpName(name), DT_FLOAT,
                                  PartialTensorShape({3}));
      inits.push_back(ops::AssignVariableOp(root, h, ops::Const(root, init)));
      ops::ReadVariableOp(root.WithOpName(absl::StrCat("read", i)), h,
                          DT_FLOAT);
      slots.push_back(h);
    } else {
      Output v = ops::VariableV2(root.WithOpName(name), PartialTensorShape({3}),
                                 DT_FLOAT);
      inits.push_back(ops::Assign(root, v, ops::Const(root, init)).operation);
      ops::Identity(root.WithOpName(absl::StrCat("read", i)), v);
      slots.push_back(v);
    }
  }
  ops::NoOp(root.WithOpName("init").WithControlDependencies(inits));
  c.apply(root.WithOpName("apply"), slots,
          ops::Const(root, {0.5f, -1.0f, 2.0f}), resource);
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({}, {}, {"init"}).ok());
  for (int step = 0; step < 2; ++step) {
    auto s = (*session)->Run({}, {}, {"apply"});
    ASSERT_TRUE(s.ok()) << s.status();
    c.step(want, grad);
  }
  for (int i = 0; i < c.slots; ++i) {
    auto got = (*session)->Run({}, {absl::StrCat("read", i)}, {});
    ASSERT_TRUE(got.ok()) << got.status();
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR((*got)[0].flat<float>()[j], want[i][j],
                  1e-5 * (1 + std::abs(want[i][j])))
          << "slot " << i << " element " << j;
    }
  }
}

TEST(KernelsTest, OptimizersFollowTensorFlowsRules) {
  const std::vector<OptimizerCase> cases = {
      {"Momentum (nesterov)", 2,
       [](const Scope& s, const std::vector<Output>& v, Output g, bool r) {
         auto nesterov = ops::ApplyMomentum::UseNesterov(true);
         if (r) {
           ops::ResourceApplyMomentum(
               s, v[0], v[1], 0.1f, g, 0.9f,
               ops::ResourceApplyMomentum::UseNesterov(true));
         } else {
           ops::ApplyMomentum(s, v[0], v[1], 0.1f, g, 0.9f, nesterov);
         }
       },
       [](auto& v, const auto& g) {
         for (int j = 0; j < 3; ++j) {
           v[1][j] = v[1][j] * 0.9 + g[j];
           v[0][j] -= g[j] * 0.1 + v[1][j] * 0.9 * 0.1;
         }
       }},
      {"Adam", 3,
       [](const Scope& s, const std::vector<Output>& v, Output g, bool r) {
         if (r) {
           ops::ResourceApplyAdam(s, v[0], v[1], v[2], 0.9f, 0.999f, 0.01f,
                                  0.9f, 0.999f, 1e-7f, g);
         } else {
           ops::ApplyAdam(s, v[0], v[1], v[2], 0.9f, 0.999f, 0.01f, 0.9f,
                          0.999f, 1e-7f, g);
         }
       },
       [](auto& v, const auto& g) {
         const double alpha = 0.01 * std::sqrt(1 - 0.999) / (1 - 0.9);
         for (int j = 0; j < 3; ++j) {
           v[1][j] += (g[j] - v[1][j]) * (1 - 0.9);
           v[2][j] += (g[j] * g[j] - v[2][j]) * (1 - 0.999);
           v[0][j] -= alpha * v[1][j] / (std::sqrt(v[2][j]) + 1e-7);
         }
       }},
      {"Adagrad", 2,
       [](const Scope& s, const std::vector<Output>& v, Output g, bool r) {
         if (r) {
           ops::ResourceApplyAdagrad(s, v[0], v[1], 0.1f, g);
         } else {
           ops::ApplyAdagrad(s, v[0], v[1], 0.1f, g);
         }
       },
       [](auto& v, const auto& g) {
         for (int j = 0; j < 3; ++j) {
           v[1][j] += g[j] * g[j];
           v[0][j] -= 0.1 * g[j] / std::sqrt(v[1][j]);
         }
       }},
      {"RMSProp", 3,
       [](const Scope& s, const std::vector<Output>& v, Output g, bool r) {
         if (r) {
           ops::ResourceApplyRMSProp(s, v[0], v[1], v[2], 0.01f, 0.9f, 0.5f,
                                     1e-7f, g);
         } else {
           ops::ApplyRMSProp(s, v[0], v[1], v[2], 0.01f, 0.9f, 0.5f, 1e-7f, g);
         }
       },
       [](auto& v, const auto& g) {
         for (int j = 0; j < 3; ++j) {
           v[1][j] += (g[j] * g[j] - v[1][j]) * (1 - 0.9);
           v[2][j] = v[2][j] * 0.5 + 0.01 * g[j] / std::sqrt(v[1][j] + 1e-7);
           v[0][j] -= v[2][j];
         }
       }},
      {"CenteredRMSProp", 4,
       [](const Scope& s, const std::vector<Output>& v, Output g, bool r) {
         if (r) {
           ops::ResourceApplyCenteredRMSProp(s, v[0], v[1], v[2], v[3], 0.01f,
                                             0.9f, 0.5f, 1e-7f, g);
         } else {
           ops::ApplyCenteredRMSProp(s, v[0], v[1], v[2], v[3], 0.01f, 0.9f,
                                     0.5f, 1e-7f, g);
         }
       },
       [](auto& v, const auto& g) {
         for (int j = 0; j < 3; ++j) {
           auto &mg = v[1][j], &ms = v[2][j], &mom = v[3][j];
           ms = 0.9 * ms + 0.1 * g[j] * g[j];
           mg = 0.9 * mg + 0.1 * g[j];
           mom = 0.5 * mom + 0.01 * g[j] / std::sqrt(ms - mg * mg + 1e-7);
           v[0][j] -= mom;
         }
       }},
      {"Adadelta", 3,
       [](const Scope& s, const std::vector<Output>& v, Output g, bool r) {
         if (r) {
           ops::ResourceApplyAdadelta(s, v[0], v[1], v[2], 0.5f, 0.9f, 1e-6f,
                                      g);
         } else {
           ops::ApplyAdadelta(s, v[0], v[1], v[2], 0.5f, 0.9f, 1e-6f, g);
         }
       },
       [](auto& v, const auto& g) {
         for (int j = 0; j < 3; ++j) {
           v[1][j] = 0.9 * v[1][j] + 0.1 * g[j] * g[j];
           const double step =
               g[j] * std::sqrt((v[2][j] + 1e-6) / (v[1][j] + 1e-6));
           v[2][j] = 0.9 * v[2][j] + 0.1 * step * step;
           v[0][j] -= 0.5 * step;
         }
       }},
      {"ProximalAdagrad (l1 soft-threshold)", 2,
       [](const Scope& s, const std::vector<Output>& v, Output g, bool r) {
         if (r) {
           ops::ResourceApplyProximalAdagrad(s, v[0], v[1], 0.5f, 0.8f, 0.1f,
                                             g);
         } else {
           ops::ApplyProximalAdagrad(s, v[0], v[1], 0.5f, 0.8f, 0.1f, g);
         }
       },
       [](auto& v, const auto& g) {
         for (int j = 0; j < 3; ++j) {
           v[1][j] += g[j] * g[j];
           const double rate = 0.5 / std::sqrt(v[1][j]);
           const double moved = v[0][j] - rate * g[j];
           const double kept = std::max(std::abs(moved) - rate * 0.8, 0.0);
           v[0][j] = std::copysign(kept, moved) / (1 + rate * 0.1);
         }
       }},
      {"FtrlV2 (shrinkage, lr_power -0.5)", 3,
       [](const Scope& s, const std::vector<Output>& v, Output g, bool r) {
         if (r) {
           ops::ResourceApplyFtrlV2(s, v[0], v[1], v[2], g, 0.5f, 0.05f, 0.1f,
                                    0.2f, -0.5f);
         } else {
           ops::ApplyFtrlV2(s, v[0], v[1], v[2], g, 0.5f, 0.05f, 0.1f, 0.2f,
                            -0.5f);
         }
       },
       [](auto& v, const auto& g) {
         for (int j = 0; j < 3; ++j) {
           auto &w = v[0][j], &n = v[1][j], &z = v[2][j];
           const double n_new = n + g[j] * g[j];
           z +=
               g[j] + 2 * 0.2 * w - (std::sqrt(n_new) - std::sqrt(n)) / 0.5 * w;
           w = std::abs(z) <= 0.05 ? 0.0
                                   : -(z - std::copysign(0.05, z)) /
                                         (std::sqrt(n_new) / 0.5 + 2 * 0.1);
           n = n_new;
         }
       }},
  };
  for (const OptimizerCase& c : cases) {
    CheckOptimizer(c, /*resource=*/false);
    CheckOptimizer(c, /*resource=*/true);
  }
}

// The SparseApply forms against the dense ones: the rows a step names
// change as a dense step would change them, the others not at all.
struct SparseCase {
  std::string name;  // After "Apply" / "SparseApply".
  int slots;
  std::vector<float> before_grad, after_grad;  // Scalar inputs.
};

TEST(KernelsTest, SparseOptimizersUpdateTheirRowsAsTheDenseOnesDo) {
  const std::vector<SparseCase> cases = {
      {"RMSProp", 3, {0.01f, 0.9f, 0.5f, 1e-7f}, {}},
      {"CenteredRMSProp", 4, {0.01f, 0.9f, 0.5f, 1e-7f}, {}},
      {"Adadelta", 3, {0.5f, 0.9f, 1e-6f}, {}},
      {"ProximalAdagrad", 2, {0.5f, 0.8f, 0.1f}, {}},
      {"ProximalGradientDescent", 1, {0.5f, 0.8f, 0.1f}, {}},
      {"Ftrl", 3, {}, {0.5f, 0.05f, 0.1f, -0.5f}},
      {"FtrlV2", 3, {}, {0.5f, 0.05f, 0.1f, 0.2f, -0.5f}},
  };
  const Tensor grad = F({0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f}, {3, 2});
  for (const SparseCase& c : cases) {
    for (bool resource : {false, true}) {
      SCOPED_TRACE(c.name + (resource ? " (resource)" : " (ref)"));
      Scope root = Scope::NewRootScope();
      std::vector<Operation> inits;
      // Two copies of the variable and its slots: "dense" and "sparse".
      std::map<std::string, std::vector<Output>> slots;
      for (const std::string copy : {"dense", "sparse"}) {
        for (int i = 0; i < c.slots; ++i) {
          const std::string name = absl::StrCat(copy, i);
          auto init = ops::Const(root, F({1, -2, 3, 0.5f, 0.25f, -1}, {3, 2}));
          auto value = i == 0 ? Output(init) : ops::Fill(root, {3, 2}, 0.1f);
          if (resource) {
            Output h = ops::VarHandleOp(root.WithOpName(name), DT_FLOAT,
                                        PartialTensorShape({3, 2}));
            inits.push_back(ops::AssignVariableOp(root, h, value));
            ops::ReadVariableOp(root.WithOpName(name + "_read"), h, DT_FLOAT);
            slots[copy].push_back(h);
          } else {
            Output v = ops::VariableV2(root.WithOpName(name),
                                       PartialTensorShape({3, 2}), DT_FLOAT);
            inits.push_back(ops::Assign(root, v, value).operation);
            ops::Identity(root.WithOpName(name + "_read"), v);
            slots[copy].push_back(v);
          }
        }
      }
      ops::NoOp(root.WithOpName("init").WithControlDependencies(inits));
      auto update = [&](const std::string& name, const std::string& op,
                        const Output& g, const Output* indices) {
        NodeBuilder b(root.WithOpName(name), op);
        for (const Output& v : slots[indices ? "sparse" : "dense"]) {
          b.Input(v);
        }
        for (float x : c.before_grad) b.Input(ops::Const(root, x));
        b.Input(g);
        if (indices) b.Input(*indices);
        for (float x : c.after_grad) b.Input(ops::Const(root, x));
        b.Finalize();
      };
      const std::string prefix = resource ? "Resource" : "";
      update("dense", prefix + "Apply" + c.name, ops::Const(root, grad),
             nullptr);
      const Output last = ops::Const(root, {2});
      update("last_row", prefix + "SparseApply" + c.name,
             ops::Const(root, F({-0.75f, 1.5f}, {1, 2})), &last);
      const Output others = ops::Const(root, {int64_t{1}, int64_t{0}});
      update("other_rows", prefix + "SparseApply" + c.name,
             ops::Const(root, F({2.0f, 0.25f, 0.5f, -1.0f}, {2, 2})), &others);
      ::tensorflow::GraphDef def;
      ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
      auto session = Session::Create(def);
      ASSERT_TRUE(session.ok()) << session.status();
      ASSERT_TRUE((*session)->Run({}, {}, {"init"}).ok());
      auto read = [&](const std::string& copy, int i) {
        auto got = (*session)->Run({}, {absl::StrCat(copy, i, "_read")}, {});
        EXPECT_TRUE(got.ok()) << got.status();
        return got.ok() ? (*got)[0] : Tensor();
      };
      ASSERT_TRUE((*session)->Run({}, {}, {"dense"}).ok());
      auto s = (*session)->Run({}, {}, {"last_row"});
      ASSERT_TRUE(s.ok()) << s.status();
      for (int i = 0; i < c.slots; ++i) {
        const Tensor dense = read("dense", i), sparse = read("sparse", i);
        for (int j = 0; j < 6; ++j) {
          const float want =
              j < 4 ? (i == 0 ? std::vector<float>{1, -2, 3, 0.5f}[j] : 0.1f)
                    : dense.flat<float>()[j];
          EXPECT_NEAR(sparse.flat<float>()[j], want, 1e-6)
              << "slot " << i << " element " << j << " after row 2";
        }
      }
      s = (*session)->Run({}, {}, {"other_rows"});
      ASSERT_TRUE(s.ok()) << s.status();
      for (int i = 0; i < c.slots; ++i) {
        ExpectClose(read("sparse", i), read("dense", i),
                    absl::StrCat("slot ", i, " after every row"));
      }
    }
  }
}

TEST(KernelsTest, SparseOptimizersRefuseRowsOutsideTheVariable) {
  Scope root = Scope::NewRootScope();
  Output v = ops::VariableV2(root.WithOpName("v"), PartialTensorShape({2, 2}),
                             DT_FLOAT);
  ops::Assign(root.WithOpName("init"), v, ops::Fill(root, {2, 2}, 1.0f));
  ops::SparseApplyProximalGradientDescent(root.WithOpName("apply"), v, 0.1f,
                                          0.0f, 0.0f,
                                          ops::Fill(root, {1, 2}, 1.0f), {5});
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({}, {}, {"init"}).ok());
  auto s = (*session)->Run({}, {}, {"apply"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("indices[0] = 5 is not in [0, 2)"),
            std::string::npos)
      << s.status();
}

TEST(KernelsTest, OptimizerErrorsAreClear) {
  Scope root = Scope::NewRootScope();
  auto v =
      ops::VariableV2(root.WithOpName("v"), PartialTensorShape({2}), DT_FLOAT);
  auto acc = ops::VariableV2(root.WithOpName("acc"), PartialTensorShape({2}),
                             DT_FLOAT);
  auto init_v = ops::Assign(root, v, ops::Const(root, {1.0f, 2.0f}));
  auto init_acc = ops::Assign(root, acc, ops::Const(root, {1.0f, 1.0f}));
  ops::NoOp(root.WithOpName("init").WithControlDependencies(
      {init_v.operation, init_acc.operation}));
  ops::ApplyAdagrad(root.WithOpName("wrong_shape"), v, acc, 0.1f,
                    ops::Const(root, {1.0f, 2.0f, 3.0f}));
  auto h =
      ops::VarHandleOp(root.WithOpName("h"), DT_FLOAT, PartialTensorShape({2}));
  ops::ResourceApplyMomentum(root.WithOpName("uninitialized"), h, h, 0.1f,
                             ops::Const(root, {1.0f, 2.0f}), 0.9f);
  ops::ApplyMomentum(root.WithOpName("slot_is_var"), v, v, 0.1f,
                     ops::Const(root, {1.0f, 2.0f}), 0.9f);
  // var -= 0.5 * var: the gradient is the variable itself.
  ops::ApplyGradientDescent(root.WithOpName("self_gradient"), acc, 0.5f, acc);
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({}, {}, {"init"}).ok());
  auto wrong = (*session)->Run({}, {}, {"wrong_shape"});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("does not match the gradient"),
            std::string::npos)
      << wrong.status();
  auto uninit = (*session)->Run({}, {}, {"uninitialized"});
  EXPECT_EQ(uninit.status().code(), absl::StatusCode::kFailedPrecondition)
      << uninit.status();
  auto same = (*session)->Run({}, {}, {"slot_is_var"});
  EXPECT_NE(
      same.status().message().find("inputs 0 and 1 are the same variable"),
      std::string::npos)
      << same.status();
  auto halved = (*session)->Run({}, {"self_gradient"}, {});
  ASSERT_TRUE(halved.ok()) << halved.status();
  EXPECT_TRUE((*halved)[0].Equals(
      Tensor::FromVector<float>({0.5f, 0.5f}, TensorShape({2}))))
      << (*halved)[0].DebugString();
}

// Expected values from TensorFlow 2.21 for the same inputs.
TEST(KernelsTest, LinearAlgebra) {
  auto x34 = [](const Scope& s) {
    return ops::Reshape(s, ops::Range(s, 1.0f, 13.0f, 1.0f), {3, 4});
  };
  auto a23 = [](const Scope& s) {
    return ops::Reshape(s, ops::Range(s, 0.0f, 6.0f, 1.0f), {2, 3});
  };
  auto b134 = [](const Scope& s) {
    return ops::Reshape(s, ops::Range(s, 0.0f, 12.0f, 1.0f), {1, 3, 4});
  };
  auto m33 = [](const Scope& s) {
    return ops::Reshape(s, ops::Range(s, 0.0f, 9.0f, 1.0f), {3, 3});
  };
  RunCases({
      {"Einsum broadcasting its ellipsis",
       [&](const Scope& s) {
         auto b = b134(s);
         return ops::Einsum(s,
                            {ops::ExpandDims(s, a23(s), 0),
                             ops::ConcatV2(s, {b, ops::Add(s, b, 1.0f)}, 0)},
                            "...ij,...jk->...ik");
       },
       F({20, 23, 26, 29, 56, 68, 80, 92, 23, 26, 29, 32, 68, 80, 92, 104},
         {2, 2, 4})},
      {"Einsum implicit output",
       [&](const Scope& s) {
         return ops::Einsum(s, {a23(s), ops::Squeeze(s, b134(s))}, "ij,jk");
       },
       F({20, 23, 26, 29, 56, 68, 80, 92}, {2, 4})},
      {"Einsum trace",
       [&](const Scope& s) { return ops::Einsum(s, {m33(s)}, "ii->"); },
       F({12}, {})},
      {"Einsum diagonal",
       [&](const Scope& s) { return ops::Einsum(s, {m33(s)}, "ii->i"); },
       F({0, 4, 8}, {3})},
      {"Einsum sum to the last axis",
       [&](const Scope& s) { return ops::Einsum(s, {b134(s)}, "ijk->k"); },
       F({12, 15, 18, 21}, {4})},
      {"Einsum outer product",
       [](const Scope& s) {
         return ops::Einsum(
             s,
             {ops::Const(s, {1.0f, 2.0f}), ops::Const(s, {3.0f, 4.0f, 5.0f})},
             "i,j->ij");
       },
       F({3, 4, 5, 6, 8, 10}, {2, 3})},
      {"Einsum int32",
       [](const Scope& s) {
         return ops::Einsum(
             s, {ops::Const(s, {{1, 2}, {3, 4}}), ops::Const(s, {5, 6})},
             "ij,j->i");
       },
       I({17, 39}, {2})},
      {"MatrixInverse",
       [](const Scope& s) {
         return ops::MatrixInverse(s,
                                   ops::Const(s, {{2.0f, 1.0f}, {1.0f, 3.0f}}));
       },
       F({0.6f, -0.2f, -0.2f, 0.4f}, {2, 2})},
      {"MatrixInverse adjoint",
       [](const Scope& s) {
         return ops::MatrixInverse(s,
                                   ops::Const(s, {{1.0f, 2.0f}, {0.0f, 1.0f}}),
                                   ops::MatrixInverse::Adjoint(true));
       },
       F({1, 0, -2, 1}, {2, 2})},
      {"MatrixDeterminant of a batch",
       [](const Scope& s) {
         return ops::MatrixDeterminant(
             s, ops::Const(s, {{{2.0f, 1.0f}, {1.0f, 3.0f}},
                               {{0.0f, 1.0f}, {1.0f, 0.0f}}}));
       },
       F({5, -1}, {2})},
      {"MatrixDiagPartV3 RIGHT_LEFT",
       [&](const Scope& s) {
         return ops::MatrixDiagPartV3(s, x34(s), ops::Const(s, {-1, 2}), 9.0f);
       },
       F({9, 3, 8, 2, 7, 12, 1, 6, 11, 5, 10, 9}, {4, 3})},
      {"MatrixDiagPartV3 LEFT_RIGHT",
       [&](const Scope& s) {
         return ops::MatrixDiagPartV3(
             s, x34(s), ops::Const(s, {-1, 2}), 9.0f,
             ops::MatrixDiagPartV3::Align("LEFT_RIGHT"));
       },
       F({3, 8, 9, 2, 7, 12, 1, 6, 11, 9, 5, 10}, {4, 3})},
      {"MatrixDiagV3 of three diagonals",
       [&](const Scope& s) {
         return ops::MatrixDiagV3(s, ops::Add(s, m33(s), 1.0f),
                                  ops::Const(s, {-1, 1}), -1, -1, 0.0f);
       },
       F({4, 2, 0, 7, 5, 3, 0, 8, 6}, {3, 3})},
      {"MatrixDiagV3 of a superdiagonal in 3 rows",
       [](const Scope& s) {
         return ops::MatrixDiagV3(s, ops::Const(s, {1.0f, 2.0f}), 1, 3, -1,
                                  -1.0f);
       },
       F({-1, 1, -1, -1, -1, 2, -1, -1, -1}, {3, 3})},
      {"MatrixSetDiagV3 of two diagonals",
       [](const Scope& s) {
         return ops::MatrixSetDiagV3(
             s, ops::Fill(s, {3, 4}, 0.0f),
             ops::Const(s, {{1.0f, 2.0f, 3.0f}, {4.0f, 5.0f, 0.0f}}),
             ops::Const(s, {0, 1}));
       },
       F({4, 1, 0, 0, 0, 5, 2, 0, 0, 0, 0, 3}, {3, 4})},
  });
}

// TensorFlow's numbers for the same seeds (kernels/cpu/philox_test has the
// generator's own cases): a stateful op moves on each step, a stateless one
// does not.
TEST(KernelsTest, RandomOpsGiveTensorFlowsNumbers) {
  Scope root = Scope::NewRootScope();
  ops::RandomUniform(root.WithOpName("uniform"), ops::Const(root, {6}),
                     DT_FLOAT, ops::RandomUniform::Seed(42).Seed2(1));
  auto kc = ops::StatelessRandomGetKeyCounter(
      root, ops::Const(root, {int64_t{1}, int64_t{2}}));
  ops::StatelessRandomUniformV2(root.WithOpName("stateless"),
                                ops::Const(root, {3}), kc.key, kc.counter, 1);
  ops::StatelessRandomUniformV2(root.WithOpName("threefry"),
                                ops::Const(root, {3}), kc.key, kc.counter, 2);
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  const Tensor stateless = F({0.8440604f, 0.19204533f, 0.9962232f}, {3});
  const std::vector<Tensor> uniform = {
      F({0.15012848f, 0.63992536f, 0.81787777f, 0.34572172f, 0.99661934f,
         0.64152765f},
        {6}),
      F({0.011772156f, 0.025296569f, 0.060124755f, 0.5448892f, 0.3730942f,
         0.6073855f},
        {6})};
  for (int step = 0; step < 2; ++step) {
    auto got = (*session)->Run({}, {"uniform", "stateless"}, {});
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectClose((*got)[0], uniform[step], absl::StrCat("step ", step));
    ExpectClose((*got)[1], stateless, absl::StrCat("stateless, step ", step));
  }
  auto threefry = (*session)->Run({}, {"threefry"}, {});
  ASSERT_FALSE(threefry.ok());
  EXPECT_EQ(threefry.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(threefry.status().message().find("ThreeFry"), std::string::npos)
      << threefry.status();
}

TEST(KernelsTest, LinearAlgebraErrorsAreClear) {
  auto run = [](const std::function<Output(const Scope&)>& build) {
    Scope root = Scope::NewRootScope();
    ops::Identity(root.WithOpName("result"), build(root));
    ::tensorflow::GraphDef def;
    EXPECT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
    auto session = Session::Create(def);
    EXPECT_TRUE(session.ok()) << session.status();
    auto got = (*session)->Run({}, {"result"}, {});
    EXPECT_FALSE(got.ok());
    return got.ok() ? std::string() : got.status().ToString();
  };
  EXPECT_NE(run([](const Scope& s) {
              return ops::MatrixInverse(
                  s, ops::Const(s, {{1.0f, 2.0f}, {2.0f, 4.0f}}));
            }).find("not invertible"),
            std::string::npos);
  EXPECT_NE(
      run([](const Scope& s) {
        return ops::Einsum(
            s, {ops::Const(s, {1.0f, 2.0f}), ops::Const(s, {1.0f, 2.0f, 3.0f})},
            "i,i->");
      }).find("subscript 'i' has size 2"),
      std::string::npos);
  EXPECT_NE(run([](const Scope& s) {
              return ops::MatrixDiagPartV3(s, ops::Fill(s, {2, 2}, 1.0f),
                                           ops::Const(s, {1, -1}), 0.0f);
            }).find("lower diagonal"),
            std::string::npos);
  EXPECT_NE(
      run([](const Scope& s) {
        return ops::MatrixDiagPartV3(s, ops::Fill(s, {2, 2}, 1.0f), 5, 0.0f);
      }).find("outside a 2 x 2 matrix"),
      std::string::npos);
}

TEST(KernelsTest, BadInputsAreClearErrors) {
  struct Bad {
    std::string name;
    std::function<Output(const Scope&)> build;
    std::string needle;
  };
  const std::vector<Bad> cases = {
      {"an Assert whose condition is false",
       [](const Scope& s) {
         auto check = ops::Assert(s, ops::Const(s, false),
                                  {ops::Const(s, std::string("x is too big:")),
                                   ops::Const(s, {1.0f, 2.0f, 3.0f, 4.0f})},
                                  ops::Assert::Summarize(2));
         return ops::Identity(s.WithControlDependencies({check.operation}),
                              ops::Const(s, 1.0f));
       },
       "assertion failed: [x is too big:] [float [4] [1 2 ...]]"},
      {"segment id past num_segments",
       [](const Scope& s) {
         return ops::UnsortedSegmentSum(s, ops::Const(s, {1.0f, 2.0f}),
                                        ops::Const(s, {0, 4}), 2);
       },
       "segment id 4 at position 1 is out of range [0, 2)"},
      {"conv gradient of the wrong shape",
       [](const Scope& s) {
         return ops::Conv2DBackpropInput(
             s, ops::Const(s, {1, 3, 3, 1}), ops::Fill(s, {2, 2, 1, 1}, 1.0f),
             ops::Fill(s, {1, 3, 3, 1}, 1.0f), {1, 1, 1, 1}, "VALID");
       },
       "out_backprop has shape [1,3,3,1], the convolution's output has "
       "[1,2,2,1]"},
      {"strided slice gradient of the wrong shape",
       [](const Scope& s) {
         return ops::StridedSliceGrad(s, ops::Const(s, {4}), ops::Const(s, {0}),
                                      ops::Const(s, {2}), ops::Const(s, {1}),
                                      ops::Fill(s, {3}, 1.0f));
       },
       "dy has shape [3], the slice has [2]"},
      {"gather out of range",
       [](const Scope& s) {
         return ops::GatherV2(s, ops::Const(s, {1, 2}), {5}, 0);
       },
       "not in [0, 2)"},
      {"label out of range",
       [](const Scope& s) {
         return ops::SparseSoftmaxCrossEntropyWithLogits(
                    s, ops::Const(s, {{1.0f, 2.0f}}),
                    ops::Const(s, {int64_t{3}}))
             .loss;
       },
       "label value of 3"},
      {"split unevenly",
       [](const Scope& s) {
         return ops::Split(s, 0, ops::Const(s, {1, 2, 3}), 2).output[0];
       },
       "cannot be split"},
      {"range wrong order",
       [](const Scope& s) { return ops::Range(s, 5, 1, 1); }, "wrong order"},
      {"broadcast 3 to 2",
       [](const Scope& s) {
         return ops::BroadcastTo(s, ops::Const(s, {1, 2, 3}), {2, 2});
       },
       "dimension 1 is 3, not 1 or 2"},
      {"batch dims that do not broadcast",
       [](const Scope& s) {
         return ops::BatchMatMulV2(s, ops::Fill(s, {2, 1, 1}, 1.0f),
                                   ops::Fill(s, {3, 1, 1}, 1.0f));
       },
       "do not broadcast"},
      {"gather batch dims differ",
       [](const Scope& s) {
         return ops::GatherV2(s, ops::Const(s, {{1, 2}, {3, 4}}),
                              ops::Const(s, {{0}, {0}, {0}}), 1,
                              ops::GatherV2::BatchDims(1));
       },
       "differ in batch dimension 0"},
      {"batch norm scale of the wrong size",
       [](const Scope& s) {
         return ops::FusedBatchNormV3(s, ops::Fill(s, {1, 2, 2, 2}, 1.0f),
                                      ops::Const(s, {1.0f, 1.0f, 1.0f}),
                                      ops::Const(s, {0.0f, 0.0f}),
                                      ops::Const(s, {0.0f, 0.0f}),
                                      ops::Const(s, {1.0f, 1.0f}))
             .y;
       },
       "scale must have shape [2] (one per channel), got [3]"},
      {"batch norm of a 3-D x",
       [](const Scope& s) {
         return ops::FusedBatchNormV3(
                    s, ops::Fill(s, {2, 2, 2}, 1.0f),
                    ops::Const(s, {1.0f, 1.0f}), ops::Const(s, {0.0f, 0.0f}),
                    ops::Const(s, {0.0f, 0.0f}), ops::Const(s, {1.0f, 1.0f}))
             .y;
       },
       "x must be 4-D for NHWC, got [2,2,2]"},
      {"GatherNd out of range",
       [](const Scope& s) {
         return ops::GatherNd(s, ops::Const(s, {{1, 2}, {3, 4}}),
                              ops::Const(s, {{0, 1}, {2, 0}}));
       },
       "indices[1] = [2, 0] is not an index of shape [2,2]"},
      {"segment ids out of order",
       [](const Scope& s) {
         return ops::SegmentSum(s, ops::Const(s, {1.0f, 2.0f, 3.0f}),
                                ops::Const(s, {0, 2, 1}));
       },
       "segment_ids[2] = 1 after 2"},
      {"top k of too few",
       [](const Scope& s) {
         return ops::TopKV2(s, ops::Const(s, {1.0f, 2.0f}), 3).values;
       },
       "at least k = 3 columns"},
      {"scatter updates of the wrong shape",
       [](const Scope& s) {
         return ops::ScatterNd(s, ops::Const(s, {{1}}),
                               ops::Const(s, {1.0f, 2.0f}), ops::Const(s, {4}));
       },
       "updates has shape [2]"},
      {"sparse index out of bounds",
       [](const Scope& s) {
         return ops::SparseTensorDenseMatMul(
             s, ops::Const(s, {{int64_t{0}, int64_t{5}}}),
             ops::Const(s, {1.0f}), ops::Const(s, {int64_t{2}, int64_t{2}}),
             ops::Const(s, {{1.0f, 2.0f}, {3.0f, 4.0f}}));
       },
       "a_indices[0] = [0, 5] is out of bounds of [2, 2]"},
      {"sparse_to_dense repeated index",
       [](const Scope& s) {
         return ops::SparseToDense(s, ops::Const(s, {1, 1}), ops::Const(s, {3}),
                                   ops::Const(s, {1.0f, 2.0f}), 0.0f);
       },
       "sparse_indices[1] is repeated"},
      {"stitch negative index",
       [](const Scope& s) {
         return ops::DynamicStitch(s, {ops::Const(s, {-1})},
                                   {ops::Const(s, {1.0f})});
       },
       "which is < 0"},
  };
  for (const Bad& c : cases) {
    Scope root = Scope::NewRootScope();
    ops::Identity(root.WithOpName("result"), c.build(root));
    ::tensorflow::GraphDef def;
    // Building does not run shape inference: the graph is accepted and the
    // kernel must refuse the input at run time, clearly.
    ASSERT_TRUE(root.ToGraphDef(&def).ok()) << c.name << ": " << root.status();
    auto session = Session::Create(def);
    ASSERT_TRUE(session.ok());
    auto got = (*session)->Run({}, {"result"}, {});
    ASSERT_FALSE(got.ok()) << c.name;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument)
        << c.name;
    EXPECT_NE(got.status().message().find(c.needle), std::string::npos)
        << c.name << ": " << got.status();
  }
}

}  // namespace
}  // namespace rill
