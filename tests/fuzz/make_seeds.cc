// make_seeds DIR: writes small seed inputs for each fuzz target into
// DIR/<target>/ (scripts/fuzz starts from them and from the test
// fixtures; the checked-in corpus/ was made with it).
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/cc/ops.h"
#include "core/framework/tensor_proto.h"
#include "distributed/protos/master.pb.h"
#include "distributed/tensor_coding.h"

namespace {

void Write(const std::string& dir, const std::string& target,
           const std::string& name, const std::string& bytes) {
  const std::string folder = dir + "/" + target;
  ::mkdir(dir.c_str(), 0755);
  ::mkdir(folder.c_str(), 0755);
  std::ofstream(folder + "/" + name, std::ios::binary) << bytes;
}

// [method][length, little-endian 16 bits][bytes], as server_fuzz reads.
std::string Record(int method, const std::string& bytes) {
  std::string out(1, static_cast<char>(method));
  out += static_cast<char>(bytes.size() & 0xff);
  out += static_cast<char>((bytes.size() >> 8) & 0xff);
  return out + bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  using namespace rill;
  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
  auto w = ops::Const(root.WithOpName("w"), {{1.0f, 2.0f}, {3.0f, 4.0f}});
  auto y = ops::MatMul(root.WithOpName("y"), w, w);
  auto s = ops::AddN(root.WithOpName("s"), {y, w});
  auto parts = ops::Split(root.WithOpName("parts"), 0, s, 2);
  ops::ConcatV2(root.WithOpName("joined"), {parts.output[0], parts.output[1]},
                1);
  ops::Add(root.WithOpName("fed"), x, w);
  ::tensorflow::GraphDef def;
  if (!root.ToGraphDef(&def).ok()) return 1;
  std::string binary;
  def.SerializeToString(&binary);
  Write(dir, "graph_fuzz", "small_binary", std::string(1, '\x01') + binary);
  Write(dir, "graph_fuzz", "small_text",
        std::string(1, '\x00') + def.DebugString());

  const Tensor tensors[] = {
      Tensor::FromVector<float>({1.5f, -2, 3, 4}, TensorShape({2, 2})),
      Tensor::FromVector<int64_t>({7, 8, 9}),
      Tensor::FromVector<std::string>({"a", "bc"}),
      Tensor::Scalar<bool>(true),
  };
  int i = 0;
  for (const Tensor& t : tensors) {
    ::tensorflow::TensorProto content, field;
    TensorToProto(t, &content);
    TensorToProtoField(t, &field);
    Write(dir, "tensor_proto_fuzz", "content_" + std::to_string(i),
          content.SerializeAsString());
    Write(dir, "tensor_proto_fuzz", "field_" + std::to_string(i),
          field.SerializeAsString());
    grpc::ByteBuffer wire;
    EncodeRecvTensorResponse(t, false, &wire);
    std::vector<grpc::Slice> slices;
    (void)wire.Dump(&slices);
    std::string bytes;
    for (const grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    Write(dir, "recv_tensor_fuzz", "tensor_" + std::to_string(i), bytes);
    ++i;
  }

  // A session made from the graph, a step with a feed, one without.
  ::tensorflow::CreateSessionRequest create;
  *create.mutable_graph_def() = def;
  ::tensorflow::RunStepRequest run;
  run.add_fetch("joined");
  ::tensorflow::RunStepRequest fed;
  auto* feed = fed.add_feed();
  feed->set_name("x");
  TensorToProto(tensors[0], feed->mutable_tensor());
  fed.add_fetch("fed");
  ::tensorflow::ExtendSessionRequest extend;
  *extend.mutable_graph_def()->add_node() = def.node(0);
  extend.mutable_graph_def()->mutable_node(0)->set_name("x2");
  Write(dir, "server_fuzz", "session_steps",
        Record(0, create.SerializeAsString()) +
            Record(2, run.SerializeAsString()) +
            Record(2, fed.SerializeAsString()) +
            Record(1, extend.SerializeAsString()) + Record(4, "") +
            Record(9, ""));
  return 0;
}
