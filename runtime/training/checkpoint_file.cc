#include "runtime/training/checkpoint_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <random>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/platform/crc32c.h"
#include "core/platform/status_macros.h"
#include "core/protos/tensor_bundle.pb.h"
#include "leveldb/env.h"
#include "leveldb/iterator.h"
#include "leveldb/options.h"
#include "leveldb/table.h"
#include "leveldb/table_builder.h"

namespace rill {
namespace {

// TensorFlow's tensor bundle version.
constexpr int kBundleVersion = 1;
// The largest string element whose length is checksummed as 4 bytes.
constexpr uint64_t kMaxShortString = 0xffffffffu;

// TensorFlow's (and LevelDB's) masked CRC: a CRC stored next to the data
// it covers is itself not a good CRC input.
constexpr uint32_t kMaskDelta = 0xa282ead8u;
uint32_t MaskCrc(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + kMaskDelta;
}
uint32_t UnmaskCrc(uint32_t masked) {
  const uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  const int e = errno;
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(e));
  if (e == ENOENT) return absl::NotFoundError(message);
  if (e == ENOSPC) return absl::ResourceExhaustedError(message);
  if (e == EACCES || e == EPERM) return absl::PermissionDeniedError(message);
  return absl::InternalError(message);
}

absl::Status FromLevelDb(const leveldb::Status& s, const std::string& path) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat(path, ": ", s.ToString()));
  }
  if (s.IsCorruption()) {
    return absl::DataLossError(
        absl::StrCat("checkpoint index ", path, " is corrupt: ", s.ToString()));
  }
  return absl::InternalError(absl::StrCat(path, ": ", s.ToString()));
}

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

void PutVarint64(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint64(const char** p, const char* end, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift <= 63 && *p < end; shift += 7) {
    const auto byte = static_cast<uint8_t>(*(*p)++);
    *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// The CRC of a string element's length, as TensorFlow counts it.
uint32_t ExtendWithLength(uint32_t crc, uint64_t length) {
  if (length <= kMaxShortString) {
    const uint32_t short_length = static_cast<uint32_t>(length);
    return Crc32cExtend(crc, &short_length, sizeof(short_length));
  }
  return Crc32cExtend(crc, &length, sizeof(length));
}

// A string tensor's bytes in the bundle's layout; *crc their CRC.
std::string EncodeStrings(const Tensor& t, uint32_t* crc) {
  std::string out;
  *crc = 0;
  for (const std::string& s : t.flat<std::string>()) {
    PutVarint64(&out, s.size());
    *crc = ExtendWithLength(*crc, s.size());
  }
  const uint32_t lengths_crc = MaskCrc(*crc);
  out.append(reinterpret_cast<const char*>(&lengths_crc), 4);
  *crc = Crc32cExtend(*crc, &lengths_crc, 4);
  for (const std::string& s : t.flat<std::string>()) {
    out += s;
    *crc = Crc32cExtend(*crc, s.data(), s.size());
  }
  return out;
}

std::string TemporaryFor(const std::string& path) {
  static std::mt19937_64 rng(std::random_device{}());
  return absl::StrCat(path, ".tmp.", ::getpid(), ".", rng() % 1000000007);
}

// fsyncs the directory, so that renames into it are durable.
void SyncDirectory(const std::string& dir) {
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

absl::Status Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoError(absl::StrCat("cannot rename ", from, " to"), to);
  }
  return absl::OkStatus();
}

// Writes `entries` (name -> serialized record, the header under "") as the
// table `path`, through a temporary file renamed into place.
absl::Status WriteIndex(const std::string& path,
                        const std::map<std::string, std::string>& entries) {
  const std::string tmp = TemporaryFor(path);
  leveldb::WritableFile* raw = nullptr;
  RETURN_IF_ERROR(
      FromLevelDb(leveldb::Env::Default()->NewWritableFile(tmp, &raw), tmp));
  std::unique_ptr<leveldb::WritableFile> file(raw);
  leveldb::Options options;
  options.compression = leveldb::kNoCompression;
  leveldb::TableBuilder builder(options, file.get());
  for (const auto& [key, value] : entries) builder.Add(key, value);
  absl::Status s = FromLevelDb(builder.Finish(), tmp);
  if (s.ok()) s = FromLevelDb(file->Sync(), tmp);
  if (s.ok()) s = FromLevelDb(file->Close(), tmp);
  file.reset();
  if (s.ok()) s = Rename(tmp, path);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

std::string HeaderRecord(int num_shards) {
  ::tensorflow::BundleHeaderProto header;
  header.set_num_shards(num_shards);
  header.set_endianness(::tensorflow::BundleHeaderProto::LITTLE);
  header.mutable_version()->set_producer(kBundleVersion);
  return header.SerializeAsString();
}

// Every record of the index at `path`: the header under "".
absl::StatusOr<std::map<std::string, std::string>> ReadIndex(
    const std::string& path) {
  leveldb::Env* env = leveldb::Env::Default();
  uint64_t size = 0;
  leveldb::Status s = env->GetFileSize(path, &size);
  if (!s.ok()) {
    if (::access(path.c_str(), F_OK) != 0) {
      return ErrnoError("cannot open checkpoint", path);
    }
    return FromLevelDb(s, path);
  }
  leveldb::RandomAccessFile* raw_file = nullptr;
  RETURN_IF_ERROR(FromLevelDb(env->NewRandomAccessFile(path, &raw_file), path));
  std::unique_ptr<leveldb::RandomAccessFile> file(raw_file);
  leveldb::Options options;
  options.paranoid_checks = true;
  leveldb::Table* raw_table = nullptr;
  RETURN_IF_ERROR(FromLevelDb(
      leveldb::Table::Open(options, file.get(), size, &raw_table), path));
  std::unique_ptr<leveldb::Table> table(raw_table);
  leveldb::ReadOptions read;
  read.verify_checksums = true;
  std::unique_ptr<leveldb::Iterator> it(table->NewIterator(read));
  std::map<std::string, std::string> records;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    records.emplace(it->key().ToString(), it->value().ToString());
  }
  RETURN_IF_ERROR(FromLevelDb(it->status(), path));
  return records;
}

absl::StatusOr<::tensorflow::BundleHeaderProto> ParseHeader(
    const std::map<std::string, std::string>& records,
    const std::string& path) {
  ::tensorflow::BundleHeaderProto header;
  auto it = records.find("");
  if (it == records.end() || !header.ParseFromString(it->second)) {
    return absl::DataLossError(
        absl::StrCat("checkpoint index ", path, " has no header"));
  }
  if (header.endianness() != ::tensorflow::BundleHeaderProto::LITTLE) {
    return absl::UnimplementedError(
        absl::StrCat("checkpoint ", path, " is big-endian"));
  }
  if (header.version().min_consumer() > kBundleVersion) {
    return absl::UnimplementedError(absl::StrCat(
        "checkpoint ", path, " needs a reader of version ",
        header.version().min_consumer(), " (this is ", kBundleVersion, ")"));
  }
  if (header.num_shards() < 1 || header.num_shards() > 1 << 20) {
    return absl::DataLossError(absl::StrCat("checkpoint index ", path,
                                            " says it has ",
                                            header.num_shards(), " shards"));
  }
  return header;
}

}  // namespace

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string CheckpointFileOf(const std::string& prefix) {
  return prefix + ".index";
}

std::string DataFileOf(const std::string& prefix, int shard, int num_shards) {
  return absl::StrFormat("%s.data-%05d-of-%05d", prefix, shard, num_shards);
}

void DeleteCheckpoint(const std::string& prefix) {
  int shards = 1;
  if (auto records = ReadIndex(CheckpointFileOf(prefix)); records.ok()) {
    if (auto header = ParseHeader(*records, prefix); header.ok()) {
      shards = header->num_shards();
    }
  }
  // The index first: a checkpoint without it is no checkpoint.
  ::unlink(CheckpointFileOf(prefix).c_str());
  for (int s = 0; s < shards; ++s) {
    ::unlink(DataFileOf(prefix, s, shards).c_str());
  }
}

bool IsCheckpointTemporary(const std::string& file_name, int* pid) {
  const size_t at = file_name.find(".tmp.");
  if (at == std::string::npos) return false;
  const absl::string_view before(file_name.data(), at);
  if (!absl::EndsWith(before, ".index") &&
      !absl::StrContains(before, ".data-")) {
    return false;
  }
  absl::string_view rest(file_name);
  rest.remove_prefix(at + 5);
  return absl::SimpleAtoi(rest.substr(0, rest.find('.')), pid) && *pid > 0;
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
  // The data, in name order (as TensorFlow writes it).
  std::vector<const std::pair<std::string, Tensor>*> sorted;
  for (const auto& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  // The prefix's own directory is made if missing (a sharded save's
  // "<prefix>_temp/part-..."), as TensorFlow's writer does; not its parents.
  if (::mkdir(DirectoryOf(prefix).c_str(), 0755) != 0 && errno != EEXIST &&
      errno != ENOENT) {
    return ErrnoError("cannot create the directory of", prefix);
  }
  const std::string data_path = DataFileOf(prefix, 0, 1);
  const std::string tmp = TemporaryFor(data_path);
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", tmp);
  std::map<std::string, std::string> index;
  index[""] = HeaderRecord(1);
  absl::Status s = [&]() -> absl::Status {
    uint64_t offset = 0;
    for (const auto* named : sorted) {
      const Tensor& t = named->second;
      std::string strings;
      const char* data;
      uint64_t size;
      uint32_t crc;
      if (t.dtype() == DT_STRING) {
        strings = EncodeStrings(t, &crc);
        data = strings.data();
        size = strings.size();
      } else {
        data = static_cast<const char*>(t.raw_data());
        size = t.TotalBytes();
        crc = Crc32c(data, size);
      }
      RETURN_IF_ERROR(WriteAll(fd, data, size, tmp));
      ::tensorflow::BundleEntryProto entry;
      entry.set_dtype(t.dtype());
      for (int d = 0; d < t.dims(); ++d) {
        entry.mutable_shape()->add_dim()->set_size(t.dim_size(d));
      }
      entry.set_shard_id(0);
      entry.set_offset(static_cast<int64_t>(offset));
      entry.set_size(static_cast<int64_t>(size));
      entry.set_crc32c(MaskCrc(crc));
      index[named->first] = entry.SerializeAsString();
      offset += size;
    }
    if (::fsync(fd) != 0) return ErrnoError("cannot fsync", tmp);
    return absl::OkStatus();
  }();
  if (::close(fd) != 0 && s.ok()) s = ErrnoError("cannot close", tmp);
  if (s.ok()) s = Rename(tmp, data_path);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  RETURN_IF_ERROR(WriteIndex(CheckpointFileOf(prefix), index));
  SyncDirectory(DirectoryOf(prefix));
  return absl::OkStatus();
}

absl::Status MergeCheckpoints(const std::vector<std::string>& prefixes,
                              const std::string& destination,
                              bool delete_old_dirs) {
  if (prefixes.empty()) {
    return absl::InvalidArgumentError("no checkpoints to merge");
  }
  // Every source's records, its shards renumbered after the ones before.
  std::vector<std::pair<std::string, int>> moves;  // (data file, new shard)
  std::map<std::string, std::string> index;
  int total = 0;
  for (const std::string& prefix : prefixes) {
    ASSIGN_OR_RETURN(auto records, ReadIndex(CheckpointFileOf(prefix)));
    ASSIGN_OR_RETURN(auto header, ParseHeader(records, prefix));
    for (int s = 0; s < header.num_shards(); ++s) {
      moves.emplace_back(DataFileOf(prefix, s, header.num_shards()), total + s);
    }
    for (const auto& [key, value] : records) {
      if (key.empty()) continue;
      ::tensorflow::BundleEntryProto entry;
      if (!entry.ParseFromString(value)) {
        return absl::DataLossError(absl::StrCat(
            "checkpoint ", prefix, ": the entry of '", key, "' is corrupt"));
      }
      entry.set_shard_id(entry.shard_id() + total);
      if (!index.emplace(key, entry.SerializeAsString()).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensor '", key,
                         "' is in more than one of the "
                         "checkpoints merged into ",
                         destination));
      }
    }
    total += header.num_shards();
  }
  index[""] = HeaderRecord(total);
  for (const auto& [file, shard] : moves) {
    RETURN_IF_ERROR(Rename(file, DataFileOf(destination, shard, total)));
  }
  RETURN_IF_ERROR(WriteIndex(CheckpointFileOf(destination), index));
  SyncDirectory(DirectoryOf(destination));
  for (const std::string& prefix : prefixes) {
    ::unlink(CheckpointFileOf(prefix).c_str());
    if (delete_old_dirs) ::rmdir(DirectoryOf(prefix).c_str());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CheckpointReader>> CheckpointReader::Open(
    const std::string& prefix) {
  const std::string path = CheckpointFileOf(prefix);
  ASSIGN_OR_RETURN(auto records, ReadIndex(path));
  ASSIGN_OR_RETURN(auto header, ParseHeader(records, path));
  std::unique_ptr<CheckpointReader> reader(new CheckpointReader(prefix));
  reader->num_shards_ = header.num_shards();
  auto corrupt = [&path](const std::string& what) {
    return absl::DataLossError(
        absl::StrCat("checkpoint index ", path, " is corrupt: ", what));
  };
  for (const auto& [name, value] : records) {
    // The header, and the records of a sliced tensor's slices (their keys
    // are binary, beginning with a zero byte).
    if (name.empty() || name[0] == '\0') continue;
    ::tensorflow::BundleEntryProto proto;
    if (!proto.ParseFromString(value)) {
      return corrupt(absl::StrCat("the entry of '", name, "'"));
    }
    if (proto.slices_size() > 0) {
      return absl::UnimplementedError(absl::StrCat(
          "checkpoint ", prefix, ": tensor '", name,
          "' is saved in slices (a partitioned variable); Rill reads whole "
          "tensors only"));
    }
    Entry e;
    if (!::tensorflow::DataType_IsValid(proto.dtype()) ||
        proto.dtype() == ::tensorflow::DT_INVALID) {
      return corrupt(
          absl::StrCat("tensor '", name, "' has dtype ", proto.dtype()));
    }
    e.dtype = proto.dtype();
    std::vector<int64_t> dims;
    for (const auto& d : proto.shape().dim()) dims.push_back(d.size());
    absl::StatusOr<TensorShape> shape = TensorShape::Create(dims);
    if (!shape.ok()) {
      return corrupt(
          absl::StrCat("tensor '", name, "': ", shape.status().message()));
    }
    e.shape = *shape;
    e.shard = proto.shard_id();
    e.offset = static_cast<uint64_t>(proto.offset());
    e.size = static_cast<uint64_t>(proto.size());
    e.crc = UnmaskCrc(proto.crc32c());
    if (e.shard < 0 || e.shard >= reader->num_shards_ || proto.offset() < 0 ||
        proto.size() < 0) {
      return corrupt(absl::StrCat("tensor '", name, "' lies outside the data"));
    }
    if (e.dtype != DT_STRING &&
        (DataTypeSize(e.dtype) == 0 ||
         e.size != static_cast<uint64_t>(e.shape.num_elements()) *
                       DataTypeSize(e.dtype))) {
      return corrupt(absl::StrCat("tensor '", name, "' has ", e.size,
                                  " bytes for shape ", e.shape.DebugString()));
    }
    reader->entries_.emplace(name, std::move(e));
  }
  for (int s = 0; s < reader->num_shards_; ++s) {
    const std::string data = DataFileOf(prefix, s, reader->num_shards_);
    const int fd = ::open(data.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("cannot open checkpoint data", data);
    reader->fds_.push_back(fd);
    const off_t end = ::lseek(fd, 0, SEEK_END);
    for (const auto& [name, e] : reader->entries_) {
      if (e.shard == s && (e.offset > static_cast<uint64_t>(end) ||
                           e.size > static_cast<uint64_t>(end) - e.offset)) {
        return absl::DataLossError(absl::StrCat(
            "checkpoint data ", data, " is truncated: tensor '", name,
            "' ends at byte ", e.offset + e.size, " of ", end));
      }
    }
  }
  return reader;
}

CheckpointReader::~CheckpointReader() {
  for (int fd : fds_) ::close(fd);
}

absl::StatusOr<Tensor> CheckpointReader::Read(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return absl::NotFoundError(
        absl::StrCat("checkpoint ", prefix_, " has no tensor '", name, "'"));
  }
  const Entry& e = it->second;
  auto bad = [&](const std::string& what) {
    return absl::DataLossError(
        absl::StrCat("checkpoint ", prefix_, ": tensor '", name, "' ", what));
  };
  ASSIGN_OR_RETURN(Tensor t, Tensor::Create(e.dtype, e.shape));
  std::string strings;
  char* dst = static_cast<char*>(t.raw_data());
  if (e.dtype == DT_STRING) {
    strings.resize(e.size);
    dst = strings.data();
  }
  if (e.size > 0 && !ReadAt(fds_[e.shard], dst, e.size, e.offset)) {
    return bad("cannot be read");
  }
  if (e.dtype != DT_STRING) {
    if (Crc32c(dst, e.size) != e.crc) return bad("fails its checksum");
    return t;
  }
  // Lengths, their checksum, then the bytes; the entry's CRC covers all.
  const char* p = strings.data();
  const char* end = p + strings.size();
  uint32_t crc = 0;
  std::vector<uint64_t> lengths;
  for (int64_t i = 0; i < t.NumElements(); ++i) {
    uint64_t len;
    if (!GetVarint64(&p, end, &len)) return bad("is truncated");
    lengths.push_back(len);
    crc = ExtendWithLength(crc, len);
  }
  uint32_t lengths_crc;
  if (end - p < 4) return bad("is truncated");
  std::memcpy(&lengths_crc, p, 4);
  p += 4;
  if (UnmaskCrc(lengths_crc) != crc) return bad("has corrupt string lengths");
  crc = Crc32cExtend(crc, &lengths_crc, 4);
  auto out = t.flat<std::string>();
  for (size_t i = 0; i < lengths.size(); ++i) {
    if (static_cast<uint64_t>(end - p) < lengths[i]) return bad("is truncated");
    out[i].assign(p, lengths[i]);
    crc = Crc32cExtend(crc, p, lengths[i]);
    p += lengths[i];
  }
  if (p != end) return bad("has trailing bytes");
  if (crc != e.crc) return bad("fails its checksum");
  return t;
}

}  // namespace rill
