#include "runtime/placement/placer.h"

#include <numeric>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

class UnionFind {
 public:
  explicit UnionFind(int n) : parent_(n) {
    std::iota(parent_.begin(), parent_.end(), 0);
  }
  int Find(int x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }
  void Union(int a, int b) { parent_[Find(a)] = Find(b); }

 private:
  std::vector<int> parent_;
};

bool IsRefOrResource(DataType t) { return IsRefType(t) || t == DT_RESOURCE; }

// True for a node with a ref or resource input (it uses a variable).
bool TakesVariable(const Node& node) {
  for (int i = 0; i < node.num_inputs(); ++i) {
    if (IsRefOrResource(node.input_type(i))) return true;
  }
  return false;
}

}  // namespace

absl::Status PlaceGraph(Graph* graph, const std::vector<Device*>& devices,
                        const PlacerOptions& options) {
  if (devices.empty())
    return absl::InvalidArgumentError("no devices to place on");
  const int n = graph->num_nodes();
  UnionFind groups(n);
  for (Node* node : graph->nodes()) {
    std::vector<std::string> classes;
    if (GetAttr(node->attrs(), "_class", &classes).ok()) {
      for (const std::string& c : classes) {
        if (!absl::StartsWith(c, "loc:@")) continue;
        const Node* other = graph->FindNode(c.substr(5));
        if (other != nullptr) groups.Union(node->id(), other->id());
      }
    }
    for (int i = 0; i < node->num_inputs(); ++i) {
      const Edge* e = node->input_edge(i);
      // Only consumers that take the ref (or resource) itself must be with
      // the variable; a plain read may happen anywhere.
      if (e != nullptr && IsRefOrResource(node->input_type(i))) {
        groups.Union(node->id(), e->src->id());
      }
    }
  }

  std::vector<std::vector<Node*>> members(n);
  for (Node* node : graph->nodes())
    members[groups.Find(node->id())].push_back(node);

  std::vector<std::string> all_names;
  for (Device* d : devices) all_names.push_back(d->name());

  for (const std::vector<Node*>& group : members) {
    if (group.empty()) continue;
    // The merged request of every member. A node that takes a variable
    // (a ref or resource input) goes where the variable is: its own request
    // yields when it disagrees with the variable's side of the group, as
    // in TensorFlow (replica_device_setter pins a global step's
    // AssignAddVariableOp to the worker; it runs on the ps). So does one
    // that disagrees with an earlier taker when the resource asks for no
    // device (a TensorArray's read pinned elsewhere than its writes goes
    // with them, as TensorFlow places it).
    DeviceName request;
    const Node* requester = nullptr;
    for (const bool consumers : {false, true}) {
      for (const Node* node : group) {
        if (node->requested_device().empty() ||
            TakesVariable(*node) != consumers) {
          continue;
        }
        absl::StatusOr<DeviceName> r =
            DeviceName::Parse(node->requested_device());
        if (!r.ok()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "node '", node->name(), "': ", r.status().message()));
        }
        DeviceName merged_request = request;
        absl::Status merged = merged_request.MergeFrom(*r);
        if (!merged.ok()) {
          if (consumers && requester != nullptr) continue;
          return absl::InvalidArgumentError(absl::StrCat(
              "nodes '", requester->name(), "' and '", node->name(),
              "' must be on the same device but ask for different ones: ",
              merged.message()));
        }
        request = merged_request;
        requester = node;
      }
    }
    auto supports_all = [&](const Device* d) {
      for (const Node* node : group) {
        if (!d->SupportsNode(*node)) return false;
      }
      return true;
    };
    const Device* chosen = nullptr;
    bool any_match = false;
    for (const Device* d : devices) {
      if (!d->parsed_name().Matches(request)) continue;
      any_match = true;
      if (supports_all(d)) {
        chosen = d;
        break;
      }
    }
    // Soft placement forgives a device type or index this task lacks (a
    // graph written for a GPU, run on a CPU), never a job or task mismatch.
    DeviceName task_part = request;
    task_part.has_type = task_part.has_id = false;
    bool task_matches = false;
    for (const Device* d : devices)
      task_matches |= d->parsed_name().Matches(task_part);
    if (chosen == nullptr && requester != nullptr && !any_match &&
        (!options.allow_soft_placement || !task_matches)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot place node '", requester->name(),
                       "': no device matches '", requester->requested_device(),
                       "'; the devices are ", absl::StrJoin(all_names, ", ")));
    }
    if (chosen == nullptr &&
        (options.allow_soft_placement || requester == nullptr)) {
      for (const Device* d : devices) {
        if (supports_all(d)) {
          chosen = d;
          break;
        }
      }
    }
    if (chosen == nullptr) {
      std::vector<std::string> names;
      for (const Node* node : group) {
        if (names.size() < 5)
          names.push_back(absl::StrCat(node->name(), " (", node->op(), ")"));
      }
      return absl::InvalidArgumentError(
          absl::StrCat("no device has kernels for all of the colocated nodes ",
                       absl::StrJoin(names, ", "),
                       requester != nullptr
                           ? absl::StrCat(" requested on '",
                                          requester->requested_device(), "'")
                           : ""));
    }
    for (Node* node : group) node->set_assigned_device(chosen->name());
  }
  return absl::OkStatus();
}

}  // namespace rill
