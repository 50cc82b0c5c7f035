// Reading and writing GraphDef files: binary (.pb) or text (.pbtxt), as
// TensorFlow writes them.
#ifndef RILL_CORE_GRAPH_GRAPH_IO_H_
#define RILL_CORE_GRAPH_GRAPH_IO_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/protos/graph.pb.h"

namespace rill {

enum class GraphFormat { kBinary, kText };

// The format a path's extension names: .pbtxt/.txt/.pbtext are text, every
// other extension binary.
GraphFormat FormatForPath(absl::string_view path);

// NOT_FOUND when the file cannot be read; INVALID_ARGUMENT, naming the file
// (and the line and column for text), when it does not parse as a GraphDef.
absl::StatusOr<::tensorflow::GraphDef> ReadGraphDef(absl::string_view path);
absl::StatusOr<::tensorflow::GraphDef> ParseGraphDef(absl::string_view bytes,
                                                     GraphFormat format,
                                                     absl::string_view what);

// Writes to a temporary file beside `path` and renames it into place, so a
// crash never leaves a half-written graph.
absl::Status WriteGraphDef(const ::tensorflow::GraphDef& def,
                           absl::string_view path, GraphFormat format);

}  // namespace rill

#endif  // RILL_CORE_GRAPH_GRAPH_IO_H_
