#include "runtime/training/events_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/platform/crc32c.h"

namespace rill {
namespace {

// TFRecord's checksums are masked so that a CRC of data holding CRCs stays
// well spread.
uint32_t MaskedCrc(const void* data, size_t n) {
  const uint32_t crc = Crc32c(data, n);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

void PutFixed(uint64_t v, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i)
    out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetFixed(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return v;
}

double Now() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status MakeDirectories(const std::string& dir) {
  for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    const std::string prefix = dir.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot make the directory '", prefix, "': ", std::strerror(errno)));
    }
    if (slash == std::string::npos) break;
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", dir, "' is not a directory"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventsWriter>> EventsWriter::Create(
    const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("no log directory given");
  absl::Status made = MakeDirectories(dir);
  if (!made.ok()) return made;
  char host[256] = "localhost";
  (void)::gethostname(host, sizeof(host) - 1);
  // Two writers in one second (two runs into one directory) get two files.
  std::string path;
  std::FILE* file = nullptr;
  for (int n = 0; file == nullptr; ++n) {
    path = absl::StrCat(dir, "/events.out.tfevents.",
                        static_cast<int64_t>(Now()), ".", host,
                        n == 0 ? "" : absl::StrCat(".", ::getpid(), ".", n));
    file = std::fopen(path.c_str(), "wbx");
    if (file == nullptr && (errno != EEXIST || n > 100)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot write the event file '", path, "': ", std::strerror(errno)));
    }
  }
  std::unique_ptr<EventsWriter> writer(new EventsWriter(path, file));
  ::tensorflow::Event version;
  version.set_wall_time(Now());
  version.set_file_version("brain.Event:2");
  absl::Status written = writer->Write(version);
  if (written.ok()) written = writer->Flush();
  if (!written.ok()) return written;
  return writer;
}

EventsWriter::~EventsWriter() { std::fclose(file_); }

absl::Status EventsWriter::Scalar(absl::string_view tag, int64_t step,
                                  double value) {
  ::tensorflow::Summary summary;
  ::tensorflow::Summary::Value* v = summary.add_value();
  v->set_tag(std::string(tag));
  v->set_simple_value(static_cast<float>(value));
  return Summary(std::move(summary), step);
}

absl::Status EventsWriter::Summary(::tensorflow::Summary summary,
                                   int64_t step) {
  ::tensorflow::Event event;
  event.set_wall_time(Now());
  event.set_step(step);
  *event.mutable_summary() = std::move(summary);
  return Write(event);
}

absl::Status EventsWriter::Write(const ::tensorflow::Event& event) {
  const std::string data = event.SerializeAsString();
  std::string record;
  PutFixed(data.size(), 8, &record);
  PutFixed(MaskedCrc(record.data(), 8), 4, &record);
  record += data;
  PutFixed(MaskedCrc(data.data(), data.size()), 4, &record);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size()) {
    return absl::InternalError(absl::StrCat(
        "cannot write the event file '", path_, "': ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status EventsWriter::Flush() {
  if (std::fflush(file_) != 0) {
    return absl::InternalError(absl::StrCat(
        "cannot write the event file '", path_, "': ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<::tensorflow::Event>> ReadEvents(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("no file '", path, "'"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  std::vector<::tensorflow::Event> events;
  size_t at = 0;
  while (at < bytes.size()) {
    auto damaged = [&](absl::string_view why) {
      return absl::DataLossError(
          absl::StrCat("event file '", path, "': ", why, " at byte ", at));
    };
    if (bytes.size() - at < 12)
      return damaged("a record's header is cut short");
    const uint64_t n = GetFixed(&bytes[at], 8);
    if (GetFixed(&bytes[at + 8], 4) != MaskedCrc(&bytes[at], 8)) {
      return damaged("a record's length fails its checksum");
    }
    if (bytes.size() - at - 12 < n + 4) return damaged("a record is cut short");
    const char* data = &bytes[at + 12];
    if (GetFixed(data + n, 4) != MaskedCrc(data, n)) {
      return damaged("a record fails its checksum");
    }
    ::tensorflow::Event event;
    if (!event.ParseFromArray(data, static_cast<int>(n))) {
      return damaged("a record is not an Event");
    }
    events.push_back(std::move(event));
    at += 12 + n + 4;
  }
  return events;
}

}  // namespace rill
