#include "runtime/training/checkpoint_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/platform/crc32c.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

constexpr char kMagic[8] = {'R', 'I', 'L', 'L', 'C', 'K', 'P', '1'};
constexpr size_t kFooterSize = 8 + 4 + 8;

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  const int e = errno;
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(e));
  if (e == ENOENT) return absl::NotFoundError(message);
  if (e == ENOSPC) return absl::ResourceExhaustedError(message);
  if (e == EACCES || e == EPERM) return absl::PermissionDeniedError(message);
  return absl::InternalError(message);
}

// Appends fixed-size values to a byte string.
template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(v));
}

// Reads fixed-size values from an index, failing on a short one.
class Cursor {
 public:
  Cursor(const std::string& data) : data_(data) {}  // NOLINT
  template <typename T>
  bool Get(T* v) {
    if (data_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool GetBytes(size_t n, std::string* out) {
    if (data_.size() - pos_ < n) return false;
    out->assign(data_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  const std::string& data_;
  size_t pos_ = 0;
};

absl::Status WriteAll(int fd, const char* p, size_t n,
                      const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", path);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

bool ReadAt(int fd, void* buf, size_t n, uint64_t offset) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return true;
}

// A string tensor's elements as (length, bytes)*.
std::string EncodeStrings(const Tensor& t) {
  std::string out;
  for (const std::string& s : t.flat<std::string>()) {
    Put<uint64_t>(&out, s.size());
    out += s;
  }
  return out;
}

}  // namespace

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string CheckpointFileOf(const std::string& prefix) {
  return prefix + ".ckpt";
}

absl::Status WriteCheckpoint(
    const std::string& prefix,
    const std::vector<std::pair<std::string, Tensor>>& tensors) {
  absl::flat_hash_set<std::string> names;
  for (const auto& [name, t] : tensors) {
    if (name.empty()) {
      return absl::InvalidArgumentError("a checkpoint tensor needs a name");
    }
    if (!names.insert(name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor name '", name, "' appears twice"));
    }
    if (!t.IsInitialized()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", name, "' is uninitialized"));
    }
  }
  const std::string path = CheckpointFileOf(prefix);
  std::mt19937_64 rng(std::random_device{}());
  const std::string tmp =
      absl::StrCat(path, ".tmp.", ::getpid(), ".", rng() % 1000000007);
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", tmp);
  absl::Status s = [&]() -> absl::Status {
    RETURN_IF_ERROR(WriteAll(fd, kMagic, sizeof(kMagic), tmp));
    uint64_t offset = sizeof(kMagic);
    std::string index;
    Put<uint64_t>(&index, tensors.size());
    for (const auto& [name, t] : tensors) {
      std::string strings;
      const char* data;
      uint64_t size;
      if (t.dtype() == DT_STRING) {
        strings = EncodeStrings(t);
        data = strings.data();
        size = strings.size();
      } else {
        data = static_cast<const char*>(t.raw_data());
        size = t.TotalBytes();
      }
      RETURN_IF_ERROR(WriteAll(fd, data, size, tmp));
      Put<uint32_t>(&index, name.size());
      index += name;
      Put<int32_t>(&index, t.dtype());
      Put<uint32_t>(&index, t.dims());
      for (int d = 0; d < t.dims(); ++d) Put<int64_t>(&index, t.dim_size(d));
      Put<uint64_t>(&index, offset);
      Put<uint64_t>(&index, size);
      Put<uint32_t>(&index, Crc32c(data, size));
      offset += size;
    }
    std::string footer;
    Put<uint64_t>(&footer, offset);
    Put<uint32_t>(&footer, Crc32c(index.data(), index.size()));
    footer.append(kMagic, sizeof(kMagic));
    RETURN_IF_ERROR(WriteAll(fd, index.data(), index.size(), tmp));
    RETURN_IF_ERROR(WriteAll(fd, footer.data(), footer.size(), tmp));
    if (::fsync(fd) != 0) return ErrnoError("cannot fsync", tmp);
    return absl::OkStatus();
  }();
  if (::close(fd) != 0 && s.ok()) s = ErrnoError("cannot close", tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = ErrnoError(absl::StrCat("cannot rename ", tmp, " to"), path);
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // The rename is durable once the directory is.
  const std::string dir = DirectoryOf(path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CheckpointReader>> CheckpointReader::Open(
    const std::string& prefix) {
  const std::string path = CheckpointFileOf(prefix);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open checkpoint", path);
  std::unique_ptr<CheckpointReader> reader(new CheckpointReader(path, fd));
  auto corrupt = [&path](const std::string& what) {
    return absl::DataLossError(
        absl::StrCat("checkpoint ", path, " is corrupt: ", what));
  };
  const off_t end = ::lseek(fd, 0, SEEK_END);
  if (end < static_cast<off_t>(sizeof(kMagic) + kFooterSize)) {
    return corrupt("too short");
  }
  char magic[8];
  char footer[kFooterSize];
  if (!ReadAt(fd, magic, 8, 0) ||
      !ReadAt(fd, footer, kFooterSize, end - kFooterSize)) {
    return corrupt("cannot read the header and footer");
  }
  if (std::memcmp(magic, kMagic, 8) != 0 ||
      std::memcmp(footer + 12, kMagic, 8) != 0) {
    return corrupt("not a Rill checkpoint (bad magic)");
  }
  uint64_t index_offset;
  uint32_t index_crc;
  std::memcpy(&index_offset, footer, 8);
  std::memcpy(&index_crc, footer + 8, 4);
  const uint64_t index_end = static_cast<uint64_t>(end) - kFooterSize;
  if (index_offset < sizeof(kMagic) || index_offset > index_end) {
    return corrupt("bad index offset");
  }
  std::string index(index_end - index_offset, '\0');
  if (!ReadAt(fd, index.data(), index.size(), index_offset)) {
    return corrupt("cannot read the index");
  }
  if (Crc32c(index.data(), index.size()) != index_crc) {
    return corrupt("the index fails its checksum");
  }
  Cursor c(index);
  uint64_t count;
  if (!c.Get(&count)) return corrupt("short index");
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t name_len, rank;
    int32_t dtype;
    std::string name;
    Entry e;
    if (!c.Get(&name_len) || !c.GetBytes(name_len, &name) || !c.Get(&dtype) ||
        !c.Get(&rank) || rank > 64) {
      return corrupt("short index entry");
    }
    std::vector<int64_t> dims(rank);
    for (uint32_t d = 0; d < rank; ++d) {
      if (!c.Get(&dims[d])) return corrupt("short index entry");
    }
    if (!c.Get(&e.offset) || !c.Get(&e.size) || !c.Get(&e.crc)) {
      return corrupt("short index entry");
    }
    if (!::tensorflow::DataType_IsValid(dtype)) {
      return corrupt(absl::StrCat("tensor '", name, "' has dtype ", dtype));
    }
    e.dtype = static_cast<DataType>(dtype);
    absl::StatusOr<TensorShape> shape = TensorShape::Create(dims);
    if (!shape.ok()) {
      return corrupt(
          absl::StrCat("tensor '", name, "': ", shape.status().message()));
    }
    e.shape = *shape;
    if (e.offset < sizeof(kMagic) || e.offset > index_offset ||
        e.size > index_offset - e.offset) {
      return corrupt(absl::StrCat("tensor '", name, "' lies outside the data"));
    }
    if (e.dtype != DT_STRING &&
        e.size != static_cast<uint64_t>(e.shape.num_elements()) *
                      DataTypeSize(e.dtype)) {
      return corrupt(absl::StrCat("tensor '", name, "' has ", e.size,
                                  " bytes for shape ", e.shape.DebugString()));
    }
    if (!reader->entries_.emplace(name, std::move(e)).second) {
      return corrupt(absl::StrCat("tensor '", name, "' appears twice"));
    }
  }
  if (!c.done()) return corrupt("trailing bytes after the index");
  return reader;
}

CheckpointReader::~CheckpointReader() { ::close(fd_); }

absl::StatusOr<Tensor> CheckpointReader::Read(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return absl::NotFoundError(
        absl::StrCat("checkpoint ", path_, " has no tensor '", name, "'"));
  }
  const Entry& e = it->second;
  auto bad = [&](const std::string& what) {
    return absl::DataLossError(
        absl::StrCat("checkpoint ", path_, ": tensor '", name, "' ", what));
  };
  ASSIGN_OR_RETURN(Tensor t, Tensor::Create(e.dtype, e.shape));
  std::string strings;
  char* dst = static_cast<char*>(t.raw_data());
  if (e.dtype == DT_STRING) {
    strings.resize(e.size);
    dst = strings.data();
  }
  if (e.size > 0 && !ReadAt(fd_, dst, e.size, e.offset)) {
    return bad("cannot be read");
  }
  if (Crc32c(dst, e.size) != e.crc) return bad("fails its checksum");
  if (e.dtype == DT_STRING) {
    Cursor c(strings);
    for (std::string& s : t.flat<std::string>()) {
      uint64_t len;
      if (!c.Get(&len) || !c.GetBytes(len, &s)) return bad("is truncated");
    }
    if (!c.done()) return bad("has trailing bytes");
  }
  return t;
}

}  // namespace rill
