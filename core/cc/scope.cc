#include "core/cc/scope.h"

#include "absl/strings/str_cat.h"

namespace rill {

Scope Scope::NewRootScope() {
  auto shared = std::make_shared<Shared>();
  shared->graph = std::make_unique<Graph>();
  // The GraphDef version TensorFlow 2.x writes for v1 graphs.
  shared->graph->mutable_versions()->set_producer(1994);
  return Scope(std::move(shared));
}

std::string Scope::UniqueName(const std::string& full) const {
  int& count = shared_->name_counts[full];
  std::string name = full;
  // Skip suffixes that a node with an explicit name already took.
  while (true) {
    if (count > 0) name = absl::StrCat(full, "_", count);
    ++count;
    if (shared_->graph->FindNode(name) == nullptr &&
        (name == full || !shared_->name_counts.contains(name))) {
      break;
    }
  }
  if (name != full) shared_->name_counts[name] = 1;
  return name;
}

Scope Scope::NewSubScope(const std::string& child) const {
  Scope s = *this;
  s.op_name_.clear();
  if (child.empty()) return s;
  s.prefix_ =
      UniqueName(prefix_.empty() ? child : absl::StrCat(prefix_, "/", child));
  return s;
}

Scope Scope::WithOpName(const std::string& name) const {
  Scope s = *this;
  s.op_name_ = name;
  return s;
}

Scope Scope::WithDevice(const std::string& device) const {
  Scope s = *this;
  s.device_ = device;
  return s;
}

Scope Scope::WithControlDependencies(const std::vector<Operation>& deps) const {
  Scope s = *this;
  s.control_deps_.insert(s.control_deps_.end(), deps.begin(), deps.end());
  return s;
}

Scope Scope::WithNoControlDependencies() const {
  Scope s = *this;
  s.control_deps_.clear();
  return s;
}

Scope Scope::ColocateWith(const Operation& op) const {
  Scope s = *this;
  // Colocating with a node that is itself colocated joins its group.
  std::vector<std::string> group;
  if (GetAttr(op.node()->attrs(), "_class", &group).ok() && !group.empty()) {
    s.colocate_ = group[0];
  } else {
    s.colocate_ = absl::StrCat("loc:@", op.name());
  }
  return s;
}

void Scope::UpdateStatus(const absl::Status& s) const {
  if (shared_->status.ok() && !s.ok()) shared_->status = s;
}

std::string Scope::GetUniqueNameForOp(const std::string& default_name) const {
  const std::string& base = op_name_.empty() ? default_name : op_name_;
  return UniqueName(prefix_.empty() ? base : absl::StrCat(prefix_, "/", base));
}

absl::Status Scope::ToGraphDef(::tensorflow::GraphDef* out) const {
  if (!ok()) return status();
  shared_->graph->ToGraphDef(out);
  return absl::OkStatus();
}

}  // namespace rill
