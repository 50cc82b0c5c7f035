// Shape functions of the declared ops, run through the registry as the
// graph's shape inference runs them.
#include <map>

#include "core/framework/node_def_util.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

using ::tensorflow::DT_FLOAT;
using ::tensorflow::DT_INT32;
using P = PartialTensorShape;

absl::StatusOr<std::vector<P>> Infer(const std::string& op, AttrMap attrs,
                                     std::vector<P> shapes,
                                     std::map<int, Tensor> consts = {}) {
  auto reg = OpRegistry::Global()->LookUp(op);
  if (!reg.ok()) return reg.status();
  AddDefaultAttrs((*reg)->op_def, &attrs);
  if (absl::Status s = ValidateAttrs((*reg)->op_def, attrs); !s.ok()) return s;
  std::vector<DataType> in, out;
  if (absl::Status s = InOutTypes((*reg)->op_def, attrs, &in, &out); !s.ok()) {
    return s;
  }
  std::vector<const Tensor*> tensors(shapes.size(), nullptr);
  for (auto& [i, t] : consts) tensors[i] = &t;
  InferenceContext c(op, &attrs, in, shapes, tensors, {},
                     static_cast<int>(out.size()));
  if (absl::Status s = (*reg)->shape_fn(&c); !s.ok()) return s;
  std::vector<P> result;
  for (int i = 0; i < c.num_outputs(); ++i) result.push_back(c.output(i));
  return result;
}

AttrMap T(DataType t = DT_FLOAT) {
  AttrMap a;
  a["T"] = MakeAttr(t);
  return a;
}

Tensor Ints(std::vector<int32_t> v) { return Tensor::FromVector<int32_t>(v); }

TEST(ShapeFnsTest, BinaryBroadcast) {
  EXPECT_EQ((*Infer("AddV2", T(), {P({3, 1}), P({4})}))[0], P({3, 4}));
  EXPECT_FALSE(Infer("Mul", T(), {P({3}), P({4})}).ok());
  EXPECT_EQ((*Infer("Less", T(), {P({-1, 2}), P({})}))[0], P({-1, 2}));
}

TEST(ShapeFnsTest, MatMul) {
  AttrMap a = T();
  EXPECT_EQ((*Infer("MatMul", a, {P({2, 3}), P({3, 5})}))[0], P({2, 5}));
  a["transpose_b"] = MakeAttr(true);
  EXPECT_EQ((*Infer("MatMul", a, {P({2, 3}), P({5, 3})}))[0], P({2, 5}));
  auto bad = Infer("MatMul", a, {P({2, 3}), P({3, 5})});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("incompatible"), std::string::npos);
  EXPECT_FALSE(Infer("MatMul", T(), {P({2, 3, 1}), P({3, 5})}).ok());
  EXPECT_EQ((*Infer("BatchMatMulV2", T(), {P({7, 1, 2, 3}), P({4, 3, 5})}))[0],
            P({7, 4, 2, 5}));
}

TEST(ShapeFnsTest, ReshapeInfersMinusOne) {
  AttrMap a = T();
  EXPECT_EQ(
      (*Infer("Reshape", a, {P({4, 6}), P({2})}, {{1, Ints({-1, 8})}}))[0],
      P({3, 8}));
  EXPECT_FALSE(
      Infer("Reshape", a, {P({4, 6}), P({2})}, {{1, Ints({5, 5})}}).ok());
  EXPECT_FALSE(
      Infer("Reshape", a, {P({4, 6}), P({2})}, {{1, Ints({-1, -1})}}).ok());
  EXPECT_EQ((*Infer("Reshape", a, {P({4, 6}), P({2})}))[0], P({-1, -1}));
}

TEST(ShapeFnsTest, ConcatPackSplit) {
  AttrMap a = T();
  a["N"] = MakeAttr(2);
  EXPECT_EQ((*Infer("ConcatV2", a, {P({2, 3}), P({2, 4}), P({})},
                    {{2, Tensor::Scalar<int32_t>(-1)}}))[0],
            P({2, 7}));
  EXPECT_FALSE(Infer("ConcatV2", a, {P({2, 3}), P({3, 4}), P({})},
                     {{2, Tensor::Scalar<int32_t>(1)}})
                   .ok());
  EXPECT_EQ((*Infer("Pack", a, {P({2, 3}), P({-1, 3})}))[0], P({2, 2, 3}));
  AttrMap s = T();
  s["num_split"] = MakeAttr(3);
  auto parts =
      Infer("Split", s, {P({}), P({6, 2})}, {{0, Tensor::Scalar<int32_t>(0)}});
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[2], P({2, 2}));
  EXPECT_FALSE(
      Infer("Split", s, {P({}), P({7, 2})}, {{0, Tensor::Scalar<int32_t>(0)}})
          .ok());
}

TEST(ShapeFnsTest, ReductionsAndArgMax) {
  AttrMap a = T();
  EXPECT_EQ((*Infer("Sum", a, {P({2, 3, 4}), P({1})}, {{1, Ints({1})}}))[0],
            P({2, 4}));
  EXPECT_EQ((*Infer("ArgMax", a, {P({2, 3}), P({})},
                    {{1, Tensor::Scalar<int32_t>(-1)}}))[0],
            P({2}));
}

TEST(ShapeFnsTest, ConvAndPool) {
  AttrMap a = T();
  a["strides"] = MakeAttr(std::vector<int>{1, 2, 2, 1});
  a["padding"] = MakeAttr("SAME");
  EXPECT_EQ((*Infer("Conv2D", a, {P({8, 28, 28, 1}), P({5, 5, 1, 4})}))[0],
            P({8, 14, 14, 4}));
  a["padding"] = MakeAttr("VALID");
  EXPECT_EQ((*Infer("Conv2D", a, {P({8, 28, 28, 1}), P({5, 5, 1, 4})}))[0],
            P({8, 12, 12, 4}));
  EXPECT_FALSE(Infer("Conv2D", a, {P({8, 28, 28, 3}), P({5, 5, 2, 4})}).ok());
  AttrMap p = T();
  p["ksize"] = MakeAttr(std::vector<int>{1, 2, 2, 1});
  p["strides"] = MakeAttr(std::vector<int>{1, 2, 2, 1});
  p["padding"] = MakeAttr("VALID");
  EXPECT_EQ((*Infer("MaxPool", p, {P({8, 28, 28, 4})}))[0], P({8, 14, 14, 4}));
  EXPECT_EQ((*Infer("AvgPool", p, {P({8, -1, 7, 4})}))[0], P({8, -1, 3, 4}));
}

TEST(ShapeFnsTest, SoftmaxCrossEntropy) {
  AttrMap a = T();
  auto out =
      Infer("SoftmaxCrossEntropyWithLogits", a, {P({4, 10}), P({4, 10})});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)[0], P({4}));
  EXPECT_EQ((*out)[1], P({4, 10}));
  AttrMap s = T();
  auto sparse =
      Infer("SparseSoftmaxCrossEntropyWithLogits", s, {P({-1, 10}), P({32})});
  ASSERT_TRUE(sparse.ok());
  EXPECT_EQ((*sparse)[0], P({32}));
  EXPECT_FALSE(
      Infer("SparseSoftmaxCrossEntropyWithLogits", s, {P({16, 10}), P({32})})
          .ok());
}

TEST(ShapeFnsTest, IndexingOps) {
  AttrMap g;
  g["Tparams"] = MakeAttr(DT_FLOAT);
  g["Tindices"] = MakeAttr(DT_INT32);
  g["Taxis"] = MakeAttr(DT_INT32);
  EXPECT_EQ((*Infer("GatherV2", g, {P({5, 6, 7}), P({2, 3}), P({})},
                    {{2, Tensor::Scalar<int32_t>(1)}}))[0],
            P({5, 2, 3, 7}));
  AttrMap a = T();
  a["Index"] = MakeAttr(DT_INT32);
  a["shrink_axis_mask"] = MakeAttr(1);
  EXPECT_EQ(
      (*Infer("StridedSlice", a, {P({4, 6}), P({2}), P({2}), P({2})},
              {{1, Ints({1, 0})}, {2, Ints({2, 6})}, {3, Ints({1, 2})}}))[0],
      P({3}));
  AttrMap sl = T();
  sl["Index"] = MakeAttr(DT_INT32);
  EXPECT_EQ((*Infer("Slice", sl, {P({4, 6}), P({2}), P({2})},
                    {{1, Ints({1, 2})}, {2, Ints({-1, 3})}}))[0],
            P({3, 3}));
  EXPECT_FALSE(Infer("Slice", sl, {P({4, 6}), P({2}), P({2})},
                     {{1, Ints({1, 2})}, {2, Ints({4, 3})}})
                   .ok());
  EXPECT_EQ((*Infer("Tile", T(), {P({2, 3}), P({2})}, {{1, Ints({2, 1})}}))[0],
            P({4, 3}));
  EXPECT_EQ((*Infer("Transpose", T(), {P({2, 3, 4}), P({3})},
                    {{1, Ints({2, 0, 1})}}))[0],
            P({4, 2, 3}));
  EXPECT_FALSE(
      Infer("Transpose", T(), {P({2, 3}), P({2})}, {{1, Ints({0, 0})}}).ok());
  AttrMap pad = T();
  EXPECT_EQ((*Infer("Pad", pad, {P({2, 3}), P({2, 2})},
                    {{1, Tensor::FromVector<int32_t>(
                             {1, 1, 0, 2}, TensorShape({2, 2}))}}))[0],
            P({4, 5}));
  AttrMap oh = T();
  oh["TI"] = MakeAttr(DT_INT32);
  EXPECT_EQ((*Infer("OneHot", oh, {P({3}), P({}), P({}), P({})},
                    {{1, Tensor::Scalar<int32_t>(5)}}))[0],
            P({3, 5}));
}

TEST(ShapeFnsTest, ShapeFillRangeAndConst) {
  auto shape = Infer("Shape", T(), {P({-1, 4})});
  ASSERT_TRUE(shape.ok());
  EXPECT_EQ((*shape)[0], P({2}));
  AttrMap f = T();
  EXPECT_EQ((*Infer("Fill", f, {P({2}), P({})}, {{0, Ints({2, 3})}}))[0],
            P({2, 3}));
  AttrMap r;
  r["Tidx"] = MakeAttr(DT_INT32);
  EXPECT_EQ((*Infer("Range", r, {P({}), P({}), P({})},
                    {{0, Tensor::Scalar<int32_t>(0)},
                     {1, Tensor::Scalar<int32_t>(10)},
                     {2, Tensor::Scalar<int32_t>(3)}}))[0],
            P({4}));
  AttrMap c;
  c["dtype"] = MakeAttr(DT_FLOAT);
  AttrValue value;
  value.mutable_tensor()->set_dtype(DT_INT32);
  c["value"] = value;
  auto mismatch = Infer("Const", c, {});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("dtype"), std::string::npos);
}

}  // namespace
}  // namespace rill
