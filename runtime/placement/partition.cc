#include "runtime/placement/partition.h"

#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/framework/attr_value.h"
#include "core/framework/tensor_proto.h"

namespace rill {
namespace {

std::string TensorRef(const Node* n, int index) {
  return index == 0 ? n->name() : absl::StrCat(n->name(), ":", index);
}

void SetSendRecvAttrs(::tensorflow::NodeDef* nd, const std::string& tensor_name,
                      const std::string& send_device,
                      const std::string& recv_device, int64_t incarnation) {
  auto& attrs = *nd->mutable_attr();
  attrs["tensor_name"] = MakeAttr(tensor_name);
  attrs["send_device"] = MakeAttr(send_device);
  attrs["send_device_incarnation"] = MakeAttr(incarnation);
  attrs["recv_device"] = MakeAttr(recv_device);
  attrs["client_terminated"] = MakeAttr(false);
}

}  // namespace

absl::StatusOr<std::map<std::string, ::tensorflow::GraphDef>> PartitionGraph(
    const Graph& graph, int64_t incarnation) {
  return PartitionGraph(
      graph, [incarnation](const std::string&) { return incarnation; });
}

absl::StatusOr<std::map<std::string, ::tensorflow::GraphDef>> PartitionGraph(
    const Graph& graph,
    const std::function<int64_t(const std::string&)>& incarnation_of) {
  std::map<std::string, ::tensorflow::GraphDef> parts;
  std::vector<::tensorflow::NodeDef*> defs(graph.num_nodes(), nullptr);
  for (const Node* n : graph.nodes()) {
    if (n->assigned_device().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("node '", n->name(), "' has no assigned device"));
    }
    ::tensorflow::GraphDef& part = parts[n->assigned_device()];
    if (part.node_size() == 0) {
      *part.mutable_versions() = graph.versions();
      *part.mutable_library() = graph.library();
    }
    ::tensorflow::NodeDef* nd = part.add_node();
    *nd = n->def();
    nd->set_device(n->assigned_device());
    defs[n->id()] = nd;
  }
  // Dense indices for device names, for readable node names.
  absl::flat_hash_map<std::string, int> device_index;
  for (const auto& [name, part] : parts) {
    device_index.emplace(name, static_cast<int>(device_index.size()));
  }

  // (source node, output, destination device) -> the _Recv's name.
  absl::flat_hash_map<std::tuple<int, int, std::string>, std::string> recvs;
  // Every _Recv by name (a partition's nodes stay where they are as it
  // grows).
  absl::flat_hash_map<std::string, ::tensorflow::NodeDef*> recv_nodes;
  // The _Recv of (src, out) on dst_device, shared by every consumer there;
  // with `for_node`, one of that consumer's own (a ref's value, received
  // when the consumer would read it).
  auto cross = [&](const Node* src, int out, const std::string& dst_device,
                   const Node* for_node = nullptr) {
    auto key = std::make_tuple(src->id(), out, dst_device);
    if (for_node == nullptr) {
      auto it = recvs.find(key);
      if (it != recvs.end()) return it->second;
    }
    const std::string& src_device = src->assigned_device();
    const int di = device_index[dst_device];
    const bool control = out == kControlSlot;
    std::string tag = absl::StrCat(
        src->name(), "/", control ? "ctrl" : absl::StrCat(out), "/to", di);
    if (for_node != nullptr) absl::StrAppend(&tag, "/for", for_node->id());
    const std::string tensor_name = absl::StrCat("edge_", src->id(), "_", tag);
    std::string sent = TensorRef(src, out);
    DataType dtype = control ? DT_FLOAT : BaseType(src->output_type(out));
    if (control) {
      // A control edge travels as a tiny constant that runs after `src`.
      ::tensorflow::NodeDef* c = parts[src_device].add_node();
      c->set_name(absl::StrCat("rill_ctrl/", tag));
      c->set_op("Const");
      c->set_device(src_device);
      c->add_input(absl::StrCat("^", src->name()));
      (*c->mutable_attr())["dtype"] = MakeAttr(DT_FLOAT);
      TensorToProtoField(Tensor::Scalar(0.0f),
                         (*c->mutable_attr())["value"].mutable_tensor());
      sent = c->name();
    }
    ::tensorflow::NodeDef* send = parts[src_device].add_node();
    send->set_name(absl::StrCat("rill_send/", tag));
    send->set_op("_Send");
    send->set_device(src_device);
    send->add_input(sent);
    (*send->mutable_attr())["T"] = MakeAttr(dtype);
    SetSendRecvAttrs(send, tensor_name, src_device, dst_device,
                     incarnation_of(src_device));

    ::tensorflow::NodeDef* recv = parts[dst_device].add_node();
    recv->set_name(absl::StrCat("rill_recv/", tag));
    recv->set_op("_Recv");
    recv->set_device(dst_device);
    (*recv->mutable_attr())["tensor_type"] = MakeAttr(dtype);
    SetSendRecvAttrs(recv, tensor_name, src_device, dst_device,
                     incarnation_of(src_device));
    if (for_node == nullptr) recvs.emplace(key, recv->name());
    recv_nodes.emplace(recv->name(), recv);
    return recv->name();
  };

  for (const Node* n : graph.nodes()) {
    ::tensorflow::NodeDef* nd = defs[n->id()];
    const std::string& device = n->assigned_device();
    // A variable (ref) read on another device is read where it lives, by
    // the _Send, which hands over the variable's buffer; the bytes are
    // taken when the _Recv asks for them. So the node's own _Recv of it
    // waits for everything else the node waits for: an update ordered
    // before the read (a control dependency, an input) has happened by
    // then, as when the read is on the variable's device (TensorFlow's
    // partitioner does the same).
    std::vector<std::string> ref_recvs, before;
    for (int i = 0; i < n->num_inputs(); ++i) {
      const Edge* e = n->input_edge(i);
      if (e->src->assigned_device() == device) {
        nd->add_input(TensorRef(e->src, e->src_output));
        before.push_back(e->src->name());
      } else if (IsRefType(e->src->output_type(e->src_output))) {
        ref_recvs.push_back(cross(e->src, e->src_output, device, n));
        nd->add_input(ref_recvs.back());
      } else {
        nd->add_input(cross(e->src, e->src_output, device));
        before.push_back(nd->input(nd->input_size() - 1));
      }
    }
    for (const Edge* e : n->control_in_edges()) {
      if (e->src->assigned_device() == device) {
        before.push_back(e->src->name());
      } else {
        before.push_back(cross(e->src, kControlSlot, device));
      }
      nd->add_input(absl::StrCat("^", before.back()));
    }
    for (const std::string& name : ref_recvs) {
      for (const std::string& b : before) {
        recv_nodes.at(name)->add_input(absl::StrCat("^", b));
      }
    }
  }
  return parts;
}

}  // namespace rill
