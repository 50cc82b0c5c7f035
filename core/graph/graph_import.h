// GraphDef -> Graph, with full validation.
//
// Every problem is reported as a Status naming the node and, where it
// applies, the input: unknown ops, bad or missing attrs (defaults are filled
// first), malformed, dangling or duplicated input names, control inputs
// before data inputs, input counts and dtypes that do not fit the op
// (ref inputs included), duplicate node names, and cycles.
#ifndef RILL_CORE_GRAPH_GRAPH_IMPORT_H_
#define RILL_CORE_GRAPH_GRAPH_IMPORT_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "core/graph/graph.h"
#include "core/protos/graph.pb.h"

namespace rill {

struct ImportOptions {
  // Graphs with more nodes are rejected (RESOURCE_EXHAUSTED) before any
  // work is done.
  int64_t max_nodes = 10'000'000;
  const OpRegistry* registry = OpRegistry::Global();
};

// Takes the GraphDef by value: pass it with std::move when it is not needed
// afterwards, and its nodes move into the graph instead of being copied.
absl::StatusOr<std::unique_ptr<Graph>> ImportGraphDef(
    ::tensorflow::GraphDef def, const ImportOptions& options = {});

// A parsed input reference: "node", "node:3" or "^node". `node` views the
// parsed string, which must outlive it.
struct InputRef {
  absl::string_view node;
  int index = 0;  // kControlSlot for "^node".
};
absl::StatusOr<InputRef> ParseInputRef(absl::string_view input);

}  // namespace rill

#endif  // RILL_CORE_GRAPH_GRAPH_IMPORT_H_
