#include "core/cc/node_builder.h"

#include "absl/strings/str_cat.h"
#include "core/framework/tensor_proto.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

// Sets attr `name` to `value`, or checks it against an earlier setting.
absl::Status InferAttr(AttrMap* attrs, const std::string& name,
                       const AttrValue& value, const std::string& why) {
  auto it = attrs->find(name);
  if (it == attrs->end()) {
    (*attrs)[name] = value;
    return absl::OkStatus();
  }
  if (it->second.SerializeAsString() != value.SerializeAsString()) {
    return absl::InvalidArgumentError(
        absl::StrCat("attr '", name, "' is ", SummarizeAttrValue(it->second),
                     " but ", why, " gives ", SummarizeAttrValue(value)));
  }
  return absl::OkStatus();
}

int ArgLength(const ::tensorflow::OpDef_ArgDef& arg, const AttrMap& attrs) {
  if (!arg.number_attr().empty()) {
    int64_t n = 0;
    return GetAttr(attrs, arg.number_attr(), &n).ok() ? static_cast<int>(n) : 0;
  }
  if (!arg.type_list_attr().empty()) {
    std::vector<DataType> types;
    return GetAttr(attrs, arg.type_list_attr(), &types).ok()
               ? static_cast<int>(types.size())
               : 0;
  }
  return 1;
}

}  // namespace

NodeBuilder::NodeBuilder(const Scope& scope, std::string op,
                         std::string default_name)
    : scope_(scope),
      op_(std::move(op)),
      default_name_(default_name.empty() ? op_ : std::move(default_name)) {}

absl::StatusOr<Output> NodeBuilder::Resolve(const ::rill::Input& input) {
  if (!input.is_constant()) {
    if (input.output().node() == nullptr) {
      return absl::InvalidArgumentError("an input is an empty Output");
    }
    return input.output();
  }
  RETURN_IF_ERROR(input.initializer().status());
  // An inline constant is a "Const" node beside the op (the empty sub-scope
  // drops a WithOpName meant for the op itself).
  Output c = Const(scope_.NewSubScope("").WithNoControlDependencies(),
                   input.initializer());
  if (!scope_.ok()) return scope_.status();
  return c;
}

NodeBuilder& NodeBuilder::Input(const ::rill::Input& input) {
  absl::StatusOr<Output> o = Resolve(input);
  if (!o.ok()) {
    status_.Update(o.status());
  } else {
    args_.push_back(Arg{{*o}, false});
  }
  return *this;
}

NodeBuilder& NodeBuilder::Input(const InputList& list) {
  Arg arg;
  arg.is_list = true;
  for (const ::rill::Input& in : list.inputs()) {
    absl::StatusOr<Output> o = Resolve(in);
    if (!o.ok()) {
      status_.Update(o.status());
      return *this;
    }
    arg.outputs.push_back(*o);
  }
  args_.push_back(std::move(arg));
  return *this;
}

NodeBuilder& NodeBuilder::Attr(const std::string& name, const Tensor& value) {
  AttrValue v;
  TensorToProtoField(value, v.mutable_tensor());
  attrs_[name] = v;
  return *this;
}

absl::Status NodeBuilder::Build(Node** out) {
  RETURN_IF_ERROR(status_);
  Graph* graph = scope_.graph();
  ASSIGN_OR_RETURN(const OpRegistrationData* reg,
                   OpRegistry::Global()->LookUp(op_));
  const ::tensorflow::OpDef& def = reg->op_def;
  if (static_cast<int>(args_.size()) != def.input_arg_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(op_, " takes ", def.input_arg_size(), " input args, got ",
                     args_.size()));
  }
  for (int i = 0; i < def.input_arg_size(); ++i) {
    const auto& arg = def.input_arg(i);
    const Arg& given = args_[i];
    const std::string why = absl::StrCat("input '", arg.name(), "'");
    if (!arg.number_attr().empty()) {
      RETURN_IF_ERROR(
          InferAttr(&attrs_, arg.number_attr(),
                    MakeAttr(static_cast<int64_t>(given.outputs.size())), why));
    }
    if (!arg.type_list_attr().empty()) {
      std::vector<DataType> types;
      for (const Output& o : given.outputs) types.push_back(BaseType(o.type()));
      RETURN_IF_ERROR(
          InferAttr(&attrs_, arg.type_list_attr(), MakeAttr(types), why));
    } else if (!arg.type_attr().empty() && !given.outputs.empty()) {
      RETURN_IF_ERROR(InferAttr(&attrs_, arg.type_attr(),
                                MakeAttr(BaseType(given.outputs[0].type())),
                                why));
    }
  }

  ::tensorflow::NodeDef node_def;
  node_def.set_name(scope_.GetUniqueNameForOp(default_name_));
  node_def.set_op(op_);
  node_def.set_device(scope_.device());
  *node_def.mutable_attr() = attrs_;
  if (!scope_.colocation_group().empty()) {
    (*node_def.mutable_attr())["_class"] =
        MakeAttr(std::vector<std::string>{scope_.colocation_group()});
  }
  ASSIGN_OR_RETURN(Node * node, graph->AddNode(std::move(node_def)));
  int slot = 0;
  for (const Arg& arg : args_) {
    for (const Output& o : arg.outputs) {
      RETURN_IF_ERROR(graph->AddEdge(o.node(), o.index(), node, slot).status());
      ++slot;
    }
  }
  for (const Operation& dep : scope_.control_deps()) {
    graph->AddControlEdge(dep.node(), node);
  }
  *out = node;
  return absl::OkStatus();
}

Node* NodeBuilder::Finalize() {
  if (!scope_.ok()) return nullptr;
  Node* node = nullptr;
  absl::Status s = Build(&node);
  if (!s.ok()) {
    scope_.UpdateStatus(absl::Status(
        s.code(), absl::StrCat("building ", op_, ": ", s.message())));
    return nullptr;
  }
  return node;
}

std::vector<Output> OutputsOfArg(Node* node, int arg_index) {
  std::vector<Output> out;
  if (node == nullptr) return out;
  const ::tensorflow::OpDef& def = node->op_def();
  int begin = 0;
  for (int i = 0; i < arg_index; ++i) {
    begin += ArgLength(def.output_arg(i), node->attrs());
  }
  const int n = ArgLength(def.output_arg(arg_index), node->attrs());
  for (int i = 0; i < n; ++i) out.emplace_back(node, begin + i);
  return out;
}

Output Const(const Scope& scope, const Initializer& value) {
  if (!value.status().ok()) {
    scope.UpdateStatus(value.status());
    return Output();
  }
  Node* node = NodeBuilder(scope, "Const")
                   .Attr("value", value.tensor())
                   .Attr("dtype", value.tensor().dtype())
                   .Finalize();
  return node == nullptr ? Output() : Output(node, 0);
}

}  // namespace rill
