// Checks Rill's graph-format protos against the table of TensorFlow's own
// (tests/testdata/tf_proto_fields.txt, dumped from the tensorflow package):
// every TensorFlow field exists here with the same number, type and label, and
// every DataType and FullTypeId value has the same number.
#include <fstream>
#include <sstream>
#include <string>

#include "core/protos/graph.pb.h"
#include "core/protos/op_def.pb.h"
#include "core/protos/tensor_bundle.pb.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

using google::protobuf::DescriptorPool;

TEST(ProtoCompatTest, FieldsAndEnumsMatchTensorFlow) {
  // Make sure every generated file is linked into the pool.
  ::tensorflow::GraphDef graph;
  ::tensorflow::OpList ops;
  ::tensorflow::BundleEntryProto entry;
  (void)graph;
  (void)ops;
  (void)entry;

  std::ifstream in("tests/testdata/tf_proto_fields.txt");
  ASSERT_TRUE(in.good()) << "missing tf_proto_fields.txt";
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  std::string line;
  int fields = 0, values = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string kind, owner, name;
    words >> kind >> owner >> name;
    if (kind == "field") {
      int number, type, label;
      words >> number >> type >> label;
      const auto* message = pool->FindMessageTypeByName(owner);
      ASSERT_NE(message, nullptr) << "missing message " << owner;
      const auto* field = message->FindFieldByName(name);
      ASSERT_NE(field, nullptr) << "missing field " << owner << "." << name;
      EXPECT_EQ(field->number(), number) << owner << "." << name;
      EXPECT_EQ(static_cast<int>(field->type()), type) << owner << "." << name;
      EXPECT_EQ(static_cast<int>(field->label()), label)
          << owner << "." << name;
      ++fields;
    } else if (kind == "enum") {
      int number;
      words >> number;
      const auto* e = pool->FindEnumTypeByName(owner);
      ASSERT_NE(e, nullptr) << "missing enum " << owner;
      const auto* value = e->FindValueByName(name);
      ASSERT_NE(value, nullptr) << "missing enum value " << name;
      EXPECT_EQ(value->number(), number) << name;
      ++values;
    } else {
      FAIL() << "bad line: " << line;
    }
  }
  EXPECT_GT(fields, 100);
  EXPECT_GT(values, 50);
}

}  // namespace
}  // namespace rill
