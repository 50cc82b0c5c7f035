// Fuzz target: a GraphDef from untrusted bytes, as `rill inspect`, `rill
// run` and CreateSession take one. The first byte chooses the text or the
// binary format; the rest is parsed, imported with full validation, shape
// inferred, written back and imported again. Any input must end in a
// status, never a crash, an abort or a runaway allocation.
#include <cstddef>
#include <cstdint>

#include "core/framework/allocator.h"
#include "core/graph/graph_import.h"
#include "core/graph/graph_io.h"
#include "core/graph/shape_refiner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // What a server would allow one step; a graph asking for more must fail
  // cleanly.
  rill::CpuAllocator()->set_limit(int64_t{256} << 20);
  const rill::GraphFormat format =
      data[0] % 2 == 0 ? rill::GraphFormat::kText : rill::GraphFormat::kBinary;
  absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  absl::StatusOr<::tensorflow::GraphDef> def =
      rill::ParseGraphDef(bytes, format, "fuzz input");
  if (!def.ok()) return 0;
  absl::StatusOr<std::unique_ptr<rill::Graph>> graph =
      rill::ImportGraphDef(*def);
  if (!graph.ok()) return 0;
  (void)rill::InferShapes(**graph);
  ::tensorflow::GraphDef again;
  (*graph)->ToGraphDef(&again);
  (void)rill::ImportGraphDef(again);
  return 0;
}
