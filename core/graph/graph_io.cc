#include "core/graph/graph_io.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"

namespace rill {
namespace {

// Keeps the first text-format parse error instead of logging it.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (message_.empty()) {
      message_ = absl::StrCat("line ", line + 1, ", column ", column + 1, ": ",
                              message);
    }
  }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

}  // namespace

GraphFormat FormatForPath(absl::string_view path) {
  for (absl::string_view ext : {".pbtxt", ".pbtext", ".txt", ".prototxt"}) {
    if (absl::EndsWith(path, ext)) return GraphFormat::kText;
  }
  return GraphFormat::kBinary;
}

absl::StatusOr<::tensorflow::GraphDef> ParseGraphDef(absl::string_view bytes,
                                                     GraphFormat format,
                                                     absl::string_view what) {
  ::tensorflow::GraphDef def;
  if (format == GraphFormat::kText) {
    google::protobuf::TextFormat::Parser parser;
    FirstError errors;
    parser.RecordErrorsTo(&errors);
    if (!parser.ParseFromString(std::string(bytes), &def)) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " is not a valid text GraphDef: ", errors.message()));
    }
    return def;
  }
  if (!def.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " is not a valid binary GraphDef (truncated or corrupt)"));
  }
  return def;
}

absl::StatusOr<::tensorflow::GraphDef> ReadGraphDef(absl::string_view path) {
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in.is_open()) {
    return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("error reading '", path, "'"));
  }
  const std::string bytes = buffer.str();
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("'", path, "' is larger than 2 GiB"));
  }
  return ParseGraphDef(bytes, FormatForPath(path),
                       absl::StrCat("'", path, "'"));
}

absl::Status WriteGraphDef(const ::tensorflow::GraphDef& def,
                           absl::string_view path, GraphFormat format) {
  std::string bytes;
  if (format == GraphFormat::kText) {
    if (!google::protobuf::TextFormat::PrintToString(def, &bytes)) {
      return absl::InternalError("cannot print the GraphDef as text");
    }
  } else {
    if (def.ByteSizeLong() > static_cast<size_t>(INT32_MAX)) {
      return absl::InvalidArgumentError(
          "cannot serialize the GraphDef: it is larger than 2 GiB");
    }
    // Deterministic: attr maps in key order, so the same graph is always
    // the same bytes.
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!def.SerializeToCodedStream(&coded)) {
      return absl::InternalError("cannot serialize the GraphDef");
    }
  }
  const std::string tmp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out.is_open()) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot write '", tmp, "'"));
    }
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out.good()) {
      std::remove(tmp.c_str());
      return absl::DataLossError(absl::StrCat("error writing '", tmp, "'"));
    }
  }
  if (std::rename(tmp.c_str(), std::string(path).c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::PermissionDeniedError(
        absl::StrCat("cannot rename '", tmp, "' to '", path, "'"));
  }
  return absl::OkStatus();
}

}  // namespace rill
