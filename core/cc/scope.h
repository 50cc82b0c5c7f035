// Scope: where the C++ graph-builder API adds nodes, and with what context.
//
// A root scope owns a new Graph. Derived scopes (WithOpName, NewSubScope,
// WithDevice, WithControlDependencies, ColocateWith) share that graph and
// its error status, and carry a name prefix, a device, control inputs and a
// colocation group for the nodes created through them. The first error of
// any op function is kept in the shared status; later op functions do
// nothing, and ToGraphDef() returns that error. Names are made unique the
// way TensorFlow does it: "MatMul", "MatMul_1", ...
//
//   Scope root = Scope::NewRootScope();
//   auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT);
//   auto y = ops::MatMul(root, x, w, ops::MatMul::TransposeB(true));
//   GraphDef def;
//   RETURN_IF_ERROR(root.ToGraphDef(&def));
//
// Scopes are cheap to copy; they are not thread-safe.
#ifndef RILL_CORE_CC_SCOPE_H_
#define RILL_CORE_CC_SCOPE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "core/cc/output.h"
#include "core/graph/graph.h"
#include "core/protos/graph.pb.h"

namespace rill {

class Scope {
 public:
  static Scope NewRootScope();

  // A scope whose nodes are named "<prefix>/<child>/...". The child name is
  // made unique among this scope's names.
  Scope NewSubScope(const std::string& child) const;
  // The next node made through the returned scope gets exactly this name
  // (under the scope's prefix, made unique if taken).
  Scope WithOpName(const std::string& name) const;
  // Requests a device ("/job:ps/task:0", "/device:CPU:1") for new nodes.
  Scope WithDevice(const std::string& device) const;
  // New nodes run after `deps` (added to the scope's existing ones).
  Scope WithControlDependencies(const std::vector<Operation>& deps) const;
  Scope WithNoControlDependencies() const;
  // New nodes are placed with `op` (TensorFlow's _class "loc:@" attr).
  Scope ColocateWith(const Operation& op) const;
  Scope ColocateWith(const Output& out) const { return ColocateWith(out.op()); }

  bool ok() const { return shared_->status.ok(); }
  absl::Status status() const { return shared_->status; }
  // Records the first error; later ones are dropped.
  void UpdateStatus(const absl::Status& s) const;

  Graph* graph() const { return shared_->graph.get(); }
  const std::string& device() const { return device_; }
  const std::vector<Operation>& control_deps() const { return control_deps_; }
  const std::string& colocation_group() const { return colocate_; }
  // The prefix of new node names ("" at the root, "a/b" in a subscope).
  const std::string& name_prefix() const { return prefix_; }

  // A unique node name for an op of this type made through this scope: the
  // WithOpName name if set, else default_name; prefixed and deduplicated.
  std::string GetUniqueNameForOp(const std::string& default_name) const;

  // The graph as a GraphDef, or the first error recorded.
  absl::Status ToGraphDef(::tensorflow::GraphDef* out) const;

 private:
  struct Shared {
    std::unique_ptr<Graph> graph;
    absl::Status status;
    absl::flat_hash_map<std::string, int> name_counts;
  };
  explicit Scope(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  std::string UniqueName(const std::string& full) const;

  std::shared_ptr<Shared> shared_;
  std::string prefix_;
  std::string op_name_;
  std::string device_;
  std::vector<Operation> control_deps_;
  std::string colocate_;
};

}  // namespace rill

#endif  // RILL_CORE_CC_SCOPE_H_
