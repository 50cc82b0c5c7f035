// TensorList and Optional kernels on the op harness, and their errors.
#include <string>
#include <vector>

#include "kernels/cpu/op_harness.h"

namespace rill {
namespace {

// A list made from the rows of [[1, 2], [3, 4], [5, 6]].
Output Rows(const Scope& s) {
  return ops::TensorListFromTensor(
      s, ops::Const(s, {{1.0f, 2.0f}, {3.0f, 4.0f}, {5.0f, 6.0f}}),
      ops::Const(s, {2}));
}

TEST(ListOpsTest, BuildAndReadLists) {
  const auto unknown = [](const Scope& s) { return ops::Const(s, -1); };
  RunCases({
      {"FromTensor then Stack gives the tensor back",
       [unknown](const Scope& s) {
         return ops::TensorListStack(s, Rows(s), unknown(s), DT_FLOAT);
       },
       F({1, 2, 3, 4, 5, 6}, {3, 2})},
      {"PushBack, then PopBack returns the last element",
       [unknown](const Scope& s) {
         auto pushed =
             ops::TensorListPushBack(s, Rows(s), ops::Const(s, {7.0f, 8.0f}));
         return ops::TensorListPopBack(s, pushed, unknown(s), DT_FLOAT).tensor;
       },
       F({7, 8}, {2})},
      {"GetItem and SetItem",
       [unknown](const Scope& s) {
         auto set =
             ops::TensorListSetItem(s, Rows(s), 1, ops::Const(s, {9.0f, 9.5f}));
         return ops::TensorListGetItem(s, set, 1, unknown(s), DT_FLOAT);
       },
       F({9, 9.5f}, {2})},
      {"Reserve: an element never set reads as zeros",
       [](const Scope& s) {
         auto list = ops::TensorListReserve(s, ops::Const(s, {2}), 3, DT_FLOAT);
         auto set =
             ops::TensorListSetItem(s, list, 2, ops::Const(s, {1.0f, 2.0f}));
         return ops::TensorListStack(s, set, ops::Const(s, {2}), DT_FLOAT);
       },
       F({0, 0, 0, 0, 1, 2}, {3, 2})},
      {"Gather picks elements in the order asked",
       [unknown](const Scope& s) {
         return ops::TensorListGather(s, Rows(s), ops::Const(s, {2, 0}),
                                      unknown(s), DT_FLOAT);
       },
       F({5, 6, 1, 2}, {2, 2})},
      {"ScatterIntoExistingList grows the list to the largest index",
       [unknown](const Scope& s) {
         auto list = ops::TensorListScatterIntoExistingList(
             s, Rows(s), ops::Const(s, {{7.0f, 7.0f}}), ops::Const(s, {4}));
         return ops::TensorListLength(s, list);
       },
       I({5}, {})},
      {"Resize and Length",
       [](const Scope& s) {
         return ops::TensorListLength(s, ops::TensorListResize(s, Rows(s), 1));
       },
       I({1}, {})},
      {"ElementShape",
       [](const Scope& s) {
         return ops::TensorListElementShape(s, Rows(s), DT_INT32);
       },
       I({2}, {1})},
      {"Stack of an empty list with a known element shape",
       [](const Scope& s) {
         auto list = ops::EmptyTensorList(s, ops::Const(s, {2}), -1, DT_FLOAT);
         return ops::TensorListStack(s, list, ops::Const(s, {2}), DT_FLOAT);
       },
       F({}, {0, 2})},
      {"Optional round trip and HasValue",
       [](const Scope& s) {
         auto some = ops::OptionalFromValue(s, {ops::Const(s, {3, 4})});
         auto value = ops::OptionalGetValue(s, some, {DT_INT32},
                                            {PartialTensorShape({2})});
         auto has = ops::Cast(
             s,
             ops::Pack(s, {ops::OptionalHasValue(s, some),
                           ops::OptionalHasValue(s, ops::OptionalNone(s))}),
             DT_INT32);
         return ops::ConcatV2(s, {value.components[0], has}, 0);
       },
       I({3, 4, 1, 0}, {4})},
  });
}

TEST(ListOpsTest, BadUsesAreRefused) {
  const auto unknown = [](const Scope& s) { return ops::Const(s, -1); };
  ExpectInvalidArgument(
      [unknown](const Scope& s) {
        auto list = ops::EmptyTensorList(s, unknown(s), -1, DT_FLOAT);
        return ops::TensorListPopBack(s, list, unknown(s), DT_FLOAT).tensor;
      },
      "cannot pop from an empty list");
  ExpectInvalidArgument(
      [](const Scope& s) {
        return ops::TensorListPushBack(s, Rows(s), ops::Const(s, {1.0f}));
      },
      "does not fit the list's element shape [2]");
  ExpectInvalidArgument(
      [](const Scope& s) {
        auto list = ops::EmptyTensorList(s, ops::Const(s, -1), 1, DT_FLOAT);
        auto one = ops::TensorListPushBack(s, list, ops::Const(s, 1.0f));
        return ops::TensorListPushBack(s, one, ops::Const(s, 2.0f));
      },
      "the list is full");
  ExpectInvalidArgument(
      [unknown](const Scope& s) {
        return ops::TensorListGetItem(s, Rows(s), 3, unknown(s), DT_FLOAT);
      },
      "index 3 is out of range for a list of 3 elements");
  ExpectInvalidArgument(
      [unknown](const Scope& s) {
        return ops::TensorListStack(s, Rows(s), unknown(s), DT_INT32);
      },
      "the list holds float elements, not int32");
  ExpectInvalidArgument(
      [unknown](const Scope& s) {
        auto list = ops::TensorListReserve(s, unknown(s), 2, DT_FLOAT);
        return ops::TensorListGetItem(s, list, 0, unknown(s), DT_FLOAT);
      },
      "was never set and its shape");
  ExpectInvalidArgument(
      [](const Scope& s) {
        return ops::OptionalGetValue(s, ops::OptionalNone(s), {DT_INT32},
                                     {PartialTensorShape({2})})
            .components[0];
      },
      "the optional has no value");
  ExpectInvalidArgument(
      [unknown](const Scope& s) {
        return ops::TensorListLength(s, ops::OptionalNone(s));
      },
      "holds Optional, not a TensorList");
}

}  // namespace
}  // namespace rill
