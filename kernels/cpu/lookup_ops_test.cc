// Lookup tables through a session, as tf.lookup and the categorical
// feature columns run them: an initializer step, then lookups; and
// Bucketize, the bucketized feature column's op.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "kernels/cpu/op_harness.h"

namespace rill {
namespace {

class Table {
 public:
  // A string -> int64 table of a, b, c; "init" fills it with `init_op`.
  explicit Table(const std::string& init_op = "LookupTableImportV2") {
    Scope root = Scope::NewRootScope();
    auto table =
        ops::HashTableV2(root.WithOpName("table"), DT_STRING, DT_INT64);
    auto keys = ops::Const(
        root, {std::string("a"), std::string("b"), std::string("c")});
    auto values = ops::Const(root, Tensor::FromVector<int64_t>({0, 1, 2}));
    if (init_op == "LookupTableImportV2") {
      ops::LookupTableImportV2(root.WithOpName("init"), table, keys, values);
    } else {
      ops::InitializeTableV2(root.WithOpName("init"), table, keys, values);
    }
    auto words = ops::Placeholder(root.WithOpName("words"), DT_STRING);
    ops::Identity(
        root.WithOpName("ids"),
        ops::LookupTableFindV2(root, table, words,
                               ops::Const(root, Tensor::Scalar<int64_t>(-1))));
    ops::Identity(root.WithOpName("size"), ops::LookupTableSizeV2(root, table));
    // Keys of the wrong dtype.
    ops::Identity(
        root.WithOpName("bad"),
        ops::LookupTableFindV2(root, table, ops::Const(root, {1, 2}),
                               ops::Const(root, Tensor::Scalar<int64_t>(-1))));
    ::tensorflow::GraphDef def;
    EXPECT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
    auto session = Session::Create(def);
    EXPECT_TRUE(session.ok()) << session.status();
    session_ = *std::move(session);
  }
  absl::Status Init() { return session_->Run({}, {}, {"init"}).status(); }
  absl::StatusOr<Tensor> Find(std::vector<std::string> words) {
    ASSIGN_OR_RETURN(
        std::vector<Tensor> got,
        session_->Run(
            {{"words",
              Tensor::FromVector<std::string>(
                  words, TensorShape({static_cast<int64_t>(words.size())}))}},
            {"ids"}, {}));
    return got[0];
  }
  absl::StatusOr<std::vector<Tensor>> Run(const std::string& fetch) {
    return session_->Run({}, {fetch}, {});
  }

 private:
  std::unique_ptr<Session> session_;
};

TEST(LookupOpsTest, TablesMapKeysAndGiveTheDefaultForOthers) {
  Table table;
  ASSERT_TRUE(table.Init().ok());
  auto ids = table.Find({"c", "zz", "a", "b"});
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_TRUE(ids->Equals(Tensor::FromVector<int64_t>({2, -1, 0, 1})))
      << ids->DebugString();
  auto size = table.Run("size");
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ((*size)[0].scalar<int64_t>(), 3);
  // Importing again replaces the contents (an initializer run twice).
  EXPECT_TRUE(table.Init().ok());
}

TEST(LookupOpsTest, ErrorsAreClear) {
  Table unfilled;
  absl::Status s = unfilled.Find({"a"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "is not initialized")) << s;

  Table once("InitializeTableV2");
  ASSERT_TRUE(once.Init().ok());
  s = once.Init();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "is already initialized")) << s;

  s = once.Run("bad").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(absl::StrContains(
      s.message(), "maps string to int64; got int32 keys and int64 values"))
      << s;
}

TEST(LookupOpsTest, Bucketize) {
  RunCases({
      {"how many boundaries are at or below each element",
       [](const Scope& s) {
         return ops::Bucketize(
             s,
             ops::Const(s,
                        {{-5.0f, 10000.0f}, {150.0f, 10.0f}, {5.0f, 100.0f}}),
             std::vector<float>{0.0f, 10.0f, 100.0f});
       },
       I({0, 3, 3, 2, 1, 3}, {3, 2})},
  });
  ExpectInvalidArgument(
      [](const Scope& s) {
        return ops::Bucketize(s, ops::Const(s, {1.0f}),
                              std::vector<float>{2.0f, 1.0f});
      },
      "boundaries must be sorted");
}

}  // namespace
}  // namespace rill
