// The directory a server's file ops (SaveV2, RestoreV2,
// MergeV2Checkpoints, PrintV2 to a file) may touch: `rill server
// --file_root DIR` (SPEC 10). A path is judged after `..` and symbolic
// links are resolved, so neither leads out. Without a root (rill run, the
// library) every path is allowed.
#ifndef RILL_CORE_PLATFORM_FILE_ROOT_H_
#define RILL_CORE_PLATFORM_FILE_ROOT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rill {

// Sets the process's file root: an existing directory (INVALID_ARGUMENT
// naming it otherwise). An empty `dir` removes the root.
absl::Status SetFileRoot(const std::string& dir);
// The root as resolved, or "" when there is none.
std::string FileRoot();

// `path` made absolute with `..`, `.` and links resolved (the parts that do
// not exist yet taken as written).
absl::StatusOr<std::string> ResolvePath(const std::string& path);

// OK when `path` lies under the root (or there is no root);
// PERMISSION_DENIED naming the path and the root otherwise. Nothing about
// the path is revealed beyond that.
absl::Status CheckUnderFileRoot(const std::string& path);

}  // namespace rill

#endif  // RILL_CORE_PLATFORM_FILE_ROOT_H_
