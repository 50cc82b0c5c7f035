// Graph: the in-memory dataflow graph.
//
// Nodes and edges live in arenas owned by the Graph (stable addresses, freed
// together with it); Node* and Edge* handed out stay valid while the Graph
// lives. A data edge connects output `src_output` of one node to input
// `dst_input` of another; a control edge (both slots kControlSlot) only
// orders execution. Each node knows its OpDef, its attrs with defaults
// filled in, and the dtypes of its inputs and outputs.
//
// A Graph is not thread-safe for mutation; const access from many threads is
// fine.
#ifndef RILL_CORE_GRAPH_GRAPH_H_
#define RILL_CORE_GRAPH_GRAPH_H_

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/framework/attr_value.h"
#include "core/framework/op_registry.h"
#include "core/framework/types.h"
#include "core/protos/graph.pb.h"

namespace rill {

inline constexpr int kControlSlot = -1;

class Node;

struct Edge {
  Node* src;
  int src_output;  // kControlSlot for a control edge.
  Node* dst;
  int dst_input;  // kControlSlot for a control edge.

  bool IsControlEdge() const { return src_output == kControlSlot; }
};

class Graph;

class Node {
 public:
  // Only a Graph constructs nodes (the key is private to Graph).
  class Key {
    friend class Graph;
    Key() = default;
  };
  Node(Key, int id, ::tensorflow::NodeDef def, const OpRegistrationData* op,
       std::vector<DataType> input_types, std::vector<DataType> output_types);
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  int id() const { return id_; }
  const std::string& name() const { return def_.name(); }
  const std::string& op() const { return def_.op(); }
  // The device the graph asks for ("" when none); may be partial.
  const std::string& requested_device() const { return def_.device(); }
  // The device the placer chose ("" until placement).
  const std::string& assigned_device() const { return assigned_device_; }
  void set_assigned_device(std::string device) {
    assigned_device_ = std::move(device);
  }
  const AttrMap& attrs() const { return def_.attr(); }
  const ::tensorflow::OpDef& op_def() const { return op_->op_def; }
  const OpRegistrationData& op_registration() const { return *op_; }
  // The NodeDef this node was made from, with defaults filled in and the
  // inputs field empty (edges hold the inputs).
  const ::tensorflow::NodeDef& def() const { return def_; }

  int num_inputs() const { return static_cast<int>(input_types_.size()); }
  int num_outputs() const { return static_cast<int>(output_types_.size()); }
  DataType input_type(int i) const { return input_types_[i]; }
  DataType output_type(int i) const { return output_types_[i]; }
  const std::vector<DataType>& input_types() const { return input_types_; }
  const std::vector<DataType>& output_types() const { return output_types_; }
  bool IsStateful() const { return op_->op_def.is_stateful(); }

  // The edge feeding data input i, or nullptr when not yet connected.
  const Edge* input_edge(int i) const { return data_in_[i]; }
  absl::Span<const Edge* const> control_in_edges() const { return control_in_; }
  absl::Span<const Edge* const> out_edges() const { return out_; }

 private:
  friend class Graph;
  const int id_;
  ::tensorflow::NodeDef def_;
  const OpRegistrationData* const op_;
  const std::vector<DataType> input_types_;
  const std::vector<DataType> output_types_;
  std::string assigned_device_;
  std::vector<const Edge*> data_in_;
  std::vector<const Edge*> control_in_;
  std::vector<const Edge*> out_;
};

class Graph {
 public:
  // Ops are looked up in `registry`, which must outlive the graph.
  explicit Graph(const OpRegistry* registry = OpRegistry::Global());
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Adds a node from `def` (its input field is ignored: connect inputs with
  // AddEdge). Fills default attrs, validates attrs against the op, and
  // computes input/output dtypes. INVALID_ARGUMENT for an empty, malformed
  // or duplicate name or a bad attr; NOT_FOUND for an unknown op. Errors
  // name the node.
  absl::StatusOr<Node*> AddNode(::tensorflow::NodeDef def);

  // Connects src:src_output to dst:dst_input. INVALID_ARGUMENT when a slot is
  // out of range, the input is already connected, or the dtypes do not fit
  // (an output of ref dtype may feed a non-ref input of its base dtype).
  absl::StatusOr<const Edge*> AddEdge(Node* src, int src_output, Node* dst,
                                      int dst_input);
  // Makes dst run after src. Adding the same control edge twice is a no-op.
  const Edge* AddControlEdge(Node* src, Node* dst);

  Node* FindNode(absl::string_view name) const;
  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  int num_edges() const { return static_cast<int>(edges_.size()); }
  // Nodes in the order they were added (id order).
  const std::vector<Node*>& nodes() const { return node_list_; }

  // Every node before its consumers (data and control). INVALID_ARGUMENT
  // naming nodes on a cycle when the graph has one.
  absl::StatusOr<std::vector<Node*>> TopologicalOrder() const;

  ::tensorflow::VersionDef* mutable_versions() { return &versions_; }
  const ::tensorflow::VersionDef& versions() const { return versions_; }
  ::tensorflow::FunctionDefLibrary* mutable_library() { return &library_; }
  const ::tensorflow::FunctionDefLibrary& library() const { return library_; }
  ::tensorflow::GraphDebugInfo* mutable_debug_info() { return &debug_info_; }

  // Writes a GraphDef equal to the one the graph was imported from (nodes in
  // id order, default attrs present, data inputs then ^control inputs).
  void ToGraphDef(::tensorflow::GraphDef* out) const;

 private:
  const OpRegistry* const registry_;
  std::deque<Node> nodes_;  // The node arena.
  std::deque<Edge> edges_;  // The edge arena.
  std::vector<Node*> node_list_;
  // Keys view the names inside the arena's nodes, which never move.
  absl::flat_hash_map<absl::string_view, Node*> by_name_;
  ::tensorflow::VersionDef versions_;
  ::tensorflow::FunctionDefLibrary library_;
  ::tensorflow::GraphDebugInfo debug_info_;
};

// True for names TensorFlow accepts: [A-Za-z0-9.][A-Za-z0-9_./>-]*.
bool IsValidNodeName(absl::string_view name);

}  // namespace rill

#endif  // RILL_CORE_GRAPH_GRAPH_H_
