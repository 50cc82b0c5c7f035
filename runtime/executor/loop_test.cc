// TensorFlow 1 loops (Enter/Exit/NextIteration frames) through a session:
// GraphDefs written as tf.compat.v1.while_loop writes them, back edges and
// all. (tests/testdata/tf_graphs/while_v1 is TensorFlow's own.)
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/platform/status_macros.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "runtime/session/session.h"

namespace rill {
namespace {

std::string Const(const std::string& name, const std::string& type,
                  const std::string& value, const std::string& control = "") {
  const std::string field = type == "DT_FLOAT" ? "float_val" : "int_val";
  return absl::StrCat(
      "node { name: '", name, "' op: 'Const'",
      control.empty() ? "" : absl::StrCat(" input: '^", control, "'"),
      " attr { key: 'dtype' value { type: ", type,
      " } } attr { key: 'value' value { tensor { dtype: ", type,
      " tensor_shape {} ", field, ": ", value, " } } } }\n");
}

std::string Node(const std::string& name, const std::string& op,
                 std::vector<std::string> inputs, const std::string& attrs) {
  std::string out = absl::StrCat("node { name: '", name, "' op: '", op, "'");
  for (const std::string& in : inputs)
    absl::StrAppend(&out, " input: '", in, "'");
  return absl::StrCat(out, " ", attrs, " }\n");
}

std::string T(const std::string& type) {
  return absl::StrCat("attr { key: 'T' value { type: ", type, " } }");
}
std::string Frame(const std::string& frame, bool constant = false) {
  return absl::StrCat("attr { key: 'frame_name' value { s: '", frame,
                      "' } } attr { key: 'is_constant' value { b: ",
                      constant ? "true" : "false", " } }");
}

// A counting loop in frame `f` inside the graph: i from `start` while
// i < `limit` (an Enter'ed constant), acc *= 2 each time. Its exits are
// f/exit_i and f/exit_acc. A non-empty `control` (a body node) must run
// before each next iteration.
std::string CountingLoop(const std::string& f, const std::string& start,
                         const std::string& limit, const std::string& acc,
                         const std::string& control = "") {
  std::string g;
  g += Node(f + "/enter_i", "Enter", {start}, T("DT_INT32") + " " + Frame(f));
  g += Node(f + "/enter_acc", "Enter", {acc}, T("DT_FLOAT") + " " + Frame(f));
  g += Node(f + "/enter_n", "Enter", {limit},
            T("DT_INT32") + " " + Frame(f, true));
  g += Node(f + "/merge_i", "Merge", {f + "/enter_i", f + "/next_i"},
            T("DT_INT32") + " attr { key: 'N' value { i: 2 } }");
  g += Node(f + "/merge_acc", "Merge", {f + "/enter_acc", f + "/next_acc"},
            T("DT_FLOAT") + " attr { key: 'N' value { i: 2 } }");
  g += Node(f + "/less", "Less", {f + "/merge_i", f + "/enter_n"},
            T("DT_INT32"));
  g += Node(f + "/cond", "LoopCond", {f + "/less"}, "");
  g += Node(f + "/switch_i", "Switch", {f + "/merge_i", f + "/cond"},
            T("DT_INT32"));
  g += Node(f + "/switch_acc", "Switch", {f + "/merge_acc", f + "/cond"},
            T("DT_FLOAT"));
  g += Node(f + "/body_i", "Identity", {f + "/switch_i:1"}, T("DT_INT32"));
  g += Const(f + "/one", "DT_INT32", "1", f + "/body_i");
  g += Const(f + "/two", "DT_FLOAT", "2", f + "/body_i");
  g += Node(f + "/add", "AddV2", {f + "/body_i", f + "/one"}, T("DT_INT32"));
  g +=
      Node(f + "/mul", "Mul", {f + "/switch_acc:1", f + "/two"}, T("DT_FLOAT"));
  std::vector<std::string> next_inputs = {f + "/add"};
  if (!control.empty()) next_inputs.push_back("^" + control);
  g += Node(f + "/next_i", "NextIteration", next_inputs, T("DT_INT32"));
  g += Node(f + "/next_acc", "NextIteration", {f + "/mul"}, T("DT_FLOAT"));
  g += Node(f + "/exit_i", "Exit", {f + "/switch_i"}, T("DT_INT32"));
  g += Node(f + "/exit_acc", "Exit", {f + "/switch_acc"}, T("DT_FLOAT"));
  return g;
}

absl::StatusOr<std::vector<Tensor>> RunText(
    const std::string& text, const std::vector<std::string>& fetches,
    int steps = 1, int devices = 1) {
  ::tensorflow::GraphDef def;
  if (!google::protobuf::TextFormat::ParseFromString(
          absl::StrReplaceAll(text, {{"'", "\""}}), &def)) {
    return absl::InvalidArgumentError("bad GraphDef text");
  }
  SessionOptions options;
  options.num_cpu_devices = devices;
  ASSIGN_OR_RETURN(std::unique_ptr<Session> session,
                   Session::Create(def, options));
  std::vector<Tensor> out;
  for (int s = 0; s < steps; ++s) {
    ASSIGN_OR_RETURN(out, session->Run({}, fetches, {}));
  }
  return out;
}

TEST(LoopTest, WhileLoopRunsItsIterations) {
  std::string g = Const("i0", "DT_INT32", "0") + Const("n", "DT_INT32", "5") +
                  Const("acc0", "DT_FLOAT", "1");
  g += CountingLoop("loop", "i0", "n", "acc0");
  // Every step runs the loop afresh.
  auto got = RunText(g, {"loop/exit_i", "loop/exit_acc"}, /*steps=*/3);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0].scalar<int32_t>(), 5);
  EXPECT_EQ((*got)[1].scalar<float>(), 32.0f);
}

TEST(LoopTest, ALoopThatNeverIteratesGivesItsInputs) {
  std::string g = Const("i0", "DT_INT32", "7") + Const("n", "DT_INT32", "5") +
                  Const("acc0", "DT_FLOAT", "1.5");
  g += CountingLoop("loop", "i0", "n", "acc0");
  auto got = RunText(g, {"loop/exit_i", "loop/exit_acc"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0].scalar<int32_t>(), 7);
  EXPECT_EQ((*got)[1].scalar<float>(), 1.5f);
}

// outer: j from 0 while j < 3; inner (entered each outer iteration): i
// from 0 while i < j+1, acc doubling from the outer acc. The outer acc
// ends at 2^(1+2+3) = 64.
std::string NestedLoops() {
  std::string g = Const("j0", "DT_INT32", "0") + Const("m", "DT_INT32", "3") +
                  Const("acc0", "DT_FLOAT", "1");
  const std::string o = "outer";
  g += Node(o + "/enter_j", "Enter", {"j0"}, T("DT_INT32") + " " + Frame(o));
  g +=
      Node(o + "/enter_acc", "Enter", {"acc0"}, T("DT_FLOAT") + " " + Frame(o));
  g += Node(o + "/enter_m", "Enter", {"m"},
            T("DT_INT32") + " " + Frame(o, true));
  g += Node(o + "/merge_j", "Merge", {o + "/enter_j", o + "/next_j"},
            T("DT_INT32") + " attr { key: 'N' value { i: 2 } }");
  g += Node(o + "/merge_acc", "Merge", {o + "/enter_acc", o + "/next_acc"},
            T("DT_FLOAT") + " attr { key: 'N' value { i: 2 } }");
  g += Node(o + "/less", "Less", {o + "/merge_j", o + "/enter_m"},
            T("DT_INT32"));
  g += Node(o + "/cond", "LoopCond", {o + "/less"}, "");
  g += Node(o + "/switch_j", "Switch", {o + "/merge_j", o + "/cond"},
            T("DT_INT32"));
  g += Node(o + "/switch_acc", "Switch", {o + "/merge_acc", o + "/cond"},
            T("DT_FLOAT"));
  g += Node(o + "/body_j", "Identity", {o + "/switch_j:1"}, T("DT_INT32"));
  g += Node(o + "/body_acc", "Identity", {o + "/switch_acc:1"}, T("DT_FLOAT"));
  g += Const(o + "/one", "DT_INT32", "1", o + "/body_j");
  g += Const(o + "/zero", "DT_INT32", "0", o + "/body_j");
  g += Node(o + "/add", "AddV2", {o + "/body_j", o + "/one"}, T("DT_INT32"));
  g += CountingLoop("inner", o + "/zero", o + "/add", o + "/body_acc");
  g += Node(o + "/next_j", "NextIteration", {o + "/add"}, T("DT_INT32"));
  g +=
      Node(o + "/next_acc", "NextIteration", {"inner/exit_acc"}, T("DT_FLOAT"));
  g += Node(o + "/exit_j", "Exit", {o + "/switch_j"}, T("DT_INT32"));
  g += Node(o + "/exit_acc", "Exit", {o + "/switch_acc"}, T("DT_FLOAT"));
  return g;
}

TEST(LoopTest, NestedLoopsRunPerOuterIteration) {
  auto got =
      RunText(NestedLoops(), {"outer/exit_j", "outer/exit_acc"}, /*steps=*/2);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0].scalar<int32_t>(), 3);
  EXPECT_EQ((*got)[1].scalar<float>(), 64.0f);
}

// Pins the named nodes of graph text `g` to CPU:1.
std::string OnSecondDevice(std::string g,
                           const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    const std::string at = absl::StrCat("name: '", name, "'");
    const size_t pos = g.find(at);
    EXPECT_NE(pos, std::string::npos) << name;
    g.insert(pos + at.size(), " device: '/device:CPU:1'");
  }
  return g;
}

TEST(LoopTest, ALoopSpanningDevicesRunsEachIterationOnBoth) {
  // The body's Mul (and its constant, made after a node on CPU:0) runs on
  // CPU:1: every iteration sends acc there and back, keyed by iteration.
  std::string g = Const("i0", "DT_INT32", "0") + Const("n", "DT_INT32", "5") +
                  Const("acc0", "DT_FLOAT", "1");
  g += CountingLoop("loop", "i0", "n", "acc0");
  g = OnSecondDevice(g, {"loop/mul", "loop/two"});
  auto got = RunText(g, {"loop/exit_i", "loop/exit_acc"}, /*steps=*/3,
                     /*devices=*/2);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0].scalar<int32_t>(), 5);
  EXPECT_EQ((*got)[1].scalar<float>(), 32.0f);

  // The loop's Switch and Exit on CPU:1 too: the LoopCond crosses.
  g = Const("i0", "DT_INT32", "0") + Const("n", "DT_INT32", "4") +
      Const("acc0", "DT_FLOAT", "1");
  g += CountingLoop("loop", "i0", "n", "acc0");
  g = OnSecondDevice(g, {"loop/mul", "loop/two", "loop/switch_acc",
                         "loop/exit_acc", "loop/next_acc"});
  got = RunText(g, {"loop/exit_acc"}, /*steps=*/2, /*devices=*/2);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0].scalar<float>(), 16.0f);

  // Nested: the inner body on CPU:1 (a control loop of each frame there,
  // the inner one entered once per outer iteration), then the outer
  // counter too.
  for (const std::vector<std::string>& moved :
       {std::vector<std::string>{"inner/mul", "inner/two"},
        std::vector<std::string>{"inner/mul", "inner/two", "outer/add",
                                 "outer/one"}}) {
    got = RunText(OnSecondDevice(NestedLoops(), moved),
                  {"outer/exit_j", "outer/exit_acc"}, /*steps=*/2,
                  /*devices=*/2);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ((*got)[0].scalar<int32_t>(), 3);
    EXPECT_EQ((*got)[1].scalar<float>(), 64.0f);
  }
}

TEST(LoopTest, ErrorsInABodyEndTheStep) {
  // Each iteration divides 1 by i - 2 in integers: iteration 2 fails.
  std::string g = Const("i0", "DT_INT32", "0") + Const("n", "DT_INT32", "5") +
                  Const("acc0", "DT_FLOAT", "1");
  g += CountingLoop("loop", "i0", "n", "acc0", "loop/div");
  g += Const("loop/two_i", "DT_INT32", "2", "loop/body_i");
  g += Node("loop/minus", "Sub", {"loop/body_i", "loop/two_i"}, T("DT_INT32"));
  g += Node("loop/div", "FloorDiv", {"loop/one", "loop/minus"}, T("DT_INT32"));
  auto got = RunText(g, {"loop/exit_i"});
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument)
      << got.status();
  EXPECT_TRUE(absl::StrContains(got.status().message(), "division by zero"))
      << got.status();
}

TEST(LoopTest, CyclesOtherThanLoopsAreStillRefused) {
  std::string g = Node("a", "Identity", {"b"}, T("DT_FLOAT")) +
                  Node("b", "Identity", {"a"}, T("DT_FLOAT"));
  auto got = RunText(g, {"a"});
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(got.status().message(), "cycle"))
      << got.status();
}

}  // namespace
}  // namespace rill
