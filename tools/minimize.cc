// rill minimize GRAPH --loss NAME --out OUT [--optimizer sgd|momentum|adam|
// adagrad] [--lr X] [--momentum M] [--var NAME]... [--global_step NAME]
// [--name NAME]: adds to a GraphDef what training it needs (the gradients of
// the loss by the C++ gradient registry, one optimizer update per variable,
// the optimizer's slot variables and their initializers), writes the
// result to OUT, and prints one JSON object naming what it added:
//
//   {"train_op": "GradientDescent", "initializers": ["w/Momentum/Assign"],
//    "variables": ["w", "b"], "gradients": ["gradients/MatMul_grad/..."]}
//
// This is how clients without a gradient library of their own (the Python
// client, python_stub/) train: they send their graph, take back the added
// nodes and run "train_op" each step. The nodes of GRAPH keep their names
// and come first in OUT, in their order.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/cc/import_graph.h"
#include "core/cc/ops.h"
#include "core/graph/graph_io.h"
#include "core/platform/status_macros.h"
#include "runtime/session/step_graph.h"
#include "runtime/training/optimizer.h"
#include "tools/commands.h"
#include "tools/tensor_text.h"
#include "tools/train_common.h"

namespace rill::tools {
namespace {

struct MinimizeFlags {
  std::string graph, out, loss;
  std::string optimizer = "sgd";
  double lr = 0.01;
  double momentum = 0.9;
  std::vector<std::string> vars;
  std::string global_step;
  std::string name;
};

absl::StatusOr<MinimizeFlags> ParseMinimizeFlags(const Args& args) {
  MinimizeFlags f;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, "--")) {
      if (!f.graph.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected argument '", arg, "'"));
      }
      f.graph = arg;
      continue;
    }
    if (i + 1 >= args.size()) {
      return absl::InvalidArgumentError(absl::StrCat(arg, ": needs a value"));
    }
    const std::string& value = args[++i];
    if (arg == "--loss") {
      f.loss = value;
    } else if (arg == "--out") {
      f.out = value;
    } else if (arg == "--optimizer") {
      RETURN_IF_ERROR(ParseOptimizer(arg, value, &f.optimizer));
    } else if (arg == "--lr" || arg == "--momentum") {
      RETURN_IF_ERROR(
          ParseNumber(arg, value, 0.0, arg == "--lr" ? &f.lr : &f.momentum));
    } else if (arg == "--var") {
      f.vars.push_back(value);
    } else if (arg == "--global_step") {
      f.global_step = value;
    } else if (arg == "--name") {
      f.name = value;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", arg, "' for rill minimize"));
    }
  }
  if (f.graph.empty() || f.loss.empty() || f.out.empty()) {
    return absl::InvalidArgumentError(
        "usage: rill minimize GRAPH --loss NAME --out OUT [--optimizer "
        "sgd|momentum|adam|adagrad] [--lr X] [--var NAME]...");
  }
  return f;
}

// "node" or "node:k" of the imported graph as an Output; `flag` names
// where it came from in the error.
absl::StatusOr<Output> FindOutput(const ImportedNodes& nodes,
                                  const std::string& name,
                                  absl::string_view flag) {
  ASSIGN_OR_RETURN(auto parsed, ParseTensorName(name, flag));
  const auto& [node, index] = parsed;
  auto it = nodes.find(node);
  if (it == nodes.end()) {
    return absl::NotFoundError(
        absl::StrCat(flag, ": the graph has no node '", node, "'"));
  }
  if (index >= it->second->num_outputs()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": node '", node, "' has ",
                     it->second->num_outputs(), " outputs, not ", index + 1));
  }
  return Output(it->second, index);
}

std::string JsonNames(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", JsonString(names[i]));
  }
  return out + "]";
}

std::string OutputName(const Output& o) {
  return o.index() == 0 ? o.node()->name()
                        : absl::StrCat(o.node()->name(), ":", o.index());
}

}  // namespace

absl::Status Minimize(const Args& args, std::ostream& out) {
  ASSIGN_OR_RETURN(MinimizeFlags f, ParseMinimizeFlags(args));
  ASSIGN_OR_RETURN(::tensorflow::GraphDef def, ReadGraphDef(f.graph));
  Scope root = Scope::NewRootScope();
  *root.graph()->mutable_versions() = def.versions();
  *root.graph()->mutable_library() = def.library();
  ASSIGN_OR_RETURN(ImportedNodes nodes, ImportIntoScope(root, def));
  ASSIGN_OR_RETURN(Output loss, FindOutput(nodes, f.loss, "--loss"));
  MinimizeOptions options;
  for (const std::string& v : f.vars) {
    ASSIGN_OR_RETURN(Output var, FindOutput(nodes, v, "--var"));
    const std::string& op = var.node()->op();
    if (op != "VariableV2" && op != "Variable" && op != "VarHandleOp") {
      return absl::InvalidArgumentError(
          absl::StrCat("--var: '", v, "' is a ", op,
                       ", not a variable (VariableV2 or ", "VarHandleOp)"));
    }
    options.var_list.push_back(var);
  }
  if (!f.global_step.empty()) {
    ASSIGN_OR_RETURN(options.global_step,
                     FindOutput(nodes, f.global_step, "--global_step"));
  }
  options.name = f.name;
  std::vector<Output> vars =
      options.var_list.empty() ? VariablesOf(loss) : options.var_list;
  std::unique_ptr<Optimizer> optimizer =
      MakeOptimizer(f.optimizer, f.lr, f.momentum);
  ASSIGN_OR_RETURN(std::vector<Optimizer::GradAndVar> grads,
                   optimizer->ComputeGradients(root, loss, vars));
  ASSIGN_OR_RETURN(Operation train,
                   optimizer->ApplyGradients(root, grads, options));
  RETURN_IF_ERROR(root.status());
  ::tensorflow::GraphDef result;
  RETURN_IF_ERROR(root.ToGraphDef(&result));
  RETURN_IF_ERROR(WriteGraphDef(result, f.out, FormatForPath(f.out)));

  std::vector<std::string> inits, var_names, grad_names;
  for (const Operation& op : optimizer->initializers()) {
    inits.push_back(op.name());
  }
  for (const auto& [grad, var] : grads) {
    grad_names.push_back(OutputName(grad));
    var_names.push_back(OutputName(var));
  }
  out << "{\"train_op\": " << JsonString(train.name())
      << ", \"initializers\": " << JsonNames(inits)
      << ", \"variables\": " << JsonNames(var_names)
      << ", \"gradients\": " << JsonNames(grad_names) << "}\n";
  return absl::OkStatus();
}

}  // namespace rill::tools
