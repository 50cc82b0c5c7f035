#include "runtime/executor/function.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/framework/node_def_util.h"
#include "core/graph/graph_import.h"
#include "core/platform/status_macros.h"
#include "runtime/device/device.h"

namespace rill {
namespace {

const ::tensorflow::FunctionDef* Find(
    const ::tensorflow::FunctionDefLibrary& library, const std::string& name) {
  for (const auto& f : library.function()) {
    if (f.signature().name() == name) return &f;
  }
  return nullptr;
}

// How many tensors each output arg of `node` stands for, by name, in order.
absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> OutputArgSizes(
    const ::tensorflow::NodeDef& node) {
  ASSIGN_OR_RETURN(const OpRegistrationData* op,
                   OpRegistry::Global()->LookUp(node.op()));
  AttrMap attrs(node.attr().begin(), node.attr().end());
  AddDefaultAttrs(op->op_def, &attrs);
  std::vector<std::pair<std::string, int64_t>> sizes;
  for (const auto& arg : op->op_def.output_arg()) {
    int64_t n = 1;
    if (!arg.number_attr().empty()) {
      auto it = attrs.find(arg.number_attr());
      n = it == attrs.end() ? -1 : it->second.i();
    } else if (!arg.type_list_attr().empty()) {
      auto it = attrs.find(arg.type_list_attr());
      n = it == attrs.end() ? -1 : it->second.list().type_size();
    }
    if (n < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "node '", node.name(), "' (", node.op(),
          ") lacks the attr that sizes its output '", arg.name(), "'"));
    }
    sizes.emplace_back(arg.name(), n);
  }
  return sizes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Graph>> InstantiateFunction(
    const ::tensorflow::FunctionDefLibrary& library, const std::string& name) {
  const ::tensorflow::FunctionDef* f = Find(library, name);
  if (f == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("function '", name, "' is not in the graph's library"));
  }
  const std::string where = absl::StrCat("function '", name, "': ");
  ::tensorflow::GraphDef def;
  *def.mutable_library() = library;
  const auto& sig = f->signature();
  for (int i = 0; i < sig.input_arg_size(); ++i) {
    const auto& arg = sig.input_arg(i);
    if (arg.type() == ::tensorflow::DT_INVALID) {
      return absl::UnimplementedError(absl::StrCat(
          where, "input '", arg.name(),
          "' has a polymorphic type; only concrete functions run"));
    }
    ::tensorflow::NodeDef* n = def.add_node();
    n->set_name(arg.name());
    n->set_op("_Arg");
    (*n->mutable_attr())["T"] = MakeAttr(arg.type());
    (*n->mutable_attr())["index"] = MakeAttr(i);
  }
  // Node name -> its output args' flat offsets and sizes.
  absl::flat_hash_map<std::string, std::vector<std::pair<std::string, int64_t>>>
      outputs;
  for (const auto& node : f->node_def()) {
    auto sizes = OutputArgSizes(node);
    if (!sizes.ok()) {
      return absl::Status(sizes.status().code(),
                          absl::StrCat(where, "node '", node.name(),
                                       "': ", sizes.status().message()));
    }
    outputs[node.name()] = *std::move(sizes);
  }
  // "arg", "node:out_arg:index" or "^node" -> the graph's form.
  auto resolve = [&](const std::string& in) -> absl::StatusOr<std::string> {
    if (!in.empty() && in[0] == '^') return in;
    std::vector<std::string> parts = absl::StrSplit(in, ':');
    if (parts.size() == 1) return absl::StrCat(in, ":0");  // An argument.
    int64_t index = 0;
    auto it = outputs.find(parts[0]);
    if (parts.size() != 3 || it == outputs.end() ||
        !absl::SimpleAtoi(parts[2], &index) || index < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "input '", in, "' names no output of the body"));
    }
    int64_t offset = 0;
    for (const auto& [arg, size] : it->second) {
      if (arg == parts[1] && index < size) {
        return absl::StrCat(parts[0], ":", offset + index);
      }
      offset += size;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        where, "input '", in, "' names no output of node '", parts[0], "'"));
  };
  for (const auto& node : f->node_def()) {
    ::tensorflow::NodeDef* n = def.add_node();
    *n = node;
    n->clear_input();
    for (const std::string& in : node.input()) {
      ASSIGN_OR_RETURN(*n->add_input(), resolve(in));
    }
    for (const auto& [attr, value] : node.attr()) {
      if (!value.placeholder().empty()) {
        return absl::UnimplementedError(
            absl::StrCat(where, "node '", node.name(), "' has attr '", attr,
                         "' bound at the call; only concrete functions run"));
      }
    }
  }
  for (int i = 0; i < sig.output_arg_size(); ++i) {
    const auto& arg = sig.output_arg(i);
    auto ret = f->ret().find(arg.name());
    if (ret == f->ret().end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "output '", arg.name(), "' is never set"));
    }
    ::tensorflow::NodeDef* n = def.add_node();
    n->set_name(absl::StrCat("retval>", i));  // ">" keeps it apart.
    n->set_op("_Retval");
    ASSIGN_OR_RETURN(*n->add_input(), resolve(ret->second));
    (*n->mutable_attr())["T"] = MakeAttr(arg.type());
    (*n->mutable_attr())["index"] = MakeAttr(i);
  }
  absl::StatusOr<std::unique_ptr<Graph>> graph = ImportGraphDef(std::move(def));
  if (!graph.ok()) {
    return absl::Status(graph.status().code(),
                        absl::StrCat(where, graph.status().message()));
  }
  return graph;
}

absl::StatusOr<std::unique_ptr<FunctionBody>> FunctionBody::ForAttr(
    OpKernelConstruction* c, const std::string& attr) {
  const FunctionEnv* env = c->functions();
  const std::string node = c->node().name();
  if (env == nullptr || env->library == nullptr || env->device == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "node '", node, "' calls a function but has no function library"));
  }
  if (env->depth >= kMaxFunctionDepth) {
    return absl::InvalidArgumentError(absl::StrCat(
        "node '", node, "': function calls nested more than ",
        kMaxFunctionDepth, " deep (does a function call itself?)"));
  }
  auto it = c->attrs().find(attr);
  if (it == c->attrs().end() || it->second.func().name().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("node '", node, "' names no function in '", attr, "'"));
  }
  auto body = std::make_unique<FunctionBody>();
  body->name_ = it->second.func().name();
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph,
                   InstantiateFunction(*env->library, body->name_));
  for (const Node* n : graph->nodes()) {
    if (n->op() == "_Retval") ++body->num_results_;
  }
  absl::StatusOr<std::unique_ptr<Executor>> executor =
      Executor::Create(std::move(graph), env->device, env->depth + 1);
  if (!executor.ok()) {
    return absl::Status(
        executor.status().code(),
        absl::StrCat("node '", node, "', function '", body->name_,
                     "': ", executor.status().message()));
  }
  body->executor_ = *std::move(executor);
  return body;
}

namespace {

// The arguments and results of one call.
class Frame : public CallFrame {
 public:
  Frame(std::vector<TensorValue> args, int num_results)
      : args_(std::move(args)), results_(num_results) {}

  absl::StatusOr<Tensor> GetArg(int index) const override {
    ASSIGN_OR_RETURN(TensorValue v, GetArgValue(index));
    if (v.is_ref()) {
      absl::MutexLock lock(v.mu);
      return *v.ref;
    }
    return v.value;
  }
  absl::StatusOr<TensorValue> GetArgValue(int index) const override {
    if (index < 0 || index >= static_cast<int>(args_.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("the function has no argument ", index, " (",
                       args_.size(), " passed)"));
    }
    return args_[index];
  }
  absl::Status SetRetval(int index, const Tensor& value) override {
    TensorValue v;
    v.value = value;
    return SetRetvalValue(index, v);
  }
  absl::Status SetRetvalValue(int index, const TensorValue& value) override {
    if (index < 0 || index >= static_cast<int>(results_.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("the function has no result ", index));
    }
    results_[index] = value;
    return absl::OkStatus();
  }
  std::vector<TensorValue> TakeResults() { return std::move(results_); }

 private:
  const std::vector<TensorValue> args_;
  std::vector<TensorValue> results_;
};

}  // namespace

void FunctionBody::Call(OpKernelContext* ctx, std::vector<TensorValue> args,
                        Done done) const {
  auto* frame = new Frame(std::move(args), num_results_);
  Executor::Args run;
  run.step_id = ctx->step_id();
  run.call_frame = frame;
  run.rendezvous = ctx->rendezvous();
  run.collectives = ctx->collectives();
  run.cancellation = ctx->cancellation();
  if (ctx->runner() != nullptr) {
    run.runner = *ctx->runner();
  } else {
    run.runner = [](std::function<void()> fn) { fn(); };
  }
  executor_->RunAsync(
      run, [frame, done = std::move(done), name = name_](absl::Status s) {
        std::vector<TensorValue> results = frame->TakeResults();
        delete frame;
        if (!s.ok()) {
          s = absl::Status(s.code(), absl::StrCat("in function '", name,
                                                  "': ", s.message()));
        }
        done(std::move(s), std::move(results));
      });
}

absl::StatusOr<std::vector<Tensor>> FunctionBody::CallInline(
    std::vector<Tensor> args, int64_t step_id) const {
  std::vector<TensorValue> values(args.size());
  for (size_t i = 0; i < args.size(); ++i) values[i].value = std::move(args[i]);
  Frame frame(std::move(values), num_results_);
  Executor::Args run;
  run.step_id = step_id;
  run.call_frame = &frame;
  run.runner = [](std::function<void()> fn) { fn(); };
  absl::Status s = executor_->Run(run);
  if (!s.ok()) {
    return absl::Status(
        s.code(), absl::StrCat("in function '", name_, "': ", s.message()));
  }
  std::vector<Tensor> results;
  for (TensorValue& v : frame.TakeResults()) {
    if (v.is_ref()) {
      absl::MutexLock lock(v.mu);
      results.push_back(*v.ref);
    } else {
      results.push_back(std::move(v.value));
    }
  }
  return results;
}

TensorValue InputValue(OpKernelContext* ctx, int i) {
  TensorValue v;
  if (ctx->input_is_ref(i)) {
    v.ref = ctx->mutable_input(i);
    v.mu = ctx->input_ref_mutex(i);
  } else {
    v.value = ctx->input(i);
  }
  return v;
}

void SetOutputValue(OpKernelContext* ctx, int i, TensorValue v) {
  if (v.is_ref()) {
    ctx->set_output_ref(i, v.mu, v.ref, v.ref_name);
  } else {
    ctx->set_output(i, std::move(v.value));
  }
}

}  // namespace rill
