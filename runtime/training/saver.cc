#include "runtime/training/saver.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/cc/ops.h"
#include "core/platform/status_macros.h"
#include "runtime/training/checkpoint_file.h"

namespace rill {
namespace {

constexpr char kStateFile[] = "checkpoint";

std::string BaseOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The checkpoint paths listed in dir/checkpoint, oldest first (relative
// entries made relative to dir); empty when there is no such file.
std::vector<std::string> ReadState(const std::string& dir,
                                   std::string* latest) {
  std::ifstream in(dir + "/" + kStateFile);
  std::vector<std::string> all;
  std::string line;
  auto value_of = [&dir](absl::string_view v) {
    v = absl::StripAsciiWhitespace(v);
    if (!absl::ConsumePrefix(&v, "\"") || !absl::ConsumeSuffix(&v, "\"")) {
      return std::string();
    }
    std::string path;
    if (!absl::CUnescape(v, &path)) return std::string();
    return path.empty() || path[0] == '/' ? path : dir + "/" + path;
  };
  while (std::getline(in, line)) {
    absl::string_view l = line;
    if (absl::ConsumePrefix(&l, "model_checkpoint_path:")) {
      *latest = value_of(l);
    } else if (absl::ConsumePrefix(&l, "all_model_checkpoint_paths:")) {
      std::string p = value_of(l);
      if (!p.empty()) all.push_back(p);
    }
  }
  return all;
}

// Replaces dir/checkpoint atomically.
absl::Status WriteState(const std::string& dir,
                        const std::vector<std::string>& kept) {
  std::string text;
  auto entry = [&dir](const std::string& p) {
    const std::string rel =
        DirectoryOf(p) == dir ? BaseOf(p) : p;  // Relative inside dir.
    return absl::StrCat("\"", absl::CEscape(rel), "\"");
  };
  absl::StrAppend(&text, "model_checkpoint_path: ", entry(kept.back()), "\n");
  for (const std::string& p : kept) {
    absl::StrAppend(&text, "all_model_checkpoint_paths: ", entry(p), "\n");
  }
  const std::string path = dir + "/" + kStateFile;
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot create ", tmp, ": ", std::strerror(errno)));
  }
  const bool written = ::write(fd, text.data(), text.size()) ==
                           static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", err));
  }
  return absl::OkStatus();
}

// Removes the temporary files that writers killed during a save left in
// dir (of a process no longer running).
void RemoveAbandonedTemporaries(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    int pid = 0;
    // A checkpoint's files being written, or the list's ("checkpoint.tmp.PID").
    const absl::string_view list_tmp = ".tmp.";
    const bool of_list =
        absl::StartsWith(name, absl::StrCat(kStateFile, list_tmp)) &&
        absl::SimpleAtoi(name.substr(strlen(kStateFile) + list_tmp.size()),
                         &pid) &&
        pid > 0;
    if (!of_list && !IsCheckpointTemporary(name, &pid)) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
      ::unlink(absl::StrCat(dir, "/", name).c_str());
    }
  }
  ::closedir(d);
}

// The global step a checkpoint's name ends with ("model-120": 120), or -1.
int64_t StepOf(const std::string& path) {
  const size_t dash = path.rfind('-');
  int64_t step;
  if (dash == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(path).substr(dash + 1), &step) ||
      step < 0) {
    return -1;
  }
  return step;
}

// Modification time of the checkpoint's index file (0 when it is gone).
int64_t IndexTime(const std::string& path) {
  struct stat st;
  if (::stat(absl::StrCat(path, ".index").c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
         st.st_mtim.tv_nsec;
}

}  // namespace

std::vector<std::string> CheckpointsNewestFirst(const std::string& dir) {
  std::vector<std::string> all = ListedCheckpoints(dir);
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      absl::string_view name = e->d_name;
      if (!absl::ConsumeSuffix(&name, ".index") || name.empty()) continue;
      const std::string path = absl::StrCat(dir, "/", name);
      if (std::find(all.begin(), all.end(), path) == all.end()) {
        all.push_back(path);
      }
    }
    ::closedir(d);
  }
  // Listed ones first kept their order (oldest first): a stable sort by
  // step, then by time, newest first.
  std::stable_sort(all.begin(), all.end(),
                   [](const std::string& a, const std::string& b) {
                     const int64_t sa = StepOf(a), sb = StepOf(b);
                     if (sa != sb) return sa > sb;
                     return IndexTime(a) > IndexTime(b);
                   });
  return all;
}

absl::StatusOr<std::unique_ptr<Saver>> Saver::Create(
    const Scope& scope, const SaverOptions& options) {
  RETURN_IF_ERROR(scope.status());
  std::vector<Output> vars = options.var_list;
  if (vars.empty()) {
    for (Node* n : scope.graph()->nodes()) {
      if (n->op() == "VariableV2" || n->op() == "VarHandleOp") {
        vars.emplace_back(n, 0);
      }
    }
  }
  if (vars.empty()) {
    return absl::InvalidArgumentError("Saver: the graph has no variables");
  }
  if ((!options.names.empty() && options.names.size() != vars.size()) ||
      (!options.slices.empty() && options.slices.size() != vars.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Saver: ", options.names.size(), " names and ", options.slices.size(),
        " slices for ", vars.size(), " variables"));
  }
  Scope s = scope.NewSubScope("save");
  std::vector<Var> info;
  std::vector<Output> values;
  std::vector<std::string> names;
  for (size_t i = 0; i < vars.size(); ++i) {
    const Output& v = vars[i];
    const Node* n = v.node();
    if (n == nullptr || (n->op() != "VariableV2" && n->op() != "VarHandleOp")) {
      return absl::InvalidArgumentError(
          absl::StrCat("Saver: '", n == nullptr ? "(null)" : n->name(),
                       "' is not a variable"));
    }
    Var var{options.names.empty() ? n->name() : options.names[i]};
    if (!options.slices.empty()) var.slice = options.slices[i];
    RETURN_IF_ERROR(GetAttr(n->attrs(), "dtype", &var.dtype));
    RETURN_IF_ERROR(GetAttr(n->attrs(), "shape", &var.shape));
    values.push_back(n->op() == "VarHandleOp"
                         ? Output(ops::ReadVariableOp(s, v, var.dtype))
                         : v);
    names.push_back(var.name);
    info.push_back(std::move(var));
  }
  // A name twice only as different slices of one tensor.
  for (size_t i = 0; i < info.size(); ++i) names[i] += "\n" + info[i].slice;
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) {
    return absl::InvalidArgumentError("Saver: a variable is listed twice");
  }
  names.clear();
  std::vector<std::string> slices;
  for (const Var& v : info) {
    names.push_back(v.name);
    slices.push_back(v.slice);
  }
  auto filename =
      ops::Placeholder(s.WithOpName("filename"), DT_STRING,
                       ops::Placeholder::Shape(PartialTensorShape({})));
  const int64_t n = static_cast<int64_t>(names.size());
  auto names_t =
      ops::Const(s.WithOpName("tensor_names"),
                 Tensor::FromVector<std::string>(names, TensorShape({n})));
  auto slices_t =
      ops::Const(s.WithOpName("shape_and_slices"),
                 Tensor::FromVector<std::string>(slices, TensorShape({n})));
  ops::SaveV2(s.WithOpName("SaveV2"), filename, names_t, slices_t, values);
  std::vector<DataType> dtypes;
  for (const Var& v : info) dtypes.push_back(v.dtype);
  auto restored = ops::RestoreV2(s.WithOpName("RestoreV2"), filename, names_t,
                                 slices_t, dtypes);
  std::vector<Operation> assigns;
  for (size_t i = 0; i < vars.size(); ++i) {
    Scope at = s.WithOpName("restore/" + info[i].name).ColocateWith(vars[i]);
    if (vars[i].node()->op() == "VarHandleOp") {
      assigns.push_back(
          ops::AssignVariableOp(at, vars[i], restored.tensors[i]).operation);
    } else {
      assigns.push_back(
          ops::Assign(at, vars[i], restored.tensors[i]).operation);
    }
  }
  ops::NoOp(s.WithOpName("restore_all").WithControlDependencies(assigns));
  RETURN_IF_ERROR(scope.status());
  return std::unique_ptr<Saver>(
      new Saver(std::move(info), options.max_to_keep));
}

absl::StatusOr<std::string> Saver::Save(SessionInterface* session,
                                        const std::string& prefix,
                                        int64_t global_step) {
  if (prefix.empty()) {
    return absl::InvalidArgumentError("Saver::Save needs a path prefix");
  }
  const std::string path =
      global_step >= 0 ? absl::StrCat(prefix, "-", global_step) : prefix;
  const std::string dir = DirectoryOf(path);
  if (!IsDirectory(dir)) {
    return absl::NotFoundError(absl::StrCat(
        "cannot save to ", path, ": directory ", dir, " does not exist"));
  }
  RETURN_IF_ERROR(
      session
          ->Run({{"save/filename", Tensor::Scalar<std::string>(path)}}, {},
                {"save/SaveV2"})
          .status());
  if (kept_dir_ != dir) {
    // Continue the list a previous process left in this directory, and
    // drop what a killed one left half-written.
    std::string latest;
    kept_ = ReadState(dir, &latest);
    kept_dir_ = dir;
    RemoveAbandonedTemporaries(dir);
    // A save killed after its files were in place but before the list
    // named them left a checkpoint of this prefix that nothing lists: kept
    // (so it is rotated away in turn), in step order.
    const std::vector<std::string> found = CheckpointsNewestFirst(dir);
    for (auto it = found.rbegin(); it != found.rend(); ++it) {
      if (StepOf(*it) >= 0 && it->substr(0, it->rfind('-')) == prefix &&
          std::find(kept_.begin(), kept_.end(), *it) == kept_.end()) {
        kept_.push_back(*it);
      }
    }
    std::stable_sort(kept_.begin(), kept_.end(),
                     [](const std::string& a, const std::string& b) {
                       return StepOf(a) < StepOf(b);
                     });
  }
  kept_.erase(std::remove(kept_.begin(), kept_.end(), path), kept_.end());
  kept_.push_back(path);
  std::vector<std::string> dropped;
  while (max_to_keep_ > 0 && static_cast<int>(kept_.size()) > max_to_keep_) {
    dropped.push_back(kept_.front());
    kept_.erase(kept_.begin());
  }
  RETURN_IF_ERROR(WriteState(dir, kept_));
  // Only once the list no longer names them.
  for (const std::string& old : dropped) DeleteCheckpoint(old);
  return path;
}

absl::Status Saver::Restore(SessionInterface* session,
                            const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<CheckpointReader> reader,
                   CheckpointReader::Open(path));
  for (const Var& v : vars_) {
    if (!reader->Contains(v.name)) {
      return absl::NotFoundError(absl::StrCat(
          "checkpoint ", path, " has no tensor for variable '", v.name, "'"));
    }
    // A slice, or a tensor saved in slices: RestoreV2 checks the shapes.
    auto it = reader->entries().find(v.name);
    if (!v.slice.empty() || it == reader->entries().end()) continue;
    if (it == reader->entries().end()) {
      return absl::NotFoundError(absl::StrCat(
          "checkpoint ", path, " has no tensor for variable '", v.name, "'"));
    }
    if (it->second.dtype != v.dtype) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint tensor '", v.name, "' is ",
                       DataTypeName(it->second.dtype), " but the variable is ",
                       DataTypeName(v.dtype)));
    }
    if (!v.shape.IsCompatibleWith(PartialTensorShape(it->second.shape))) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint tensor '", v.name, "' has shape ",
                       it->second.shape.DebugString(),
                       " but the variable has shape ", v.shape.DebugString()));
    }
  }
  return session
      ->Run({{"save/filename", Tensor::Scalar<std::string>(path)}}, {},
            {"save/restore_all"})
      .status();
}

std::vector<std::string> ListedCheckpoints(const std::string& dir) {
  std::string latest;
  return ReadState(dir, &latest);
}

absl::StatusOr<std::string> LatestCheckpoint(const std::string& dir) {
  std::string latest;
  ReadState(dir, &latest);
  if (latest.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no checkpoint is listed in ", dir, "/", kStateFile));
  }
  if (::access(CheckpointFileOf(latest).c_str(), R_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("the latest checkpoint ", latest,
                                            " listed in ", dir, "/", kStateFile,
                                            " is missing"));
  }
  return latest;
}

absl::StatusOr<std::string> RestoreNewestIntact(
    const std::string& dir,
    const std::function<absl::Status(const std::string&)>& restore,
    const std::function<void(const std::string&, const absl::Status&)>&
        skipped) {
  const std::vector<std::string> candidates = CheckpointsNewestFirst(dir);
  absl::Status newest_fault;
  for (const std::string& path : candidates) {
    absl::Status s = restore(path);
    if (s.ok()) return path;
    if (!absl::IsDataLoss(s) && !absl::IsNotFound(s) &&
        !absl::IsInvalidArgument(s)) {
      return s;
    }
    if (newest_fault.ok()) newest_fault = s;
    if (skipped != nullptr) skipped(path, s);
  }
  if (candidates.empty()) return std::string();
  return absl::DataLossError(absl::StrCat(
      "none of the ", candidates.size(), " checkpoints in ", dir,
      " restores (the newest, ", candidates.front(), ": ",
      newest_fault.message(), "); move them away to start afresh"));
}

}  // namespace rill
