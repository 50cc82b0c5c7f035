// The graph of one step, shared by the in-process Session and the
// distributed master: the part of a session's graph that the fetches and
// targets need (pruned backwards, stopping at fed tensors), with each fed
// tensor replaced by an _Arg node (index i for feeds[i]) and each fetch
// read by a _Retval node (index i for fetches[i]).
#ifndef RILL_RUNTIME_SESSION_STEP_GRAPH_H_
#define RILL_RUNTIME_SESSION_STEP_GRAPH_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/graph/graph.h"

namespace rill {

// "x" -> ("x", 0); "x:2" -> ("x", 2). INVALID_ARGUMENT naming `what`
// ("feed", "fetch") for "^x" or junk.
absl::StatusOr<std::pair<std::string, int>> ParseTensorName(
    const std::string& name, absl::string_view what);
// "x:0" for ("x", 0).
std::string Canonical(const std::pair<std::string, int>& t);
std::vector<std::string> SortedUnique(std::vector<std::string> v);

// NOT_FOUND naming a feed, fetch or target that names no node;
// INVALID_ARGUMENT for an output index out of range.
absl::StatusOr<std::unique_ptr<Graph>> BuildStepGraph(
    const Graph& graph, const std::vector<std::string>& feeds,
    const std::vector<std::string>& fetches,
    const std::vector<std::string>& targets);

}  // namespace rill

#endif  // RILL_RUNTIME_SESSION_STEP_GRAPH_H_
