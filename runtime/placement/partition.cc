#include "runtime/placement/partition.h"

#include <functional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/framework/attr_value.h"
#include "core/framework/tensor_proto.h"
#include "core/platform/status_macros.h"

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

bool IsOp(const Node* n, const char* op, const char* ref_op) {
  return n->op() == op || n->op() == ref_op;
}

// The TensorFlow 1 loop frames of a graph: frame 0 is the root; an Enter
// opens (or joins) the child frame its frame_name names in its input's
// frame, and an Exit leaves to the parent.
struct Frames {
  struct Info {
    std::string name;
    int parent = -1;
    const Node* loop_cond = nullptr;
    const Node* enter = nullptr;  // One of its Enters (for its attrs).
  };
  std::vector<Info> info = {Info()};
  std::vector<int> of;      // By node id: the frame the node runs in.
  std::vector<int> out_of;  // By node id: the frame its outputs are in.
};

absl::StatusOr<Frames> FindFrames(const Graph& graph) {
  Frames f;
  f.of.assign(graph.num_nodes(), 0);
  f.out_of.assign(graph.num_nodes(), 0);
  absl::flat_hash_map<std::pair<int, std::string>, int> children;
  ASSIGN_OR_RETURN(std::vector<Node*> order, graph.TopologicalOrder());
  for (const Node* n : order) {
    // The frame of the first input that is not a back edge.
    int frame = 0;
    auto take = [&](const Edge* e) {
      if (e == nullptr || IsOp(e->src, "NextIteration", "RefNextIteration")) {
        return false;
      }
      frame = f.out_of[e->src->id()];
      return true;
    };
    bool found = false;
    for (int i = 0; i < n->num_inputs() && !found; ++i) {
      found = take(n->input_edge(i));
    }
    for (const Edge* e : n->control_in_edges()) {
      if (found) break;
      found = take(e);
    }
    int out = frame;
    if (IsOp(n, "Enter", "RefEnter")) {
      std::string name;
      RETURN_IF_ERROR(GetAttr(n->attrs(), "frame_name", &name));
      auto [it, added] = children.try_emplace(std::make_pair(frame, name),
                                              static_cast<int>(f.info.size()));
      if (added) {
        Frames::Info child;
        child.name = name;
        child.parent = frame;
        child.enter = n;
        f.info.push_back(child);
      }
      frame = out = it->second;
    } else if (IsOp(n, "Exit", "RefExit") && frame > 0) {
      out = f.info[frame].parent;
    } else if (n->op() == "LoopCond" && frame > 0) {
      f.info[frame].loop_cond = n;
    }
    f.of[n->id()] = frame;
    f.out_of[n->id()] = out;
  }
  return f;
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

  bool has_loops = false;
  for (const Node* n : graph.nodes()) {
    has_loops |= IsOp(n, "Enter", "RefEnter");
  }
  Frames frames;
  if (has_loops) {
    ASSIGN_OR_RETURN(frames, FindFrames(graph));
  }
  // Every _Recv of a value made inside a loop: (its name, the frame, its
  // device, the source).
  struct FramedRecv {
    std::string name;
    int frame;
    std::string device;
    const Node* src;
  };
  std::vector<FramedRecv> framed;

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
    if (has_loops && frames.out_of[src->id()] > 0) {
      framed.push_back(
          {recv->name(), frames.out_of[src->id()], dst_device, src});
    }
    return recv->name();
  };

  // A NextIteration's copy on `device`, fed by its input there.
  absl::flat_hash_map<std::pair<int, std::string>, std::string> next_copies;
  auto next_iteration_on = [&](const Node* next, const std::string& device) {
    auto [it, added] =
        next_copies.try_emplace(std::make_pair(next->id(), device));
    if (!added) return it->second;
    const Edge* in = next->input_edge(0);
    const std::string value = in->src->assigned_device() == device
                                  ? TensorRef(in->src, in->src_output)
                                  : cross(in->src, in->src_output, device);
    ::tensorflow::NodeDef* copy = parts[device].add_node();
    copy->set_name(
        absl::StrCat("rill_next/", next->name(), "/to", device_index[device]));
    copy->set_op(next->op());
    copy->set_device(device);
    copy->add_input(value);
    (*copy->mutable_attr())["T"] = MakeAttr(next->output_type(0));
    it->second = copy->name();
    return it->second;
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
      } else if (IsOp(e->src, "NextIteration", "RefNextIteration")) {
        // A back edge crosses before its NextIteration, which is copied
        // here: the value goes over in the iteration that made it.
        nd->add_input(next_iteration_on(e->src, device));
        before.push_back(nd->input(nd->input_size() - 1));
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
  if (framed.empty()) return parts;

  // A loop that spans devices (as TensorFlow's partitioner does it): each
  // device that receives values made in frame F gets a control loop of F,
  // Enter -> Merge -> Switch on F's LoopCond (received where it is not
  // local) -> Identity (the pivot) -> NextIteration -> Merge, that runs one
  // iteration for each of the real loop's, the last (LoopCond false)
  // included. A _Recv of a value of F waits on the control loop's Merge,
  // so it runs in every iteration and takes that iteration's value, live
  // or dead (the rendezvous key carries frame and iteration); one of a
  // (non-constant) Enter's value waits on the control loop's Enter, as it
  // comes once. A nested frame's control loop is entered from its
  // parent's pivot on that device.
  struct ControlLoop {
    std::string enter, merge, pivot;
  };
  std::map<std::pair<int, std::string>, ControlLoop> loops;
  std::set<std::pair<std::string, std::string>> controls;
  auto add_control = [&](const std::string& recv, const std::string& ctrl) {
    if (controls.insert({recv, ctrl}).second) {
      recv_nodes.at(recv)->add_input(absl::StrCat("^", ctrl));
    }
  };
  auto add = [&](const std::string& device, const std::string& name,
                 const std::string& op, std::vector<std::string> inputs) {
    ::tensorflow::NodeDef* nd = parts[device].add_node();
    nd->set_name(name);
    nd->set_op(op);
    nd->set_device(device);
    for (const std::string& in : inputs) nd->add_input(in);
    (*nd->mutable_attr())["T"] = MakeAttr(DT_FLOAT);
    return nd;
  };
  std::function<absl::StatusOr<ControlLoop>(int, const std::string&)>
      control_loop =
          [&](int frame,
              const std::string& device) -> absl::StatusOr<ControlLoop> {
    auto found = loops.find({frame, device});
    if (found != loops.end()) return found->second;
    const Frames::Info& info = frames.info[frame];
    if (info.loop_cond == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("loop frame '", info.name,
                       "' spans devices but has no LoopCond node to follow"));
    }
    const std::string prefix =
        absl::StrCat("rill_loop/", frame, "/on", device_index[device], "/");
    std::string start;
    if (info.parent == 0) {
      ::tensorflow::NodeDef* c = parts[device].add_node();
      c->set_name(prefix + "start");
      c->set_op("Const");
      c->set_device(device);
      (*c->mutable_attr())["dtype"] = MakeAttr(DT_FLOAT);
      TensorToProtoField(Tensor::Scalar(0.0f),
                         (*c->mutable_attr())["value"].mutable_tensor());
      start = c->name();
    } else {
      ASSIGN_OR_RETURN(ControlLoop parent, control_loop(info.parent, device));
      start = parent.pivot;
    }
    ::tensorflow::NodeDef* enter =
        add(device, prefix + "enter", "Enter", {start});
    auto& enter_attrs = *enter->mutable_attr();
    enter_attrs["frame_name"] = MakeAttr(info.name);
    enter_attrs["is_constant"] = MakeAttr(false);
    int64_t parallel = 10;
    (void)GetAttr(info.enter->attrs(), "parallel_iterations", &parallel);
    enter_attrs["parallel_iterations"] = MakeAttr(parallel);
    ::tensorflow::NodeDef* merge = add(device, prefix + "merge", "Merge",
                                       {enter->name(), prefix + "next"});
    (*merge->mutable_attr())["N"] = MakeAttr(2);
    std::string cond = info.loop_cond->name();
    if (info.loop_cond->assigned_device() != device) {
      cond = cross(info.loop_cond, 0, device);
      add_control(cond, merge->name());
    }
    ::tensorflow::NodeDef* sw =
        add(device, prefix + "switch", "Switch", {merge->name(), cond});
    ::tensorflow::NodeDef* pivot =
        add(device, prefix + "pivot", "Identity", {sw->name() + ":1"});
    add(device, prefix + "next", "NextIteration", {pivot->name()});
    ControlLoop made{enter->name(), merge->name(), pivot->name()};
    loops.emplace(std::make_pair(frame, device), made);
    return made;
  };
  // By index: building control loops receives LoopConds, adding entries.
  for (size_t i = 0; i < framed.size(); ++i) {
    const FramedRecv r = framed[i];
    ASSIGN_OR_RETURN(ControlLoop loop, control_loop(r.frame, r.device));
    bool constant = false;
    (void)GetAttr(r.src->attrs(), "is_constant", &constant);
    const bool once = IsOp(r.src, "Enter", "RefEnter") && !constant;
    add_control(r.name, once ? loop.enter : loop.merge);
  }
  return parts;
}

}  // namespace rill
