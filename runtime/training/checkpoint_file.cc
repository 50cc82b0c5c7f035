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
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
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

// OrderedCode (TensorFlow's, for slice keys): an unsigned number as its
// byte count then its big-endian bytes.
void WriteNumIncreasing(std::string* out, uint64_t v) {
  char bytes[8];
  int n = 0;
  for (; v != 0; v >>= 8) bytes[n++] = static_cast<char>(v & 0xff);
  out->push_back(static_cast<char>(n));
  for (int i = n - 1; i >= 0; --i) out->push_back(bytes[i]);
}

// A string with 0x00 and 0xff escaped, then the terminator 0x00 0x01.
void WriteOrderedString(std::string* out, const std::string& s) {
  for (char c : s) {
    if (c == '\0') {
      out->append("\x00\xff", 2);
    } else if (c == '\xff') {
      out->append("\xff\x00", 2);
    } else {
      out->push_back(c);
    }
  }
  out->append("\x00\x01", 2);
}

// A signed number: its two's complement, big-endian, in the fewest bytes
// that hold it with a sign bit, the length in unary in the leading bits.
void WriteSignedNumIncreasing(std::string* out, int64_t v) {
  const uint64_t x =
      v < 0 ? ~static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  if (x < 64) {
    out->push_back(static_cast<char>(0x80 ^ static_cast<uint8_t>(v)));
    return;
  }
  static constexpr unsigned char kHeader[11][2] = {
      {0, 0},    {0x80, 0}, {0xc0, 0}, {0xe0, 0},    {0xf0, 0},   {0xf8, 0},
      {0xfc, 0}, {0xfe, 0}, {0xff, 0}, {0xff, 0x80}, {0xff, 0xc0}};
  const int bits = 64 - __builtin_clzll(x);
  const int len = (bits + 7) / 7;  // bits + a sign bit, 7 per byte.
  unsigned char buf[10];
  buf[0] = buf[1] = v < 0 ? 0xff : 0;
  for (int i = 0; i < 8; ++i) {
    buf[2 + i] =
        static_cast<unsigned char>(static_cast<uint64_t>(v) >> (8 * (7 - i)));
  }
  unsigned char* begin = buf + sizeof(buf) - len;
  begin[0] ^= kHeader[len][0];
  begin[1] ^= kHeader[len][1];
  out->append(reinterpret_cast<const char*>(begin), len);
}

void SliceToProto(const TensorSlice& slice, ::tensorflow::TensorSliceProto* p) {
  for (size_t d = 0; d < slice.start.size(); ++d) {
    auto* e = p->add_extent();
    if (slice.start[d] != 0 || slice.length[d] >= 0) {
      e->set_start(slice.start[d]);
      e->set_length(slice.length[d]);
    }
  }
}

absl::StatusOr<TensorSlice> SliceFromProto(
    const ::tensorflow::TensorSliceProto& p, const TensorShape& full) {
  if (p.extent_size() != full.dims()) {
    return absl::DataLossError(absl::StrCat("a slice of rank ", p.extent_size(),
                                            " of a tensor of shape ",
                                            full.DebugString()));
  }
  TensorSlice s;
  s.full_shape = full;
  for (int d = 0; d < p.extent_size(); ++d) {
    const auto& e = p.extent(d);
    s.start.push_back(e.start());
    s.length.push_back(e.has_length() ? e.length() : -1);
    if (s.start[d] < 0 ||
        s.start[d] + std::max<int64_t>(s.length[d], 0) > full.dim_size(d)) {
      return absl::DataLossError(
          absl::StrCat("a slice outside the shape ", full.DebugString()));
    }
  }
  return s;
}

// Copies the box [lo, lo + len) (full-tensor coordinates) from `src`,
// whose origin is src_at, into `dst`, whose origin is dst_at.
void CopyBox(const Tensor& src, const std::vector<int64_t>& src_at, Tensor* dst,
             const std::vector<int64_t>& dst_at, const std::vector<int64_t>& lo,
             const std::vector<int64_t>& len) {
  const int rank = static_cast<int>(lo.size());
  const bool strings = src.dtype() == DT_STRING;
  const size_t elem = strings ? 0 : DataTypeSize(src.dtype());
  auto offset = [rank](const Tensor& t, const std::vector<int64_t>& at,
                       const std::vector<int64_t>& index) {
    int64_t o = 0;
    for (int d = 0; d < rank; ++d) o = o * t.dim_size(d) + (index[d] - at[d]);
    return o;
  };
  const int64_t run = rank == 0 ? 1 : len[rank - 1];
  std::vector<int64_t> index = lo;
  while (true) {
    const int64_t from = offset(src, src_at, index);
    const int64_t to = offset(*dst, dst_at, index);
    if (strings) {
      for (int64_t i = 0; i < run; ++i) {
        dst->flat<std::string>()[to + i] = src.flat<std::string>()[from + i];
      }
    } else {
      std::memcpy(static_cast<char*>(dst->raw_data()) + to * elem,
                  static_cast<const char*>(src.raw_data()) + from * elem,
                  run * elem);
    }
    // The next index of the dimensions before the last.
    int d = rank - 2;
    for (; d >= 0; --d) {
      if (++index[d] < lo[d] + len[d]) break;
      index[d] = lo[d];
    }
    if (d < 0) return;
  }
}

}  // namespace

std::string SliceKey(const std::string& name, const TensorSlice& slice) {
  std::string key;
  WriteNumIncreasing(&key, 0);
  WriteOrderedString(&key, name);
  WriteNumIncreasing(&key, slice.start.size());
  for (size_t d = 0; d < slice.start.size(); ++d) {
    WriteSignedNumIncreasing(&key, slice.start[d]);
    WriteSignedNumIncreasing(&key, slice.length[d]);
  }
  return key;
}

absl::StatusOr<TensorSlice> TensorSlice::Parse(const std::string& spec) {
  auto bad = [&spec](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("shape_and_slices '", spec, "': ", why));
  };
  std::vector<std::string> parts = absl::StrSplit(spec, ' ');
  if (parts.size() < 2) return bad("needs the full shape and the slice");
  std::vector<int64_t> dims;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    int64_t d;
    if (!absl::SimpleAtoi(parts[i], &d) || d < 0) {
      return bad(absl::StrCat("'", parts[i], "' is not a dimension"));
    }
    dims.push_back(d);
  }
  TensorSlice s;
  absl::StatusOr<TensorShape> full = TensorShape::Create(dims);
  if (!full.ok()) return bad(std::string(full.status().message()));
  s.full_shape = *full;
  std::vector<std::string> extents = absl::StrSplit(parts.back(), ':');
  if (extents.size() != dims.size()) {
    return bad(absl::StrCat(extents.size(), " extents for ", dims.size(),
                            " dimensions"));
  }
  for (size_t d = 0; d < dims.size(); ++d) {
    if (extents[d] == "-") {
      s.start.push_back(0);
      s.length.push_back(-1);
      continue;
    }
    std::vector<std::string> sl = absl::StrSplit(extents[d], ',');
    int64_t start, length;
    if (sl.size() != 2 || !absl::SimpleAtoi(sl[0], &start) ||
        !absl::SimpleAtoi(sl[1], &length) || start < 0 || length < 0 ||
        start + length > dims[d]) {
      return bad(absl::StrCat("extent '", extents[d], "' of dimension ", d,
                              " (size ", dims[d], ")"));
    }
    s.start.push_back(start);
    s.length.push_back(length);
  }
  return s;
}

TensorSlice TensorSlice::Whole(const TensorShape& shape) {
  TensorSlice s;
  s.full_shape = shape;
  s.start.assign(shape.dims(), 0);
  s.length.assign(shape.dims(), -1);
  return s;
}

TensorShape TensorSlice::SliceShape() const {
  TensorShape shape;
  for (size_t d = 0; d < start.size(); ++d) (void)shape.AddDim(LengthAt(d));
  return shape;
}

bool TensorSlice::IsWhole() const {
  for (size_t d = 0; d < start.size(); ++d) {
    if (start[d] != 0 || LengthAt(d) != full_shape.dim_size(d)) return false;
  }
  return true;
}

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
    const std::vector<std::pair<std::string, Tensor>>& tensors,
    const std::vector<std::string>& slices) {
  if (!slices.empty() && slices.size() != tensors.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        slices.size(), " slice specs for ", tensors.size(), " tensors"));
  }
  // Each tensor's key: its name, or its slice's binary key; a sliced
  // tensor's name gets the entry listing its slices.
  std::vector<std::pair<std::string, const Tensor*>> records;
  std::map<std::string, ::tensorflow::BundleEntryProto> full_entries;
  absl::flat_hash_set<std::string> whole_names;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    if (name.empty()) {
      return absl::InvalidArgumentError("a checkpoint tensor needs a name");
    }
    if (!t.IsInitialized()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", name, "' is uninitialized"));
    }
    const std::string spec = slices.empty() ? "" : slices[i];
    if (spec.empty()) {
      whole_names.insert(name);
      records.emplace_back(name, &t);
      continue;
    }
    ASSIGN_OR_RETURN(TensorSlice slice, TensorSlice::Parse(spec));
    if (slice.SliceShape() != t.shape()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", name, "' of shape ", t.shape().DebugString(),
                       " is not its slice '", spec, "' (shape ",
                       slice.SliceShape().DebugString(), ")"));
    }
    auto& full = full_entries[name];
    if (full.slices_size() > 0 &&
        (full.dtype() != t.dtype() ||
         full.shape().dim_size() != slice.full_shape.dims())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the slices of tensor '", name, "' disagree on dtype or shape"));
    }
    full.set_dtype(t.dtype());
    full.clear_shape();
    for (int d = 0; d < slice.full_shape.dims(); ++d) {
      full.mutable_shape()->add_dim()->set_size(slice.full_shape.dim_size(d));
    }
    SliceToProto(slice, full.add_slices());
    records.emplace_back(SliceKey(name, slice), &t);
  }
  absl::flat_hash_set<std::string> keys;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!keys.insert(records[i].first).second) {
      const std::string spec = slices.empty() ? "" : slices[i];
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor name '", tensors[i].first, "' appears twice",
          spec.empty() ? "" : absl::StrCat(" (slice '", spec, "')")));
    }
  }
  for (const auto& [name, entry] : full_entries) {
    if (whole_names.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", name, "' is saved both whole and in slices"));
    }
  }
  // The data, in key order (as TensorFlow writes it).
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
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
  for (const auto& [name, entry] : full_entries) {
    index[name] = entry.SerializeAsString();
  }
  absl::Status s = [&]() -> absl::Status {
    uint64_t offset = 0;
    for (const auto& [key, tensor] : records) {
      const Tensor& t = *tensor;
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
      index[key] = entry.SerializeAsString();
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
      if (entry.slices_size() > 0) {
        // A tensor saved in slices by several tasks: one entry, every slice.
        auto it = index.find(key);
        if (it != index.end()) {
          ::tensorflow::BundleEntryProto joined;
          if (!joined.ParseFromString(it->second) ||
              joined.slices_size() == 0 || joined.dtype() != entry.dtype() ||
              joined.shape().SerializeAsString() !=
                  entry.shape().SerializeAsString()) {
            return absl::InvalidArgumentError(
                absl::StrCat("tensor '", key,
                             "' has different dtypes or shapes in the "
                             "checkpoints merged into ",
                             destination));
          }
          joined.mutable_slices()->MergeFrom(entry.slices());
          it->second = joined.SerializeAsString();
          continue;
        }
      } else {
        entry.set_shard_id(entry.shard_id() + total);
      }
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
    if (name.empty()) continue;  // The header.
    // A slice's data has a binary key, beginning with a zero byte.
    const bool slice_data = name[0] == '\0';
    ::tensorflow::BundleEntryProto proto;
    if (!proto.ParseFromString(value)) {
      return corrupt(
          absl::StrCat("the entry of '", absl::CHexEscape(name), "'"));
    }
    if (proto.slices_size() > 0) {
      Sliced sliced;
      sliced.dtype = proto.dtype();
      std::vector<int64_t> dims;
      for (const auto& d : proto.shape().dim()) dims.push_back(d.size());
      absl::StatusOr<TensorShape> full = TensorShape::Create(dims);
      if (!full.ok() || !::tensorflow::DataType_IsValid(proto.dtype())) {
        return corrupt(absl::StrCat("the entry of sliced tensor '", name, "'"));
      }
      sliced.full_shape = *full;
      for (const auto& p : proto.slices()) {
        absl::StatusOr<TensorSlice> slice = SliceFromProto(p, *full);
        if (!slice.ok()) {
          return corrupt(
              absl::StrCat("tensor '", name, "': ", slice.status().message()));
        }
        sliced.slices.push_back(*std::move(slice));
      }
      reader->sliced_.emplace(name, std::move(sliced));
      continue;
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
    (slice_data ? reader->slice_data_ : reader->entries_)
        .emplace(name, std::move(e));
  }
  for (int s = 0; s < reader->num_shards_; ++s) {
    const std::string data = DataFileOf(prefix, s, reader->num_shards_);
    const int fd = ::open(data.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("cannot open checkpoint data", data);
    reader->fds_.push_back(fd);
    const off_t end = ::lseek(fd, 0, SEEK_END);
    for (const auto* entries : {&reader->entries_, &reader->slice_data_}) {
      for (const auto& [name, e] : *entries) {
        if (e.shard == s && (e.offset > static_cast<uint64_t>(end) ||
                             e.size > static_cast<uint64_t>(end) - e.offset)) {
          return absl::DataLossError(
              absl::StrCat("checkpoint data ", data, " is truncated: tensor '",
                           absl::CHexEscape(name), "' ends at byte ",
                           e.offset + e.size, " of ", end));
        }
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
  if (it != entries_.end()) return ReadEntry(name, it->second);
  auto sliced = sliced_.find(name);
  if (sliced != sliced_.end()) {
    return ReadSlice(name, TensorSlice::Whole(sliced->second.full_shape));
  }
  return absl::NotFoundError(
      absl::StrCat("checkpoint ", prefix_, " has no tensor '", name, "'"));
}

absl::StatusOr<Tensor> CheckpointReader::ReadSlice(
    const std::string& name, const TensorSlice& want) const {
  const int rank = want.full_shape.dims();
  std::vector<int64_t> origin(rank, 0), lengths;
  for (int d = 0; d < rank; ++d) lengths.push_back(want.LengthAt(d));
  auto wrong_shape = [&](const TensorShape& saved) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint ", prefix_, ": tensor '", name, "' has shape ",
        saved.DebugString(), ", the restore asks for a slice of shape ",
        want.full_shape.DebugString()));
  };
  auto whole = entries_.find(name);
  if (whole != entries_.end()) {
    ASSIGN_OR_RETURN(Tensor t, ReadEntry(name, whole->second));
    if (t.shape() != want.full_shape) return wrong_shape(t.shape());
    if (want.IsWhole()) return t;
    ASSIGN_OR_RETURN(Tensor out, Tensor::Create(t.dtype(), want.SliceShape()));
    CopyBox(t, origin, &out, want.start, want.start, lengths);
    return out;
  }
  auto it = sliced_.find(name);
  if (it == sliced_.end()) {
    return absl::NotFoundError(
        absl::StrCat("checkpoint ", prefix_, " has no tensor '", name, "'"));
  }
  const Sliced& saved = it->second;
  if (saved.full_shape != want.full_shape) {
    return wrong_shape(saved.full_shape);
  }
  ASSIGN_OR_RETURN(Tensor out, Tensor::Create(saved.dtype, want.SliceShape()));
  int64_t covered = 0;
  for (const TensorSlice& stored : saved.slices) {
    std::vector<int64_t> lo(rank), len(rank);
    int64_t volume = 1;
    for (int d = 0; d < rank; ++d) {
      lo[d] = std::max(want.start[d], stored.start[d]);
      const int64_t hi = std::min(want.start[d] + lengths[d],
                                  stored.start[d] + stored.LengthAt(d));
      len[d] = std::max<int64_t>(hi - lo[d], 0);
      volume *= len[d];
    }
    if (volume == 0) continue;
    auto data = slice_data_.find(SliceKey(name, stored));
    if (data == slice_data_.end()) {
      return absl::DataLossError(absl::StrCat("checkpoint ", prefix_,
                                              ": a slice of tensor '", name,
                                              "' is listed but has no data"));
    }
    ASSIGN_OR_RETURN(Tensor part, ReadEntry(name, data->second));
    if (part.shape() != stored.SliceShape() || part.dtype() != saved.dtype) {
      return absl::DataLossError(
          absl::StrCat("checkpoint ", prefix_, ": a slice of tensor '", name,
                       "' has shape ", part.shape().DebugString(),
                       ", its entry says ", stored.SliceShape().DebugString()));
    }
    CopyBox(part, stored.start, &out, want.start, lo, len);
    covered += volume;
  }
  if (covered < out.NumElements()) {
    return absl::NotFoundError(
        absl::StrCat("checkpoint ", prefix_, ": the saved slices of tensor '",
                     name, "' do not cover the slice asked for"));
  }
  return out;
}

absl::StatusOr<Tensor> CheckpointReader::ReadEntry(const std::string& name,
                                                   const Entry& e) const {
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
