#include "tools/tensor_text.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <span>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/platform/status_macros.h"

namespace rill::tools {
namespace {

// Code point `cp` as UTF-8.
void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A parsed JSON number, bool, string or list.
struct JsonNode {
  enum Kind { kNumber, kBool, kString, kList } kind = kNumber;
  double number = 0;
  bool is_integer = false;
  int64_t integer = 0;
  bool boolean = false;
  std::string text;  // kString, as UTF-8.
  std::vector<JsonNode> items;
};

class JsonParser {
 public:
  explicit JsonParser(absl::string_view text) : text_(text) {}

  absl::StatusOr<JsonNode> ParseDocument() {
    ASSIGN_OR_RETURN(JsonNode n, Parse(0));
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected trailing text");
    return n;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " at character ", pos_ + 1, " of '", text_, "'"));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && absl::ascii_isspace(text_[pos_])) ++pos_;
  }

  absl::StatusOr<JsonNode> Parse(int depth) {
    if (depth > 64) return Error("nesting deeper than 64");
    SkipSpace();
    if (pos_ >= text_.size()) return Error("expected a value");
    JsonNode n;
    const char c = text_[pos_];
    if (c == '[') {
      ++pos_;
      n.kind = JsonNode::kList;
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return n;
      }
      while (true) {
        ASSIGN_OR_RETURN(JsonNode item, Parse(depth + 1));
        n.items.push_back(std::move(item));
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
        } else if (pos_ < text_.size() && text_[pos_] == ']') {
          ++pos_;
          return n;
        } else {
          return Error("expected ',' or ']'");
        }
      }
    }
    if (c == '"') {
      n.kind = JsonNode::kString;
      RETURN_IF_ERROR(ParseString(&n.text));
      return n;
    }
    for (absl::string_view word : {"true", "false"}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        n.kind = JsonNode::kBool;
        n.boolean = word == "true";
        return n;
      }
    }
    size_t end = pos_;
    while (end < text_.size() &&
           (absl::ascii_isdigit(text_[end]) || strchr("+-.eE", text_[end]))) {
      ++end;
    }
    absl::string_view token = text_.substr(pos_, end - pos_);
    if (token.empty()) return Error("expected a number, true, false or [");
    if (absl::SimpleAtoi(token, &n.integer)) {
      n.is_integer = true;
      n.number = static_cast<double>(n.integer);
    } else if (!absl::SimpleAtod(token, &n.number)) {
      return Error(absl::StrCat("bad number '", token, "'"));
    }
    pos_ = end;
    return n;
  }

  // Four hex digits after "\u".
  absl::StatusOr<uint32_t> Hex4() {
    if (pos_ + 4 > text_.size()) return Error("bad \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      if (!absl::ascii_isxdigit(h)) return Error("bad \\u escape");
      v = v * 16 + (absl::ascii_isdigit(h) ? h - '0'
                                           : absl::ascii_tolower(h) - 'a' + 10);
    }
    return v;
  }

  // A JSON string at pos_ (its opening quote), escapes decoded, as UTF-8.
  absl::Status ParseString(std::string* out) {
    ++pos_;
    while (true) {
      if (pos_ >= text_.size()) return Error("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return absl::OkStatus();
      if (static_cast<unsigned char>(c) < 0x20) {
        return Error("control character in a string");
      }
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return Error("unterminated string");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          ASSIGN_OR_RETURN(uint32_t cp, Hex4());
          if (cp >= 0xD800 && cp < 0xDC00) {
            // A surrogate pair names one code point past U+FFFF.
            if (text_.substr(pos_, 2) != "\\u") {
              return Error("unpaired surrogate in a string");
            }
            pos_ += 2;
            ASSIGN_OR_RETURN(uint32_t low, Hex4());
            if (low < 0xDC00 || low >= 0xE000) {
              return Error("unpaired surrogate in a string");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            return Error("unpaired surrogate in a string");
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return Error(absl::StrCat("bad escape '\\", std::string(1, e), "'"));
      }
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

// Collects the shape (from the first element at each depth) and checks that
// every list at a depth has that length.
absl::Status Flatten(const JsonNode& n, int depth, std::vector<int64_t>* shape,
                     std::vector<const JsonNode*>* leaves) {
  if (n.kind != JsonNode::kList) {
    if (depth != static_cast<int>(shape->size())) {
      return absl::InvalidArgumentError("ragged nested list");
    }
    leaves->push_back(&n);
    return absl::OkStatus();
  }
  if (depth == static_cast<int>(shape->size())) {
    if (!leaves->empty())
      return absl::InvalidArgumentError("ragged nested list");
    shape->push_back(static_cast<int64_t>(n.items.size()));
  } else if (depth > static_cast<int>(shape->size()) ||
             (*shape)[depth] != static_cast<int64_t>(n.items.size())) {
    return absl::InvalidArgumentError("ragged nested list");
  }
  for (const JsonNode& item : n.items) {
    RETURN_IF_ERROR(Flatten(item, depth + 1, shape, leaves));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status Convert(const JsonNode& n, T* out) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (n.kind != JsonNode::kString) {
      return absl::InvalidArgumentError(
          "expected a string for a string tensor");
    }
    *out = n.text;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (n.kind != JsonNode::kBool) {
      return absl::InvalidArgumentError(
          "expected true or false for a bool tensor");
    }
    *out = n.boolean;
  } else if constexpr (std::is_floating_point_v<T>) {
    if (n.kind != JsonNode::kNumber) {
      return absl::InvalidArgumentError("expected a number");
    }
    *out = static_cast<T>(n.number);
  } else {
    if (n.kind != JsonNode::kNumber || !n.is_integer) {
      return absl::InvalidArgumentError(
          "expected an integer for an integer tensor");
    }
    if (n.integer < std::numeric_limits<T>::min() ||
        n.integer > std::numeric_limits<T>::max()) {
      return absl::InvalidArgumentError(
          absl::StrCat(n.integer, " does not fit the tensor's dtype"));
    }
    *out = static_cast<T>(n.integer);
  }
  return absl::OkStatus();
}

struct NpyType {
  DataType dtype;
  const char* descr;
};
constexpr NpyType kNpyTypes[] = {
    {DT_FLOAT, "<f4"}, {DT_DOUBLE, "<f8"}, {DT_INT32, "<i4"}, {DT_INT64, "<i8"},
    {DT_INT16, "<i2"}, {DT_INT8, "|i1"},   {DT_UINT8, "|u1"}, {DT_BOOL, "|b1"},
};

template <typename T>
void AppendValue(std::string* out, T v) {
  if constexpr (std::is_same_v<T, bool>) {
    absl::StrAppend(out, v ? "true" : "false");
  } else if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(v)) {
      absl::StrAppend(out, "NaN");
    } else if (std::isinf(v)) {
      absl::StrAppend(out, v > 0 ? "Infinity" : "-Infinity");
    } else {
      absl::StrAppend(out, v);
    }
  } else if constexpr (std::is_same_v<T, std::string>) {
    absl::StrAppend(out, JsonString(v));
  } else if constexpr (std::is_integral_v<T>) {
    absl::StrAppend(out, static_cast<int64_t>(v));
  } else {
    absl::StrAppend(out, v.bits);
  }
}

// Writes the values ", "-separated, a buffer at a time (a tensor's text can
// be many times its size). With 0 <= edge and more than
// kSummarizeThreshold values, only the first and last `edge`, "..." between.
void WriteValues(const Tensor& t, int64_t edge, std::ostream& out) {
  const int64_t n = t.NumElements();
  const bool summarize = edge >= 0 && n > kSummarizeThreshold && n > 2 * edge;
  VisitDataType(
      t.dtype(),
      [&]<typename T>() {
        const std::span<const T> values = t.flat<T>();
        std::string buffer;
        for (int64_t i = 0; i < n; ++i) {
          if (summarize && i == edge) {
            buffer += i > 0 ? ", ..." : "...";
            i = n - edge - 1;
            continue;
          }
          if (i > 0) buffer += ", ";
          AppendValue(&buffer, values[i]);
          if (buffer.size() >= (64 << 10)) {
            out << buffer;
            buffer.clear();
          }
        }
        out << buffer;
      },
      [] {});
}

}  // namespace

absl::StatusOr<Tensor> ParseJsonTensor(absl::string_view text, DataType dtype) {
  JsonParser parser(text);
  ASSIGN_OR_RETURN(JsonNode root, parser.ParseDocument());
  std::vector<int64_t> shape;
  std::vector<const JsonNode*> leaves;
  RETURN_IF_ERROR(Flatten(root, 0, &shape, &leaves));
  ASSIGN_OR_RETURN(TensorShape ts, TensorShape::Create(shape));
  ASSIGN_OR_RETURN(Tensor t, Tensor::Create(dtype, ts));
  absl::Status s = VisitDataType(
      dtype,
      [&]<typename T>() -> absl::Status {
        if constexpr (std::is_arithmetic_v<T> ||
                      std::is_same_v<T, std::string>) {
          auto out = t.flat<T>();
          for (size_t i = 0; i < leaves.size(); ++i) {
            RETURN_IF_ERROR(Convert<T>(*leaves[i], &out[i]));
          }
          return absl::OkStatus();
        } else {
          return absl::UnimplementedError(
              absl::StrCat("feeding ", DataTypeName(dtype),
                           " values as JSON is not supported"));
        }
      },
      [&] {
        return absl::UnimplementedError(
            absl::StrCat("cannot feed ", DataTypeName(dtype)));
      });
  RETURN_IF_ERROR(s);
  return t;
}

absl::StatusOr<Tensor> ReadNpy(const std::string& path, DataType dtype) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open())
    return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string data = buf.str();
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a usable .npy file: ", why));
  };
  if (data.size() < 10 || data.compare(0, 6, "\x93NUMPY") != 0)
    return bad("bad magic");
  const int major = static_cast<unsigned char>(data[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = static_cast<unsigned char>(data[8]) |
                 (static_cast<unsigned char>(data[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (data.size() < 12) return bad("truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) {
      header_len |= static_cast<size_t>(static_cast<unsigned char>(data[8 + i]))
                    << (8 * i);
    }
    header_start = 12;
  } else {
    return bad(absl::StrCat("unknown format version ", major));
  }
  if (header_start + header_len > data.size()) return bad("truncated header");
  const std::string header = data.substr(header_start, header_len);
  auto field = [&](absl::string_view key) -> std::string {
    size_t k = header.find(absl::StrCat("'", key, "'"));
    if (k == std::string::npos) return "";
    size_t colon = header.find(':', k);
    return colon == std::string::npos ? "" : header.substr(colon + 1);
  };
  const std::string descr_field = field("descr");
  const std::string order = field("fortran_order");
  const std::string shape_field = field("shape");
  if (descr_field.empty() || order.empty() || shape_field.empty())
    return bad("bad header");
  if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(order), "True")) {
    return bad("Fortran order is not supported");
  }
  const NpyType* type = nullptr;
  for (const NpyType& t : kNpyTypes) {
    if (descr_field.find(absl::StrCat("'", t.descr, "'")) != std::string::npos)
      type = &t;
  }
  // Strings: numpy's fixed-width bytes ('|S<n>') or UCS-4 text ('<U<n>').
  char string_kind = 0;
  int64_t width = 0;
  {
    const size_t q = descr_field.find('\'');
    const size_t q2 =
        q == std::string::npos ? q : descr_field.find('\'', q + 1);
    if (q2 != std::string::npos && q2 > q + 2) {
      const std::string descr = descr_field.substr(q + 1, q2 - q - 1);
      if ((absl::StartsWith(descr, "|S") || absl::StartsWith(descr, "<U")) &&
          absl::SimpleAtoi(descr.substr(2), &width) && width >= 0 &&
          width <= (int64_t{1} << 30)) {
        string_kind = descr[1];
      } else if (descr == "|O") {
        return bad(
            "object arrays are pickled; save strings as bytes (dtype S) or "
            "str (dtype U)");
      }
    }
  }
  const DataType file_dtype = string_kind != 0  ? DT_STRING
                              : type != nullptr ? type->dtype
                                                : DT_INVALID;
  if (file_dtype == DT_INVALID)
    return bad(absl::StrCat("unsupported dtype in ", header));
  if (dtype == DT_INVALID) dtype = file_dtype;
  if (file_dtype != dtype) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' holds ", NumpyName(file_dtype), " but ",
                     NumpyName(dtype), " is expected"));
  }
  size_t open = shape_field.find('('), close = shape_field.find(')');
  if (open == std::string::npos || close == std::string::npos)
    return bad("bad shape");
  std::vector<int64_t> dims;
  for (absl::string_view part :
       absl::StrSplit(shape_field.substr(open + 1, close - open - 1), ',',
                      absl::SkipWhitespace())) {
    int64_t d;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &d))
      return bad("bad shape");
    dims.push_back(d);
  }
  ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
  const size_t element = string_kind == 'S'   ? static_cast<size_t>(width)
                         : string_kind == 'U' ? static_cast<size_t>(width) * 4
                                              : DataTypeSize(dtype);
  const size_t body = header_start + header_len;
  const size_t available = data.size() - body;
  const int64_t n = shape.num_elements();
  if (element > 0 && static_cast<size_t>(n) > available / element) {
    return bad(absl::StrCat("has ", available, " data bytes, shape ",
                            shape.DebugString(), " needs more"));
  }
  const size_t bytes = static_cast<size_t>(n) * element;
  if (available != bytes) {
    return bad(
        absl::StrCat("has ", available, " data bytes, shape needs ", bytes));
  }
  ASSIGN_OR_RETURN(Tensor t, Tensor::Create(dtype, shape));
  if (string_kind == 0) {
    if (bytes > 0) std::memcpy(t.raw_data(), data.data() + body, bytes);
    return t;
  }
  // numpy pads each string to the width with NULs and drops them on read.
  auto strings = t.flat<std::string>();
  for (int64_t i = 0; i < n; ++i) {
    const char* p = data.data() + body + i * element;
    if (string_kind == 'S') {
      size_t len = element;
      while (len > 0 && p[len - 1] == '\0') --len;
      strings[i].assign(p, len);
      continue;
    }
    int64_t chars = width;
    auto code_point = [&](int64_t k) {
      uint32_t cp = 0;
      std::memcpy(&cp, p + 4 * k, 4);
      return cp;
    };
    while (chars > 0 && code_point(chars - 1) == 0) --chars;
    for (int64_t k = 0; k < chars; ++k) {
      const uint32_t cp = code_point(k);
      if (cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) {
        return bad(absl::StrCat("element ", i, " holds code point ", cp,
                                ", which is not Unicode"));
      }
      AppendUtf8(cp, &strings[i]);
    }
  }
  return t;
}

absl::Status WriteNpy(const Tensor& t, const std::string& path) {
  const NpyType* type = nullptr;
  for (const NpyType& n : kNpyTypes) {
    if (n.dtype == t.dtype()) type = &n;
  }
  if (type == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat("cannot write ", DataTypeName(t.dtype()), " as .npy"));
  }
  std::vector<std::string> dims;
  for (int64_t d : t.shape().dim_sizes()) dims.push_back(absl::StrCat(d));
  std::string header = absl::StrCat(
      "{'descr': '", type->descr, "', 'fortran_order': False, 'shape': (",
      absl::StrJoin(dims, ", "), dims.size() == 1 ? ",), }" : "), }");
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out.is_open())
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write '", path, "'"));
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  out.put(static_cast<char>(len & 0xff));
  out.put(static_cast<char>(len >> 8));
  out << header;
  out.write(static_cast<const char*>(t.raw_data()),
            static_cast<std::streamsize>(t.TotalBytes()));
  return out.good()
             ? absl::OkStatus()
             : absl::DataLossError(absl::StrCat("error writing '", path, "'"));
}

void WriteTensorJson(const Tensor& t, std::ostream& out) {
  std::vector<std::string> dims;
  for (int64_t d : t.shape().dim_sizes()) dims.push_back(absl::StrCat(d));
  out << "{\"dtype\": \"" << NumpyName(t.dtype()) << "\", \"shape\": ["
      << absl::StrJoin(dims, ", ") << "], \"values\": [";
  WriteValues(t, /*edge=*/-1, out);
  out << "]}";
}

void WriteTensorText(const Tensor& t, int64_t edge_items, std::ostream& out) {
  out << NumpyName(t.dtype()) << " " << t.shape().DebugString() << " [";
  WriteValues(t, edge_items, out);
  out << "]";
}

std::string TensorToJson(const Tensor& t) {
  std::ostringstream out;
  WriteTensorJson(t, out);
  return out.str();
}

std::string TensorToText(const Tensor& t, int64_t edge_items) {
  std::ostringstream out;
  WriteTensorText(t, edge_items, out);
  return out.str();
}

size_t Utf8Length(absl::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n = c < 0x80           ? 1
             : (c >> 5) == 0x6  ? 2
             : (c >> 4) == 0xe  ? 3
             : (c >> 3) == 0x1e ? 4
                                : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  }
  return n;
}

namespace {

bool IsUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8Length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace

std::string JsonString(absl::string_view s) {
  const bool utf8 = IsUtf8(s);
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || (c >= 0x80 && !utf8)) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace rill::tools
