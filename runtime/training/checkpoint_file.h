// Rill's checkpoint file: named tensors, each with a CRC-32C, written
// atomically. SaveV2/RestoreV2 read and write it; the Saver builds on them.
//
// Layout (little-endian): the magic "RILLCKP1", the tensors' bytes one
// after another (strings as a length and the bytes each), the index (per
// tensor: name, dtype, shape, offset, size, CRC-32C of the bytes), and a
// footer (index offset, index CRC-32C, the magic again). A reader checks
// the footer and the index's checksum on open, and each tensor's checksum
// when it reads it.
//
// A checkpoint with prefix P is the file P.ckpt. Writing goes to a
// temporary file in the same directory, which is fsynced and renamed over
// P.ckpt, and the directory is fsynced: a reader sees the old file or the
// new one, never a part.
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

// The file a checkpoint prefix names.
std::string CheckpointFileOf(const std::string& prefix);

// Writes the tensors under their names. INVALID_ARGUMENT for an empty or
// repeated name or an uninitialized tensor; the errno text naming the
// path when the file system fails.
absl::Status WriteCheckpoint(
    const std::string& prefix,
    const std::vector<std::pair<std::string, Tensor>>& tensors);

class CheckpointReader {
 public:
  struct Entry {
    DataType dtype;
    TensorShape shape;
    uint64_t offset = 0;
    uint64_t size = 0;
    uint32_t crc = 0;
  };

  // NOT_FOUND when the file is missing; DATA_LOSS naming the file when it
  // is truncated or corrupt.
  static absl::StatusOr<std::unique_ptr<CheckpointReader>> Open(
      const std::string& prefix);
  ~CheckpointReader();

  const absl::flat_hash_map<std::string, Entry>& entries() const {
    return entries_;
  }
  // NOT_FOUND naming the tensor when the checkpoint lacks it; DATA_LOSS
  // naming it when its bytes fail the checksum.
  absl::StatusOr<Tensor> Read(const std::string& name) const;

 private:
  CheckpointReader(std::string path, int fd)
      : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  int fd_;
  absl::flat_hash_map<std::string, Entry> entries_;
};

}  // namespace rill

#endif  // RILL_RUNTIME_TRAINING_CHECKPOINT_FILE_H_
