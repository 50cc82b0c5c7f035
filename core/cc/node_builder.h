// NodeBuilder: adds one node through a Scope, the way every op function of
// the C++ API does. It applies the scope (unique name, device, control
// dependencies, colocation), infers type and length attrs from the inputs
// as TensorFlow does (T from an input's dtype, N from a list's length),
// turns inline constants into Const nodes, and validates the result against
// the op's schema. Errors go into the scope's status.
#ifndef RILL_CORE_CC_NODE_BUILDER_H_
#define RILL_CORE_CC_NODE_BUILDER_H_

#include <string>
#include <vector>

#include "core/cc/output.h"
#include "core/cc/scope.h"

namespace rill {

class NodeBuilder {
 public:
  NodeBuilder(const Scope& scope, std::string op,
              std::string default_name = "");

  // Inputs in the op's declared order: one call per input arg.
  NodeBuilder& Input(const ::rill::Input& input);
  NodeBuilder& Input(const InputList& list);
  template <typename T>
  NodeBuilder& Attr(const std::string& name, const T& value) {
    attrs_[name] = MakeAttr(value);
    return *this;
  }
  NodeBuilder& Attr(const std::string& name, const AttrValue& value) {
    attrs_[name] = value;
    return *this;
  }
  NodeBuilder& Attr(const std::string& name, const Tensor& value);

  // The node, or nullptr after recording an error in the scope (also when
  // the scope already had one).
  Node* Finalize();

 private:
  struct Arg {
    std::vector<Output> outputs;
    bool is_list = false;
  };
  absl::StatusOr<Output> Resolve(const ::rill::Input& input);
  absl::Status Build(Node** out);

  Scope scope_;
  std::string op_;
  std::string default_name_;
  std::vector<Arg> args_;
  AttrMap attrs_;
  absl::Status status_;
};

// Outputs [begin, end) of `node` that belong to its output arg `arg_index`
// (a list arg spans several).
std::vector<Output> OutputsOfArg(Node* node, int arg_index);

// Makes a Const node holding `value`.
Output Const(const Scope& scope, const Initializer& value);

}  // namespace rill

#endif  // RILL_CORE_CC_NODE_BUILDER_H_
