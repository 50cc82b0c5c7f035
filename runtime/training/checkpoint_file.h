// Checkpoints in TensorFlow's V2 format (its "tensor bundle"), so a model
// moves between Rill and TensorFlow both ways. SaveV2/RestoreV2 read and
// write them; MergeV2Checkpoints joins the shards of a sharded save; the
// Saver builds on them.
//
// A checkpoint with prefix P is P.index and P.data-SSSSS-of-NNNNN. The
// index is a table in LevelDB's format (LevelDB writes and reads it,
// uncompressed): the empty key holds a BundleHeaderProto (shards, little
// endian, version 1), every other key, a tensor name in byte order, its
// BundleEntryProto (dtype, shape, shard, offset and size of its bytes in
// that shard's data file, and the masked CRC-32C of those bytes). A
// tensor's bytes are its elements, little-endian; a string tensor's are
// each element's length as a varint64, a masked CRC-32C of the lengths,
// then the strings' bytes. A tensor saved in slices (a partitioned
// variable, each part saved by the task that holds it) has an entry under
// its name with its dtype, full shape and the list of slices, and each
// slice's data under a binary key (TensorFlow's EncodeTensorNameSlice: the
// name and the slice's extents in its OrderedCode encoding); merging the
// shards of a sharded save joins the slice lists. A slice is read from the
// stored slices that overlap it, so a model saved in one partitioning can
// be restored in another or whole.
//
// Writing makes the prefix's directory when it is missing (not its
// parents). The data file, then the index, go to temporary files in the
// same directory ("<file>.tmp.<pid>.<n>"), each fsynced and renamed into
// place, then the directory is fsynced: a reader that finds P.index finds
// the data it names (for a prefix written once, as the Saver's are).
#ifndef RILL_RUNTIME_TRAINING_CHECKPOINT_FILE_H_
#define RILL_RUNTIME_TRAINING_CHECKPOINT_FILE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/framework/tensor.h"

namespace rill {

// The directory part of a path ("." when it has none).
std::string DirectoryOf(const std::string& path);

// The index of a checkpoint prefix: the file whose presence says the
// checkpoint is complete.
std::string CheckpointFileOf(const std::string& prefix);
// Shard `shard` of `num_shards` of a checkpoint's data.
std::string DataFileOf(const std::string& prefix, int shard, int num_shards);
// Removes a checkpoint's index and data files (missing ones are fine).
void DeleteCheckpoint(const std::string& prefix);
// True for a temporary file a writer of checkpoints makes; its pid is set.
bool IsCheckpointTemporary(const std::string& file_name, int* pid);

// A slice of a tensor as a Saver names it in shape_and_slices: the full
// shape, then per dimension "start,length" or "-" (all of it), e.g.
// "10 4 0,5:-".
struct TensorSlice {
  TensorShape full_shape;
  std::vector<int64_t> start;
  std::vector<int64_t> length;  // -1: the whole dimension.

  // INVALID_ARGUMENT naming the spec when it is malformed or outside the
  // shape.
  static absl::StatusOr<TensorSlice> Parse(const std::string& spec);
  // The whole of a tensor of `shape`.
  static TensorSlice Whole(const TensorShape& shape);
  int64_t LengthAt(int d) const {
    return length[d] < 0 ? full_shape.dim_size(d) - start[d] : length[d];
  }
  TensorShape SliceShape() const;
  bool IsWhole() const;
};

// Writes the tensors under their names; `slices`, when given, has one spec
// per tensor ("" for a whole tensor; otherwise the tensor is that slice of
// its full tensor). INVALID_ARGUMENT for an empty or repeated name or
// slice, an uninitialized tensor, or a tensor whose shape is not its
// slice's; the errno text naming the path when the file system fails.
absl::Status WriteCheckpoint(
    const std::string& prefix,
    const std::vector<std::pair<std::string, Tensor>>& tensors,
    const std::vector<std::string>& slices = {});

// Joins checkpoints (the shards of one sharded save, each with its own
// prefix) into one at `destination`: their data files become its shards,
// their entries its index. With delete_old_dirs, each source's directory
// is removed once empty. INVALID_ARGUMENT when two hold the same tensor
// (different slices of one tensor are joined).
absl::Status MergeCheckpoints(const std::vector<std::string>& prefixes,
                              const std::string& destination,
                              bool delete_old_dirs);

class CheckpointReader {
 public:
  struct Entry {
    DataType dtype;
    TensorShape shape;
    int shard = 0;
    uint64_t offset = 0;
    uint64_t size = 0;
    uint32_t crc = 0;  // Unmasked.
  };

  // NOT_FOUND when the index is missing; DATA_LOSS naming the file when
  // it is truncated or corrupt.
  static absl::StatusOr<std::unique_ptr<CheckpointReader>> Open(
      const std::string& prefix);
  ~CheckpointReader();

  const absl::flat_hash_map<std::string, Entry>& entries() const {
    return entries_;
  }
  // NOT_FOUND naming the tensor when the checkpoint lacks it; DATA_LOSS
  // naming it when its bytes fail the checksum. A tensor saved in slices
  // is read whole.
  absl::StatusOr<Tensor> Read(const std::string& name) const;
  // A slice of a tensor, whole or saved in slices; INVALID_ARGUMENT when
  // the full shapes differ, NOT_FOUND when the stored slices do not cover
  // it.
  absl::StatusOr<Tensor> ReadSlice(const std::string& name,
                                   const TensorSlice& slice) const;
  // Whether `name` is in the checkpoint, whole or in slices.
  bool Contains(const std::string& name) const {
    return entries_.contains(name) || sliced_.contains(name);
  }

 private:
  struct Sliced {
    DataType dtype;
    TensorShape full_shape;
    std::vector<TensorSlice> slices;
  };
  absl::StatusOr<Tensor> ReadEntry(const std::string& name,
                                   const Entry& e) const;

  explicit CheckpointReader(std::string prefix) : prefix_(std::move(prefix)) {}

  std::string prefix_;
  int num_shards_ = 1;
  std::vector<int> fds_;  // The data files, by shard.
  absl::flat_hash_map<std::string, Entry> entries_;
  // Tensors saved in slices, and the slices' data by their binary keys.
  absl::flat_hash_map<std::string, Sliced> sliced_;
  absl::flat_hash_map<std::string, Entry> slice_data_;
};

// The index key of a slice's data (TensorFlow's EncodeTensorNameSlice).
std::string SliceKey(const std::string& name, const TensorSlice& slice);

}  // namespace rill

#endif  // RILL_RUNTIME_TRAINING_CHECKPOINT_FILE_H_
