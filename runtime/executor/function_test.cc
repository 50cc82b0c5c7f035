// Functions of a graph's library through a session, as TensorFlow 2 writes
// them: If/StatelessIf picking a branch, While looping (long enough that a
// stack that grew per iteration would overflow), PartitionedCall, a
// resource variable passed into a body, and the errors: a missing function,
// a function that calls itself, a body of the wrong arity.
#include "runtime/executor/function.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "runtime/session/session.h"

namespace rill {
namespace {

constexpr char kLibrary[] = R"pb(
  library {
    function {
      signature {
        name: "double_it"
        input_arg { name: "x" type: DT_FLOAT }
        output_arg { name: "y" type: DT_FLOAT }
      }
      node_def {
        name: "two"
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
              tensor_shape {}
              float_val: 2
            }
          }
        }
      }
      node_def {
        name: "mul"
        op: "Mul"
        input: "x"
        input: "two:output:0"
        attr {
          key: "T"
          value { type: DT_FLOAT }
        }
      }
      ret { key: "y" value: "mul:z:0" }
    }
    function {
      signature {
        name: "negate"
        input_arg { name: "x" type: DT_FLOAT }
        output_arg { name: "y" type: DT_FLOAT }
      }
      node_def {
        name: "neg"
        op: "Neg"
        input: "x"
        attr {
          key: "T"
          value { type: DT_FLOAT }
        }
      }
      ret { key: "y" value: "neg:y:0" }
    }
    function {
      signature {
        name: "read_var"
        input_arg { name: "v" type: DT_RESOURCE }
        output_arg { name: "y" type: DT_FLOAT }
      }
      node_def {
        name: "read"
        op: "ReadVariableOp"
        input: "v"
        attr {
          key: "dtype"
          value { type: DT_FLOAT }
        }
      }
      ret { key: "y" value: "read:value:0" }
    }
    function {
      signature {
        name: "less"
        input_arg { name: "i" type: DT_INT32 }
        input_arg { name: "s" type: DT_INT32 }
        input_arg { name: "n" type: DT_INT32 }
        output_arg { name: "go" type: DT_BOOL }
      }
      node_def {
        name: "lt"
        op: "Less"
        input: "i"
        input: "n"
        attr {
          key: "T"
          value { type: DT_INT32 }
        }
      }
      ret { key: "go" value: "lt:z:0" }
    }
    function {
      signature {
        name: "count"
        input_arg { name: "i" type: DT_INT32 }
        input_arg { name: "s" type: DT_INT32 }
        input_arg { name: "n" type: DT_INT32 }
        output_arg { name: "i2" type: DT_INT32 }
        output_arg { name: "s2" type: DT_INT32 }
        output_arg { name: "n2" type: DT_INT32 }
      }
      node_def {
        name: "one"
        op: "Const"
        attr {
          key: "dtype"
          value { type: DT_INT32 }
        }
        attr {
          key: "value"
          value {
            tensor {
              dtype: DT_INT32
              tensor_shape {}
              int_val: 1
            }
          }
        }
      }
      node_def {
        name: "next"
        op: "AddV2"
        input: "i"
        input: "one:output:0"
        attr {
          key: "T"
          value { type: DT_INT32 }
        }
      }
      node_def {
        name: "sum"
        op: "AddV2"
        input: "s"
        input: "i"
        attr {
          key: "T"
          value { type: DT_INT32 }
        }
      }
      ret { key: "i2" value: "next:z:0" }
      ret { key: "s2" value: "sum:z:0" }
      ret { key: "n2" value: "n" }
    }
    function {
      signature {
        name: "forever"
        input_arg { name: "x" type: DT_FLOAT }
        output_arg { name: "y" type: DT_FLOAT }
      }
      node_def {
        name: "again"
        op: "PartitionedCall"
        input: "x"
        attr {
          key: "Tin"
          value { list { type: DT_FLOAT } }
        }
        attr {
          key: "Tout"
          value { list { type: DT_FLOAT } }
        }
        attr {
          key: "f"
          value { func { name: "forever" } }
        }
      }
      ret { key: "y" value: "again:output:0" }
    }
  }
  node {
    name: "x"
    op: "Placeholder"
    attr {
      key: "dtype"
      value { type: DT_FLOAT }
    }
  }
  node {
    name: "n"
    op: "Placeholder"
    attr {
      key: "dtype"
      value { type: DT_INT32 }
    }
  }
  node {
    name: "zero"
    op: "Const"
    attr {
      key: "dtype"
      value { type: DT_INT32 }
    }
    attr {
      key: "value"
      value {
        tensor {
          dtype: DT_INT32
          tensor_shape {}
          int_val: 0
        }
      }
    }
  }
  node {
    name: "fzero"
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
          tensor_shape {}
          float_val: 0
        }
      }
    }
  }
  node {
    name: "positive"
    op: "Greater"
    input: "x"
    input: "fzero"
    attr {
      key: "T"
      value { type: DT_FLOAT }
    }
  }
)pb";

// The library and common nodes, plus `more` nodes.
::tensorflow::GraphDef WithLibrary(const std::string& more) {
  ::tensorflow::GraphDef def;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      absl::StrCat(kLibrary, more), &def))
      << more;
  return def;
}

absl::StatusOr<std::vector<Tensor>> RunGraph(
    const ::tensorflow::GraphDef& def,
    const std::vector<std::pair<std::string, Tensor>>& feeds,
    const std::vector<std::string>& fetches,
    const std::vector<std::string>& init = {}) {
  ASSIGN_OR_RETURN(auto session, Session::Create(def));
  if (!init.empty()) RETURN_IF_ERROR(session->Run({}, {}, init).status());
  return session->Run(feeds, fetches, {});
}

const char kIf[] = R"pb(
  node {
    name: "branch"
    op: "StatelessIf"
    input: "positive"
    input: "x"
    attr {
      key: "Tcond"
      value { type: DT_BOOL }
    }
    attr {
      key: "Tin"
      value { list { type: DT_FLOAT } }
    }
    attr {
      key: "Tout"
      value { list { type: DT_FLOAT } }
    }
    attr {
      key: "then_branch"
      value { func { name: "double_it" } }
    }
    attr {
      key: "else_branch"
      value { func { name: "negate" } }
    }
  }
)pb";

TEST(FunctionTest, IfRunsTheBranchTheConditionPicks) {
  const auto def = WithLibrary(kIf);
  auto pos = RunGraph(def, {{"x", Tensor::Scalar<float>(3)}}, {"branch"});
  ASSERT_TRUE(pos.ok()) << pos.status();
  EXPECT_EQ((*pos)[0].flat<float>()[0], 6);
  auto neg = RunGraph(def, {{"x", Tensor::Scalar<float>(-2)}}, {"branch"});
  ASSERT_TRUE(neg.ok()) << neg.status();
  EXPECT_EQ((*neg)[0].flat<float>()[0], 2);
}

const char kWhile[] = R"pb(
  node {
    name: "loop"
    op: "While"
    input: "zero"
    input: "zero"
    input: "n"
    attr {
      key: "T"
      value { list { type: DT_INT32 type: DT_INT32 type: DT_INT32 } }
    }
    attr {
      key: "cond"
      value { func { name: "less" } }
    }
    attr {
      key: "body"
      value { func { name: "count" } }
    }
  }
)pb";

TEST(FunctionTest, WhileLoopsUntilTheConditionFails) {
  const auto def = WithLibrary(kWhile);
  auto five = RunGraph(def, {{"n", Tensor::Scalar<int32_t>(5)}}, {"loop:1"});
  ASSERT_TRUE(five.ok()) << five.status();
  EXPECT_EQ((*five)[0].flat<int32_t>()[0], 10);
  // 20,000 iterations: each starts from the runner, so the stack stays flat.
  auto many = RunGraph(def, {{"n", Tensor::Scalar<int32_t>(20000)}},
                       {"loop:0", "loop:1"});
  ASSERT_TRUE(many.ok()) << many.status();
  EXPECT_EQ((*many)[0].flat<int32_t>()[0], 20000);
  EXPECT_EQ((*many)[1].flat<int32_t>()[0], 199990000);
  auto none = RunGraph(def, {{"n", Tensor::Scalar<int32_t>(0)}}, {"loop:1"});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ((*none)[0].flat<int32_t>()[0], 0);
}

TEST(FunctionTest, PartitionedCallAndAVariablePassedIn) {
  const auto def = WithLibrary(R"pb(
    node {
      name: "call"
      op: "PartitionedCall"
      input: "x"
      attr {
        key: "Tin"
        value { list { type: DT_FLOAT } }
      }
      attr {
        key: "Tout"
        value { list { type: DT_FLOAT } }
      }
      attr {
        key: "f"
        value { func { name: "double_it" } }
      }
    }
    node {
      name: "v"
      op: "VarHandleOp"
      attr {
        key: "dtype"
        value { type: DT_FLOAT }
      }
      attr {
        key: "shape"
        value { shape {} }
      }
      attr {
        key: "shared_name"
        value { s: "v" }
      }
    }
    node {
      name: "init"
      op: "AssignVariableOp"
      input: "v"
      input: "x"
      attr {
        key: "dtype"
        value { type: DT_FLOAT }
      }
    }
    node {
      name: "read"
      op: "StatefulPartitionedCall"
      input: "v"
      attr {
        key: "Tin"
        value { list { type: DT_RESOURCE } }
      }
      attr {
        key: "Tout"
        value { list { type: DT_FLOAT } }
      }
      attr {
        key: "f"
        value { func { name: "read_var" } }
      }
    }
  )pb");
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE(
      (*session)->Run({{"x", Tensor::Scalar<float>(7)}}, {}, {"init"}).ok());
  auto got = (*session)->Run({{"x", Tensor::Scalar<float>(1.5f)}},
                             {"call", "read"}, {});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0].flat<float>()[0], 3);
  EXPECT_EQ((*got)[1].flat<float>()[0], 7);
}

// A PartitionedCall node "bad" of function `f` on x, declaring `outputs`
// float results; run alone (fed x = 1), its error.
absl::Status Failure(const std::string& f, int outputs = 1) {
  std::string tout;
  for (int i = 0; i < outputs; ++i) tout += " type: DT_FLOAT";
  const std::string node =
      absl::StrCat("node { name: 'bad' op: 'PartitionedCall' input: 'x' ",
                   "attr { key: 'Tin' value { list { type: DT_FLOAT } } } ",
                   "attr { key: 'Tout' value { list {", tout, " } } } ",
                   "attr { key: 'f' value { func { name: '", f, "' } } } }");
  auto got =
      RunGraph(WithLibrary(node), {{"x", Tensor::Scalar<float>(1)}}, {"bad"});
  return got.ok() ? absl::OkStatus() : got.status();
}

TEST(FunctionTest, BadFunctionsAreClearErrors) {
  absl::Status missing = Failure("nowhere");
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound) << missing;
  EXPECT_NE(missing.message().find("function 'nowhere' is not in the graph's "
                                   "library"),
            std::string::npos)
      << missing;

  absl::Status recursive = Failure("forever");
  EXPECT_EQ(recursive.code(), absl::StatusCode::kInvalidArgument) << recursive;
  EXPECT_NE(recursive.message().find("nested more than 32 deep"),
            std::string::npos)
      << recursive;

  // A body that returns one value where the node declares two.
  absl::Status arity = Failure("negate", 2);
  EXPECT_EQ(arity.code(), absl::StatusCode::kInvalidArgument) << arity;
  EXPECT_NE(arity.message().find("f returned 1 values for 2 outputs"),
            std::string::npos)
      << arity;
}

TEST(FunctionTest, InstantiateNamesWhatDoesNotResolve) {
  ::tensorflow::FunctionDefLibrary library = WithLibrary("").library();
  library.mutable_function(1)->mutable_node_def(0)->set_input(0, "nope:y:0");
  auto graph = InstantiateFunction(library, "negate");
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(graph.status().message().find(
                "function 'negate': input 'nope:y:0' names no output"),
            std::string::npos)
      << graph.status();
}

}  // namespace
}  // namespace rill
