// Checks Rill's distributed-runtime protos against TensorFlow's field
// numbers (tests/testdata/tf_distributed_fields.txt, dumped from the
// tensorflow package): every field Rill declares has TensorFlow's name and
// number in a message of TensorFlow's name. Rill declares a subset; the
// fields it leaves out are skipped when it parses TensorFlow's messages.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "distributed/protos/master.pb.h"
#include "distributed/protos/worker.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FileDescriptor;

void CheckMessage(const Descriptor* d,
                  const std::map<std::string, int>& tensorflow, int* checked) {
  if (d->options().map_entry()) return;
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    const std::string key =
        std::string(d->full_name()) + " " + std::string(f->name());
    auto it = tensorflow.find(key);
    if (it == tensorflow.end()) {
      ADD_FAILURE() << "TensorFlow has no field " << key;
      continue;
    }
    EXPECT_EQ(f->number(), it->second) << key;
    ++*checked;
  }
  for (int i = 0; i < d->nested_type_count(); ++i) {
    CheckMessage(d->nested_type(i), tensorflow, checked);
  }
}

TEST(DistributedProtoCompatTest, FieldNumbersMatchTensorFlow) {
  std::ifstream in("tests/testdata/tf_distributed_fields.txt");
  ASSERT_TRUE(in.good()) << "missing tf_distributed_fields.txt";
  std::map<std::string, int> tensorflow;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string kind, message, name;
    int number = 0;
    words >> kind >> message >> name >> number;
    ASSERT_EQ(kind, "field") << line;
    tensorflow[message + " " + name] = number;
  }
  // Link the generated files into the pool.
  const FileDescriptor* files[] = {
      ::tensorflow::RunStepRequest::descriptor()->file(),
      ::tensorflow::RunGraphRequest::descriptor()->file(),
  };
  int checked = 0;
  // The two files and every distributed/ file they import, transitively.
  std::map<std::string, const FileDescriptor*> seen;
  std::vector<const FileDescriptor*> to_visit(std::begin(files),
                                              std::end(files));
  while (!to_visit.empty()) {
    const FileDescriptor* file = to_visit.back();
    to_visit.pop_back();
    if (std::string(file->name()).rfind("distributed/", 0) != 0 ||
        !seen.emplace(std::string(file->name()), file).second) {
      continue;
    }
    for (int i = 0; i < file->dependency_count(); ++i) {
      to_visit.push_back(file->dependency(i));
    }
  }
  for (const auto& [name, file] : seen) {
    for (int i = 0; i < file->message_type_count(); ++i) {
      CheckMessage(file->message_type(i), tensorflow, &checked);
    }
  }
  EXPECT_GE(seen.size(), 7u);
  EXPECT_GT(checked, 100);
}

}  // namespace
}  // namespace rill
