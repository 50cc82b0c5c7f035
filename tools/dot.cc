#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/graph/graph_import.h"
#include "core/graph/graph_io.h"
#include "core/platform/status_macros.h"
#include "tools/commands.h"

namespace rill::tools {
namespace {

// Escapes a string for a double-quoted Graphviz label.
std::string Escape(const std::string& s) {
  return absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"\"", "\\\""}});
}

}  // namespace

// Works from the GraphDef alone, so graphs that do not validate (unknown
// ops, say) can still be drawn; inputs that name no node are left out.
absl::Status Dot(const Args& args, std::ostream& out) {
  if (args.size() != 1)
    return absl::InvalidArgumentError("usage: rill dot GRAPH");
  ASSIGN_OR_RETURN(::tensorflow::GraphDef def, ReadGraphDef(args[0]));
  absl::flat_hash_map<std::string, int> ids;
  for (int i = 0; i < def.node_size(); ++i) ids[def.node(i).name()] = i;

  out << "digraph rill {\n"
      << "  rankdir=TB;\n"
      << "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n";
  for (int i = 0; i < def.node_size(); ++i) {
    const auto& node = def.node(i);
    // Lines of the label are joined with Graphviz's own "\n" escape.
    std::string label =
        absl::StrCat(Escape(node.name()), "\\n", Escape(node.op()));
    if (!node.device().empty()) {
      absl::StrAppend(&label, "\\n", Escape(node.device()));
    }
    out << "  n" << i << " [label=\"" << label << "\"];\n";
  }
  for (int i = 0; i < def.node_size(); ++i) {
    for (const std::string& input : def.node(i).input()) {
      absl::StatusOr<InputRef> ref = ParseInputRef(input);
      if (!ref.ok()) continue;
      auto it = ids.find(ref->node);
      if (it == ids.end()) continue;
      out << "  n" << it->second << " -> n" << i;
      if (ref->index == kControlSlot) {
        out << " [style=dashed]";
      } else if (ref->index > 0) {
        out << " [label=\"" << ref->index << "\"]";
      }
      out << ";\n";
    }
  }
  out << "}\n";
  return absl::OkStatus();
}

absl::Status Convert(const Args& args, std::ostream& out) {
  if (args.size() != 2) {
    return absl::InvalidArgumentError("usage: rill convert IN OUT");
  }
  ASSIGN_OR_RETURN(::tensorflow::GraphDef def, ReadGraphDef(args[0]));
  const GraphFormat format = FormatForPath(args[1]);
  RETURN_IF_ERROR(WriteGraphDef(def, args[1], format));
  out << "wrote " << args[1] << " ("
      << (format == GraphFormat::kText ? "text" : "binary") << ", "
      << def.node_size() << " nodes)\n";
  return absl::OkStatus();
}

}  // namespace rill::tools
