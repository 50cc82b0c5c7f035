#include "core/platform/file_root.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"

namespace rill {
namespace {

absl::Mutex root_mu;
std::string& Root() ABSL_EXCLUSIVE_LOCKS_REQUIRED(root_mu) {
  static std::string* const root = new std::string;
  return *root;
}

// realpath(3) of an existing path, or "".
std::string Real(const std::string& path) {
  char buffer[PATH_MAX];
  if (::realpath(path.c_str(), buffer) == nullptr) return "";
  return buffer;
}

}  // namespace

absl::StatusOr<std::string> ResolvePath(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("an empty path");
  if (path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("a path with a NUL byte");
  }
  std::string absolute = path;
  if (path[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof(cwd)) == nullptr) {
      return absl::InternalError("cannot read the working directory");
    }
    absolute = absl::StrCat(cwd, "/", path);
  }
  // The longest prefix that exists is resolved by the system (links
  // included); the rest, which cannot hold links, by hand.
  std::vector<std::string> parts =
      absl::StrSplit(absolute, '/', absl::SkipEmpty());
  size_t exists = parts.size();
  std::string base;
  for (;; --exists) {
    base = Real(absl::StrCat(
        "/", absl::StrJoin(parts.begin(), parts.begin() + exists, "/")));
    if (!base.empty() || exists == 0) break;
  }
  if (base.empty()) base = "/";
  std::vector<std::string> resolved =
      absl::StrSplit(base, '/', absl::SkipEmpty());
  for (size_t i = exists; i < parts.size(); ++i) {
    if (parts[i] == ".") continue;
    if (parts[i] == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    resolved.push_back(parts[i]);
  }
  return absl::StrCat("/", absl::StrJoin(resolved, "/"));
}

absl::Status SetFileRoot(const std::string& dir) {
  std::string real;
  if (!dir.empty()) {
    real = Real(dir);
    if (real.empty() || ::access(real.c_str(), X_OK) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--file_root: '", dir, "' is not a directory"));
    }
  }
  absl::MutexLock lock(&root_mu);
  Root() = real;
  return absl::OkStatus();
}

std::string FileRoot() {
  absl::MutexLock lock(&root_mu);
  return Root();
}

absl::Status CheckUnderFileRoot(const std::string& path) {
  const std::string root = FileRoot();
  if (root.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> resolved = ResolvePath(path);
  const bool inside =
      resolved.ok() && (*resolved == root || root == "/" ||
                        (resolved->size() > root.size() &&
                         resolved->compare(0, root.size(), root) == 0 &&
                         (*resolved)[root.size()] == '/'));
  if (inside) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("path '", path, "' is outside this server's file root '",
                   root, "' (--file_root)"));
}

}  // namespace rill
