// TensorBoard's event files: a file of TFRecord records (a length, its
// masked CRC-32C, the data, its masked CRC-32C), each a serialized
// tensorflow.Event; the first gives the file's version. The file is named
// events.out.tfevents.<seconds>.<host>, as TensorBoard looks for it.
//
// Not thread-safe: one writer per thread, or the caller's lock.
#ifndef RILL_RUNTIME_TRAINING_EVENTS_WRITER_H_
#define RILL_RUNTIME_TRAINING_EVENTS_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/protos/event.pb.h"

namespace rill {

class EventsWriter {
 public:
  // A new event file in `dir` (made when missing), its version record
  // written.
  static absl::StatusOr<std::unique_ptr<EventsWriter>> Create(
      const std::string& dir);
  ~EventsWriter();

  const std::string& path() const { return path_; }

  // A scalar summary of `tag` at `step`, stamped with the time now.
  absl::Status Scalar(absl::string_view tag, int64_t step, double value);
  // A summary (a summary op's output) at `step`, stamped with the time now.
  absl::Status Summary(::tensorflow::Summary summary, int64_t step);
  absl::Status Write(const ::tensorflow::Event& event);
  // Hands what was written to the file system.
  absl::Status Flush();

 private:
  EventsWriter(std::string path, std::FILE* file)
      : path_(std::move(path)), file_(file) {}
  std::string path_;
  std::FILE* file_;
};

// The events of a file EventsWriter wrote; DATA_LOSS naming the offset
// where a record is cut short or its checksum does not match.
absl::StatusOr<std::vector<::tensorflow::Event>> ReadEvents(
    const std::string& path);

}  // namespace rill

#endif  // RILL_RUNTIME_TRAINING_EVENTS_WRITER_H_
