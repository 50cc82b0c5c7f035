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
#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/cc/import_graph.h"
#include "core/cc/ops.h"
#include "core/graph/graph_io.h"
#include "core/platform/status_macros.h"
#include "runtime/training/optimizer.h"
#include "tools/commands.h"
#include "tools/tensor_text.h"

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
      if (value != "sgd" && value != "momentum" && value != "adam" &&
          value != "adagrad") {
        return absl::InvalidArgumentError(absl::StrCat(
            "--optimizer: expected sgd, momentum, adam or adagrad, got '",
            value, "'"));
      }
      f.optimizer = value;
    } else if (arg == "--lr" || arg == "--momentum") {
      double v = 0;
      if (!absl::SimpleAtod(value, &v) || !std::isfinite(v) || v < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            arg, ": expected a number of at least 0, got '", value, "'"));
      }
      (arg == "--lr" ? f.lr : f.momentum) = v;
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
  std::string node = name;
  int index = 0;
  const size_t colon = name.rfind(':');
  if (colon != std::string::npos) {
    if (!absl::SimpleAtoi(name.substr(colon + 1), &index) || index < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": '", name, "' is not NODE or NODE:INDEX"));
    }
    node = name.substr(0, colon);
  }
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

std::unique_ptr<Optimizer> MakeMinimizeOptimizer(const MinimizeFlags& f) {
  if (f.optimizer == "momentum") {
    return std::make_unique<MomentumOptimizer>(f.lr, f.momentum);
  }
  if (f.optimizer == "adam") return std::make_unique<AdamOptimizer>(f.lr);
  if (f.optimizer == "adagrad") return std::make_unique<AdagradOptimizer>(f.lr);
  return std::make_unique<GradientDescentOptimizer>(f.lr);
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
  std::unique_ptr<Optimizer> optimizer = MakeMinimizeOptimizer(f);
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
