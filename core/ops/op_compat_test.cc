// Checks every op that TensorFlow's OpDef table (tests/testdata/
// tf_op_defs.pbtxt) lists against Rill's declaration: the same inputs and
// outputs in the same order, the same attrs with the same types, defaults
// and minimums, the same allowed values, and the same flags.
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "core/framework/op_registry.h"
#include "core/protos/op_def.pb.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

using ::tensorflow::OpDef;

std::set<std::string> AllowedSet(const ::tensorflow::AttrValue& v) {
  std::set<std::string> out;
  for (int t : v.list().type()) out.insert("type " + std::to_string(t));
  for (const auto& s : v.list().s()) out.insert("string " + s);
  return out;
}

void ExpectSameOp(const OpDef& tf, const OpDef& ours) {
  SCOPED_TRACE(tf.name());
  auto same_args = [](const auto& a, const auto& b, const char* what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    for (int i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].name(), b[i].name()) << what << " " << i;
      EXPECT_EQ(a[i].type(), b[i].type()) << what << " " << a[i].name();
      EXPECT_EQ(a[i].type_attr(), b[i].type_attr())
          << what << " " << a[i].name();
      EXPECT_EQ(a[i].number_attr(), b[i].number_attr())
          << what << " " << a[i].name();
      EXPECT_EQ(a[i].type_list_attr(), b[i].type_list_attr())
          << what << " " << a[i].name();
      EXPECT_EQ(a[i].is_ref(), b[i].is_ref()) << what << " " << a[i].name();
    }
  };
  same_args(tf.input_arg(), ours.input_arg(), "input");
  same_args(tf.output_arg(), ours.output_arg(), "output");
  ASSERT_EQ(tf.attr_size(), ours.attr_size());
  for (const auto& want : tf.attr()) {
    const ::tensorflow::OpDef_AttrDef* got = nullptr;
    for (const auto& a : ours.attr()) {
      if (a.name() == want.name()) got = &a;
    }
    ASSERT_NE(got, nullptr) << "missing attr " << want.name();
    EXPECT_EQ(got->type(), want.type()) << want.name();
    EXPECT_EQ(got->has_minimum(), want.has_minimum()) << want.name();
    EXPECT_EQ(got->minimum(), want.minimum()) << want.name();
    EXPECT_EQ(got->has_default_value(), want.has_default_value())
        << want.name();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equivalent(
        got->default_value(), want.default_value()))
        << want.name() << ": " << got->default_value().ShortDebugString()
        << " vs " << want.default_value().ShortDebugString();
    EXPECT_EQ(AllowedSet(got->allowed_values()),
              AllowedSet(want.allowed_values()))
        << want.name();
  }
  EXPECT_EQ(tf.is_stateful(), ours.is_stateful());
  EXPECT_EQ(tf.is_commutative(), ours.is_commutative());
  EXPECT_EQ(tf.is_aggregate(), ours.is_aggregate());
  EXPECT_EQ(tf.allows_uninitialized_input(), ours.allows_uninitialized_input());
}

TEST(OpCompatTest, DeclarationsMatchTensorFlow) {
  std::ifstream in("tests/testdata/tf_op_defs.pbtxt");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  ::tensorflow::OpList tf_ops;
  ASSERT_TRUE(
      google::protobuf::TextFormat::ParseFromString(text.str(), &tf_ops));
  ASSERT_GT(tf_ops.op_size(), 100);
  for (const OpDef& tf : tf_ops.op()) {
    auto ours = OpRegistry::Global()->LookUp(tf.name());
    ASSERT_TRUE(ours.ok()) << ours.status();
    ExpectSameOp(tf, (*ours)->op_def);
  }
}

}  // namespace
}  // namespace rill
