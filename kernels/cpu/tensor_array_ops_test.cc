// TensorArrayV3 and StackV2 kernels on the op harness, and their errors.
// The expected values and the cases that fail are TensorFlow's.
#include <string>
#include <vector>

#include "kernels/cpu/op_harness.h"

namespace rill {
namespace {

using Array = ops::TensorArrayV3;

// A float array of `size` (its name is "ta").
Array NewArray(const Scope& s, int size,
               const Array::Attrs& attrs = Array::Attrs()) {
  return Array(s, ops::Const(s, size), DT_FLOAT, attrs.TensorArrayName("ta"));
}

Output Write(const Scope& s, const Array& a, int index, Input value,
             Input flow) {
  return ops::TensorArrayWriteV3(s, a.handle, index, value, flow);
}

Output Read(const Scope& s, const Array& a, int index, Input flow) {
  return ops::TensorArrayReadV3(s, a.handle, index, flow, DT_FLOAT);
}

// An op that runs after `before`.
Scope After(const Scope& s, Output before) {
  return s.WithControlDependencies({before.op()});
}

TEST(TensorArrayOpsTest, WritesAndReads) {
  RunCases({
      {"Write then Read",
       [](const Scope& s) {
         Array a = NewArray(s, 3);
         Output f = Write(s, a, 1, ops::Const(s, {1.0f, 2.0f}), a.flow);
         return Read(s, a, 1, f);
       },
       F({1, 2}, {2})},
      {"an element never written reads as zeros of the known element shape",
       [](const Scope& s) {
         Array a = NewArray(s, 3, Array::ElementShape(PartialTensorShape({2})));
         return Read(s, a, 1, a.flow);
       },
       F({0, 0}, {2})},
      {"without clear_after_read an element reads twice",
       [](const Scope& s) {
         Array a = NewArray(s, 2, Array::ClearAfterRead(false));
         Output f = Write(s, a, 0, ops::Const(s, {4.0f}), a.flow);
         Output first = Read(s, a, 0, f);
         Output second = Read(After(s, first), a, 0, f);
         return ops::ConcatV2(s, {first, second}, 0);
       },
       F({4, 4}, {2})},
      {"Scatter rows, then Gather them in another order",
       [](const Scope& s) {
         Array a = NewArray(s, 3);
         Output f = ops::TensorArrayScatterV3(
             s, a.handle, ops::Const(s, {2, 0}),
             ops::Const(s, {{1.0f, 2.0f}, {3.0f, 4.0f}}), a.flow);
         return ops::TensorArrayGatherV3(s, a.handle, ops::Const(s, {0, 2}), f,
                                         DT_FLOAT);
       },
       F({3, 4, 1, 2}, {2, 2})},
      {"Gather of no indices has the element shape",
       [](const Scope& s) {
         Array a = NewArray(s, 3);
         return ops::TensorArrayGatherV3(
             s, a.handle, ops::Const(s, I({}, {0})), a.flow, DT_FLOAT,
             ops::TensorArrayGatherV3::ElementShape(PartialTensorShape({2})));
       },
       F({}, {0, 2})},
      {"Concat joins elements of different lengths",
       [](const Scope& s) {
         Array a = NewArray(s, 3);
         Output f = Write(s, a, 0, ops::Const(s, {{1.0f, 2.0f}}), a.flow);
         f = Write(s, a, 1, ops::Const(s, {{3.0f, 4.0f}, {5.0f, 6.0f}}), f);
         f = Write(s, a, 2, ops::Fill(s, ops::Const(s, {0, 2}), 0.0f), f);
         return ops::TensorArrayConcatV3(s, a.handle, f, DT_FLOAT).value;
       },
       F({1, 2, 3, 4, 5, 6}, {3, 2})},
      {"Concat's lengths, with zeros for elements never written",
       [](const Scope& s) {
         Array a = NewArray(s, 3, Array::ElementShape(PartialTensorShape({2})));
         Output f = Write(s, a, 0, ops::Const(s, {1.0f, 2.0f}), a.flow);
         auto c = ops::TensorArrayConcatV3(s, a.handle, f, DT_FLOAT);
         return ops::ConcatV2(s, {ops::Cast(s, c.lengths, DT_FLOAT), c.value},
                              0);
       },
       F({2, 2, 2, 1, 2, 0, 0, 0, 0}, {9})},
      {"Split by lengths, an empty piece included",
       [](const Scope& s) {
         Array a = NewArray(s, 3);
         Output f = ops::TensorArraySplitV3(
             s, a.handle, ops::Const(s, {1.0f, 2.0f, 3.0f, 4.0f, 5.0f}),
             ops::Const(s, {int64_t{1}, int64_t{0}, int64_t{4}}), a.flow);
         return ops::ConcatV2(s, {Read(s, a, 2, f), Read(s, a, 1, f)}, 0);
       },
       F({2, 3, 4, 5}, {4})},
      {"a dynamic array grows to the index written",
       [](const Scope& s) {
         Array a = NewArray(s, 3, Array::DynamicSize(true));
         Output f = Write(s, a, 5, ops::Const(s, 1.0f), a.flow);
         return ops::TensorArraySizeV3(s, a.handle, f);
       },
       I({6}, {})},
      {"a gradient array adds up the writes to one index",
       [](const Scope& s) {
         Array a = NewArray(s, 3);
         Output f = Write(s, a, 0, ops::Const(s, {1.0f, 2.0f}), a.flow);
         auto g = ops::TensorArrayGradV3(s, a.handle, f, "grads");
         Output gf = ops::TensorArrayWriteV3(
             s, g.grad_handle, 0, ops::Const(s, {1.0f, 1.0f}), g.flow_out);
         gf = ops::TensorArrayWriteV3(s, g.grad_handle, 0,
                                      ops::Const(s, {2.0f, 2.0f}), gf);
         // The same source names the same gradient array.
         auto again = ops::TensorArrayGradV3(s, a.handle, gf, "grads");
         Output sum = ops::TensorArrayReadV3(s, again.grad_handle, 0,
                                             again.flow_out, DT_FLOAT);
         Output size = ops::TensorArraySizeV3(s, g.grad_handle, gf);
         return ops::ConcatV2(
             s, {sum, ops::Reshape(s, ops::Cast(s, size, DT_FLOAT), {1})}, 0);
       },
       F({3, 3, 3}, {3})},
      {"GradWithShape prepends to the element shape",
       [](const Scope& s) {
         Array a = NewArray(s, 2, Array::ElementShape(PartialTensorShape({2})));
         auto g = ops::TensorArrayGradWithShape(s, a.handle, a.flow,
                                                ops::Const(s, {3}), "grads");
         return ops::TensorArrayReadV3(s, g.grad_handle, 1, g.flow_out,
                                       DT_FLOAT);
       },
       F({0, 0, 0, 0, 0, 0}, {3, 2})},
      {"the size stays known after Close",
       [](const Scope& s) {
         Array a = NewArray(s, 3);
         auto close = ops::TensorArrayCloseV3(s, a.handle);
         return ops::TensorArraySizeV3(
             s.WithControlDependencies({close.operation}), a.handle, a.flow);
       },
       I({3}, {})},
      {"a stack pops last in, first out; a push outputs its element",
       [](const Scope& s) {
         auto stack = ops::StackV2(s, ops::Const(s, -1), DT_FLOAT);
         Output one = ops::StackPushV2(s, stack, ops::Const(s, {1.0f}));
         Output two =
             ops::StackPushV2(After(s, one), stack, ops::Const(s, {2.0f}));
         Output top = ops::StackPopV2(After(s, two), stack, DT_FLOAT);
         Output next = ops::StackPopV2(After(s, top), stack, DT_FLOAT);
         return ops::ConcatV2(s, {top, next, two}, 0);
       },
       F({2, 1, 2}, {3})},
  });
}

TEST(TensorArrayOpsTest, BadUsesAreRefused) {
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3);
        return Read(s, a, 1, a.flow);
      },
      "index 1 of TensorArray 'ta' was never written, and its element shape "
      "<unknown> is not fully known");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3);
        Output f = Write(s, a, 1, ops::Const(s, 1.0f), a.flow);
        Output first = Read(s, a, 1, f);
        return Read(After(s, first), a, 1, f);
      },
      "was read already and cleared");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3);
        Output f = Write(s, a, 1, ops::Const(s, 1.0f), a.flow);
        return Write(s, a, 1, ops::Const(s, 1.0f), f);
      },
      "index 1 of TensorArray 'ta' was written already");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3);
        return Write(s, a, 5, ops::Const(s, 1.0f), a.flow);
      },
      "index 5 is out of range for TensorArray 'ta' of size 3");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3);
        return Read(s, a, -1, a.flow);
      },
      "index -1 is out of range");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3, Array::IdenticalElementShapes(true));
        Output f = Write(s, a, 0, ops::Const(s, {1.0f, 2.0f}), a.flow);
        return Write(s, a, 1, ops::Const(s, {1.0f, 2.0f, 3.0f}), f);
      },
      "an element of shape [3] does not fit TensorArray 'ta' of element "
      "shape [2]");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3);
        return Write(s, a, 0, ops::Const(s, {1, 2}), a.flow);
      },
      "TensorArray 'ta' holds float elements; cannot write int32");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3);
        return ops::TensorArrayReadV3(s, a.handle, 0, a.flow, DT_INT32);
      },
      "holds float elements, not int32");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3);
        Output f = Write(s, a, 0, ops::Const(s, {1.0f, 2.0f}), a.flow);
        return ops::TensorArrayGatherV3(s, a.handle, ops::Const(s, {0, 1}), f,
                                        DT_FLOAT);
      },
      "index 1 of TensorArray 'ta' was never written");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3);
        Output f = Write(s, a, 0, ops::Const(s, {1.0f, 2.0f}), a.flow);
        return ops::TensorArrayGatherV3(s, a.handle, ops::Const(s, {0, 0}), f,
                                        DT_FLOAT);
      },
      "index 0 of TensorArray 'ta' was read already");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 1);
        Output f = Write(s, a, 0, ops::Const(s, 1.0f), a.flow);
        return ops::TensorArrayConcatV3(s, a.handle, f, DT_FLOAT).value;
      },
      "element 0 is a scalar");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3);
        return ops::TensorArraySplitV3(
            s, a.handle, ops::Const(s, {1.0f, 2.0f, 3.0f}),
            ops::Const(s, {int64_t{1}, int64_t{2}}), a.flow);
      },
      "lengths has 2 entries for TensorArray 'ta' of size 3");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3);
        return ops::TensorArraySplitV3(
            s, a.handle, ops::Const(s, {1.0f, 2.0f, 3.0f, 4.0f}),
            ops::Const(s, {int64_t{1}, int64_t{1}, int64_t{1}}), a.flow);
      },
      "lengths add up to 3, not to value's first dimension (4)");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3);
        return ops::TensorArraySplitV3(
            s, a.handle, ops::Const(s, {1.0f, 2.0f, 3.0f}),
            ops::Const(s, {int64_t{-1}, int64_t{2}, int64_t{2}}), a.flow);
      },
      "lengths must be >= 0");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3);
        return ops::TensorArrayScatterV3(
            s, a.handle, ops::Const(s, {2, 7}),
            ops::Const(s, {{1.0f, 2.0f}, {3.0f, 4.0f}}), a.flow);
      },
      "index 7 is out of range for TensorArray 'ta' of size 3");
  ExpectInvalidArgument(
      [](const Scope& s) {
        Array a = NewArray(s, 3);
        auto close = ops::TensorArrayCloseV3(s, a.handle);
        return Write(s.WithControlDependencies({close.operation}), a, 0,
                     ops::Const(s, 1.0f), a.flow);
      },
      "TensorArray 'ta' has been closed");
  ExpectInvalidArgument([](const Scope& s) { return NewArray(s, -1).flow; },
                        "size must be >= 0, got -1");
  ExpectInvalidArgument(
      [](const Scope& s) {
        auto stack = ops::StackV2(s, ops::Const(s, -1), DT_FLOAT,
                                  ops::StackV2::StackName("st"));
        return ops::StackPopV2(s, stack, DT_FLOAT);
      },
      "stack 'st' is empty");
  ExpectInvalidArgument(
      [](const Scope& s) {
        auto stack = ops::StackV2(s, ops::Const(s, 1), DT_FLOAT,
                                  ops::StackV2::StackName("st"));
        Output one = ops::StackPushV2(s, stack, ops::Const(s, 1.0f));
        return ops::StackPushV2(After(s, one), stack, ops::Const(s, 2.0f));
      },
      "stack 'st' is full: it holds at most 1 elements");
  ExpectInvalidArgument(
      [](const Scope& s) {
        auto stack = ops::StackV2(s, ops::Const(s, -1), DT_FLOAT,
                                  ops::StackV2::StackName("st"));
        Output one = ops::StackPushV2(s, stack, ops::Const(s, 1.0f));
        return ops::StackPopV2(After(s, one), stack, DT_INT32);
      },
      "stack 'st' holds float elements, not int32");
  ExpectInvalidArgument(
      [](const Scope& s) {
        auto stack = ops::StackV2(s, ops::Const(s, -1), DT_FLOAT,
                                  ops::StackV2::StackName("st"));
        auto close = ops::StackCloseV2(s, stack);
        return ops::StackPushV2(s.WithControlDependencies({close.operation}),
                                stack, ops::Const(s, 1.0f));
      },
      "stack 'st' has been closed");
  ExpectInvalidArgument(
      [](const Scope& s) {
        auto stack = ops::StackV2(s, ops::Const(s, -1), DT_FLOAT);
        return ops::TensorArraySizeV3(s, stack, ops::Const(s, 0.0f));
      },
      "input 0 holds Stack, not a TensorArray");
}

}  // namespace
}  // namespace rill
