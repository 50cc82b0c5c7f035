// CPU kernels of the string ops (core/ops/string_ops.cc). Strings are bytes;
// the UTF8_CHAR unit counts code points by their lead bytes, as TensorFlow
// does, without validating the encoding.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/framework/kernel_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/hash.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/broadcast.h"
#include "kernels/cpu/int_values.h"
#include "re2/re2.h"

namespace rill {
namespace {

// Applies fn to each string of input 0 into an output of its shape.
template <typename Out, typename Fn>
absl::Status MapStrings(OpKernelContext* ctx, Fn&& fn) {
  const Tensor& in = ctx->input(0);
  ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, in.shape()));
  auto strings = in.flat<std::string>();
  auto values = out->flat<Out>();
  for (int64_t i = 0; i < in.NumElements(); ++i) values[i] = fn(strings[i], i);
  return absl::OkStatus();
}

bool IsUtf8Lead(char c) { return (static_cast<uint8_t>(c) & 0xC0) != 0x80; }

int64_t Utf8Length(absl::string_view s) {
  int64_t n = 0;
  for (char c : s) n += IsUtf8Lead(c);
  return n;
}

// The byte offset of code point `k` of s (s.size() when k is the count).
size_t Utf8Offset(absl::string_view s, int64_t k) {
  size_t i = 0;
  for (; i < s.size(); ++i) {
    if (IsUtf8Lead(s[i]) && k-- == 0) return i;
  }
  return i;
}

absl::Status UnitAttr(OpKernelConstruction* c, bool* utf8) {
  std::string unit;
  RETURN_IF_ERROR(c->GetAttr("unit", &unit));
  *utf8 = unit == "UTF8_CHAR";
  return absl::OkStatus();
}

// A scalar string input.
absl::StatusOr<std::string> StringScalar(OpKernelContext* ctx, int i,
                                         const char* what) {
  const Tensor& t = ctx->input(i);
  if (t.dims() != 0) {
    return ctx->InvalidArgument(
        absl::StrCat(what, " must be a scalar, got ", t.shape().DebugString()));
  }
  return t.scalar<std::string>();
}

absl::StatusOr<std::unique_ptr<RE2>> Compile(const OpKernel& kernel,
                                             const std::string& pattern) {
  auto re = std::make_unique<RE2>(pattern, RE2::Quiet);
  if (!re->ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("node '", kernel.name(), "': pattern '", pattern,
                     "' is not a regular expression: ", re->error()));
  }
  return re;
}

class StringLengthOp : public OpKernel {
 public:
  explicit StringLengthOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = UnitAttr(c, &utf8_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    return MapStrings<int32_t>(ctx, [&](const std::string& s, int64_t) {
      return static_cast<int32_t>(utf8_ ? Utf8Length(s) : s.size());
    });
  }

 private:
  absl::Status status_;
  bool utf8_ = false;
};

// StringStrip, StringLower, StringUpper: ASCII whitespace and case, as
// TensorFlow's with no encoding.
template <std::string (*kFn)(absl::string_view)>
class StringMapOp : public OpKernel {
 public:
  explicit StringMapOp(OpKernelConstruction* c) : OpKernel(c) {
    std::string encoding;
    if (c->GetAttr("encoding", &encoding).ok() && !encoding.empty()) {
      status_ = absl::UnimplementedError(absl::StrCat(
          "node '", name(), "': ", type_string(), " with encoding '", encoding,
          "' (Unicode case mapping) is not supported; only ASCII (encoding "
          "'')"));
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    return MapStrings<std::string>(
        ctx, [](const std::string& s, int64_t) { return kFn(s); });
  }

 private:
  absl::Status status_;
};

std::string Strip(absl::string_view s) {
  return std::string(absl::StripAsciiWhitespace(s));
}
std::string Lower(absl::string_view s) {
  std::string out(s);
  absl::AsciiStrToLower(&out);
  return out;
}
std::string Upper(absl::string_view s) {
  std::string out(s);
  absl::AsciiStrToUpper(&out);
  return out;
}

class StringToHashBucketFastOp : public OpKernel {
 public:
  explicit StringToHashBucketFastOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("num_buckets", &buckets_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    return MapStrings<int64_t>(ctx, [&](const std::string& s, int64_t) {
      return static_cast<int64_t>(Fingerprint64(s) %
                                  static_cast<uint64_t>(buckets_));
    });
  }

 private:
  absl::Status status_;
  int64_t buckets_ = 1;
};

class StringToHashBucketStrongOp : public OpKernel {
 public:
  explicit StringToHashBucketStrongOp(OpKernelConstruction* c) : OpKernel(c) {
    std::vector<int64_t> key;
    status_ = c->GetAttr("num_buckets", &buckets_);
    if (status_.ok()) status_ = c->GetAttr("key", &key);
    if (status_.ok() && key.size() != 2) {
      status_ = absl::InvalidArgumentError(absl::StrCat(
          "node '", name(), "': key must have 2 elements, got ", key.size()));
    }
    if (status_.ok()) {
      key0_ = static_cast<uint64_t>(key[0]);
      key1_ = static_cast<uint64_t>(key[1]);
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    return MapStrings<int64_t>(ctx, [&](const std::string& s, int64_t) {
      return static_cast<int64_t>(SipHash24(key0_, key1_, s) %
                                  static_cast<uint64_t>(buckets_));
    });
  }

 private:
  absl::Status status_;
  int64_t buckets_ = 1;
  uint64_t key0_ = 0, key1_ = 0;
};

// Fingerprint (farmhash64): each row of data, as its bytes; a row of
// strings is the fingerprint of its strings' fingerprints (one string: its
// own fingerprint). Each value is written as 8 little-endian bytes.
class FingerprintOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& data = ctx->input(0);
    ASSIGN_OR_RETURN(std::string method, StringScalar(ctx, 1, "method"));
    if (method != "farmhash64") {
      return ctx->InvalidArgument(absl::StrCat(
          "unsupported fingerprint method '", method, "' (only farmhash64)"));
    }
    if (data.dims() < 1) {
      return ctx->InvalidArgument(
          absl::StrCat("data must have at least one dimension, got ",
                       data.shape().DebugString()));
    }
    const int64_t rows = data.dim_size(0);
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output(0, TensorShape({rows, 8})));
    const int64_t per_row = rows == 0 ? 0 : data.NumElements() / rows;
    for (int64_t r = 0; r < rows; ++r) {
      uint64_t fp;
      if (data.dtype() == DT_STRING) {
        auto strings = data.flat<std::string>().subspan(r * per_row, per_row);
        if (per_row == 1) {
          fp = Fingerprint64(strings[0]);
        } else {
          std::string fps(8 * per_row, '\0');
          for (int64_t j = 0; j < per_row; ++j) {
            const uint64_t f = Fingerprint64(strings[j]);
            std::memcpy(&fps[8 * j], &f, 8);
          }
          fp = Fingerprint64(fps);
        }
      } else {
        const size_t bytes = DataTypeSize(data.dtype()) * per_row;
        fp = Fingerprint64(std::string_view(
            static_cast<const char*>(data.raw_data()) + r * bytes, bytes));
      }
      std::memcpy(out->flat<uint8_t>().data() + 8 * r, &fp, 8);
    }
    return absl::OkStatus();
  }
};

class EncodeBase64Op : public OpKernel {
 public:
  explicit EncodeBase64Op(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("pad", &pad_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    return MapStrings<std::string>(ctx, [&](const std::string& s, int64_t) {
      std::string out = absl::WebSafeBase64Escape(s);
      while (pad_ && out.size() % 4 != 0) out.push_back('=');
      return out;
    });
  }

 private:
  absl::Status status_;
  bool pad_ = false;
};

class DecodeBase64Op : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& in = ctx->input(0);
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, in.shape()));
    for (int64_t i = 0; i < in.NumElements(); ++i) {
      const std::string& s = in.flat<std::string>()[i];
      if (!absl::WebSafeBase64Unescape(s, &out->flat<std::string>()[i])) {
        return ctx->InvalidArgument(absl::StrCat("element ", i,
                                                 " is not web-safe base64: '",
                                                 absl::CHexEscape(s), "'"));
      }
    }
    return absl::OkStatus();
  }
};

// RE2's full match of each element against the pattern (TensorFlow's
// regular expressions are RE2's): StaticRegexFullMatch's from an attr,
// RegexFullMatch's from a scalar input.
class RegexFullMatchOp : public OpKernel {
 public:
  explicit RegexFullMatchOp(OpKernelConstruction* c) : OpKernel(c) {
    std::string pattern;
    if (c->GetAttr("pattern", &pattern).ok()) {
      auto re = Compile(*this, pattern);
      if (re.ok()) {
        re_ = *std::move(re);
      } else {
        status_ = re.status();
      }
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const RE2* re = re_.get();
    std::unique_ptr<RE2> compiled;
    if (re == nullptr) {
      ASSIGN_OR_RETURN(std::string pattern, StringScalar(ctx, 1, "pattern"));
      ASSIGN_OR_RETURN(compiled, Compile(*this, pattern));
      re = compiled.get();
    }
    return MapStrings<bool>(ctx, [re](const std::string& s, int64_t) {
      return RE2::FullMatch(s, *re);
    });
  }

 private:
  absl::Status status_;
  std::unique_ptr<RE2> re_;
};

// StaticRegexReplace (pattern and rewrite from attrs) and RegexReplace
// (scalar inputs): every match, or the first with replace_global = false;
// \0..\9 in the rewrite name the match's groups.
class RegexReplaceOp : public OpKernel {
 public:
  explicit RegexReplaceOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("replace_global", &global_);
    std::string pattern;
    if (status_.ok() && c->GetAttr("pattern", &pattern).ok()) {
      status_ = c->GetAttr("rewrite", &rewrite_);
      auto re = Compile(*this, pattern);
      if (re.ok()) {
        re_ = *std::move(re);
      } else if (status_.ok()) {
        status_ = re.status();
      }
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const RE2* re = re_.get();
    std::string rewrite = rewrite_;
    std::unique_ptr<RE2> compiled;
    if (re == nullptr) {
      ASSIGN_OR_RETURN(std::string pattern, StringScalar(ctx, 1, "pattern"));
      ASSIGN_OR_RETURN(rewrite, StringScalar(ctx, 2, "rewrite"));
      ASSIGN_OR_RETURN(compiled, Compile(*this, pattern));
      re = compiled.get();
    }
    std::string error;
    if (!re->CheckRewriteString(rewrite, &error)) {
      return ctx->InvalidArgument(absl::StrCat(
          "rewrite '", rewrite, "' does not fit the pattern: ", error));
    }
    return MapStrings<std::string>(ctx, [&](const std::string& s, int64_t) {
      std::string out = s;
      if (global_) {
        RE2::GlobalReplace(&out, *re, rewrite);
      } else {
        RE2::Replace(&out, *re, rewrite);
      }
      return out;
    });
  }

 private:
  absl::Status status_;
  bool global_ = true;
  std::unique_ptr<RE2> re_;
  std::string rewrite_;
};

class StringJoinOp : public OpKernel {
 public:
  explicit StringJoinOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("separator", &separator_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    // The shape of the inputs that are not scalars (all the same).
    TensorShape shape;
    for (int i = 0; i < ctx->num_inputs(); ++i) {
      const Tensor& in = ctx->input(i);
      if (in.dims() == 0) continue;
      if (shape.dims() == 0) {
        shape = in.shape();
      } else if (in.shape() != shape) {
        return ctx->InvalidArgument(absl::StrCat(
            "input ", i, " has shape ", in.shape().DebugString(),
            "; the inputs are scalars or of one shape, ", shape.DebugString()));
      }
    }
    ASSIGN_OR_RETURN(Tensor out, Tensor::Create(DT_STRING, shape));
    auto joined = out.flat<std::string>();
    for (int64_t e = 0; e < out.NumElements(); ++e) {
      for (int i = 0; i < ctx->num_inputs(); ++i) {
        const Tensor& in = ctx->input(i);
        if (i > 0) joined[e] += separator_;
        joined[e] += in.flat<std::string>()[in.dims() == 0 ? 0 : e];
      }
    }
    ctx->set_output(0, std::move(out));
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  std::string separator_;
};

// Substr(input, pos, len): pos counts from the end when negative and must
// fall within the string (its end included); a negative len, or one past
// the end, takes the rest. pos and len broadcast against the input.
class SubstrOp : public OpKernel {
 public:
  explicit SubstrOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = UnitAttr(c, &utf8_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& in = ctx->input(0);
    const Tensor& pos_t = ctx->input(1);
    const Tensor& len_t = ctx->input(2);
    if (pos_t.shape() != len_t.shape()) {
      return ctx->InvalidArgument(absl::StrCat(
          "pos has shape ", pos_t.shape().DebugString(), " and len ",
          len_t.shape().DebugString(), "; they must be of one shape"));
    }
    absl::StatusOr<PartialTensorShape> shape = BroadcastShapes(
        PartialTensorShape(in.shape()), PartialTensorShape(pos_t.shape()));
    if (!shape.ok()) return ctx->InvalidArgument(shape.status().message());
    ASSIGN_OR_RETURN(TensorShape out_shape, shape->AsTensorShape());
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, out_shape));
    const std::vector<int64_t> pos = IntValues(pos_t);
    const std::vector<int64_t> len = IntValues(len_t);
    auto strings = in.flat<std::string>();
    auto result = out->flat<std::string>();
    absl::Status status;
    BroadcastIndexer(out_shape, in.shape(), pos_t.shape())
        .ForRange(0, out_shape.num_elements(),
                  [&](int64_t i, int64_t si, int64_t pi) {
                    if (!status.ok()) return;
                    status =
                        Cut(ctx, strings[si], pos[pi], len[pi], i, &result[i]);
                  });
    return status;
  }

 private:
  absl::Status Cut(OpKernelContext* ctx, absl::string_view s, int64_t pos,
                   int64_t len, int64_t i, std::string* out) const {
    const int64_t size = utf8_ ? Utf8Length(s) : static_cast<int64_t>(s.size());
    const int64_t start = pos < 0 ? pos + size : pos;
    if (start < 0 || start > size) {
      return ctx->InvalidArgument(absl::StrCat(
          "pos ", pos, " out of range for string '", absl::CHexEscape(s), "' (",
          size, utf8_ ? " characters" : " bytes", ") at index ", i));
    }
    const int64_t count = len < 0 ? size - start : std::min(len, size - start);
    if (utf8_) {
      const size_t begin = Utf8Offset(s, start);
      const size_t end = Utf8Offset(s, start + count);
      *out = std::string(s.substr(begin, end - begin));
    } else {
      *out = std::string(s.substr(start, count));
    }
    return absl::OkStatus();
  }

  absl::Status status_;
  bool utf8_ = false;
};

// AsString: printf's formats, as TensorFlow builds them from the attrs.
template <typename T>
class AsStringOp : public OpKernel {
 public:
  explicit AsStringOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = Init(c);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& in = ctx->input(0);
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, in.shape()));
    auto values = in.flat<T>();
    auto strings = out->flat<std::string>();
    for (int64_t i = 0; i < in.NumElements(); ++i) {
      strings[i] = Format(values[i]);
    }
    return absl::OkStatus();
  }

 private:
  static constexpr bool kFloat = std::is_floating_point_v<T> ||
                                 std::is_same_v<T, Half> ||
                                 std::is_same_v<T, BFloat16>;

  absl::Status Init(OpKernelConstruction* c) {
    int64_t precision = -1, width = -1;
    bool scientific = false, shortest = false;
    std::string fill;
    RETURN_IF_ERROR(c->GetAttr("precision", &precision));
    RETURN_IF_ERROR(c->GetAttr("scientific", &scientific));
    RETURN_IF_ERROR(c->GetAttr("shortest", &shortest));
    RETURN_IF_ERROR(c->GetAttr("width", &width));
    RETURN_IF_ERROR(c->GetAttr("fill", &fill));
    const std::string dtype = DataTypeName(DataTypeToEnum<T>::value);
    auto bad = [&](const std::string& what) {
      return absl::InvalidArgumentError(
          absl::StrCat("node '", name(), "': ", what));
    };
    if (scientific && shortest) {
      return bad("scientific and shortest notation cannot both be chosen");
    }
    if (fill.size() > 1 ||
        (fill.size() == 1 && !absl::StrContains(" +-0#", fill[0]))) {
      return bad(absl::StrCat("fill '", absl::CHexEscape(fill),
                              "' is not one of ' ', '+', '-', '0', '#'"));
    }
    if (!kFloat && (scientific || shortest)) {
      return bad(
          absl::StrCat("scientific and shortest notation are not "
                       "supported for ",
                       dtype));
    }
    if (!kFloat && !std::is_same_v<T, std::string> && precision > -1) {
      return bad(absl::StrCat("precision is not supported for ", dtype));
    }
    if (width > 1000 || precision > 1000) {
      return bad("width and precision must be at most 1000");
    }
    width_ = width;
    left_ = fill == "-";
    format_ = absl::StrCat("%", fill);
    if (width > -1) absl::StrAppend(&format_, width);
    if (kFloat && precision > -1) absl::StrAppend(&format_, ".", precision);
    if constexpr (kFloat) {
      format_ += shortest ? "g" : scientific ? "e" : "f";
    } else if constexpr (std::is_same_v<T, std::string>) {
      format_ += "s";
    } else if constexpr (std::is_signed_v<T>) {
      format_ += "lld";
    } else {
      format_ += "llu";
    }
    return absl::OkStatus();
  }

  std::string Format(const T& v) const {
    if constexpr (std::is_same_v<T, bool>) {
      return v ? "true" : "false";
    } else if constexpr (std::is_same_v<T, std::string>) {
      // Padded to the width, on the right with '-' (printf's %s would stop
      // at a NUL byte).
      if (static_cast<int64_t>(v.size()) >= width_) return v;
      const std::string pad(width_ - v.size(), ' ');
      return left_ ? v + pad : pad + v;
    } else {
      char buf[2100];
      int n;
      if constexpr (std::is_same_v<T, double>) {
        n = std::snprintf(buf, sizeof(buf), format_.c_str(), v);
      } else if constexpr (kFloat) {
        n = std::snprintf(buf, sizeof(buf), format_.c_str(),
                          static_cast<double>(static_cast<float>(v)));
      } else if constexpr (std::is_signed_v<T>) {
        n = std::snprintf(buf, sizeof(buf), format_.c_str(),
                          static_cast<long long>(v));  // NOLINT(runtime/int)
      } else {
        n = std::snprintf(
            buf, sizeof(buf), format_.c_str(),
            static_cast<unsigned long long>(v));  // NOLINT(runtime/int)
      }
      n = std::clamp(n, 0, static_cast<int>(sizeof(buf)) - 1);
      return std::string(buf, n);
    }
  }

  absl::Status status_;
  std::string format_;
  int64_t width_ = -1;
  bool left_ = false;
};

// StringToNumber: the whole string (surrounding whitespace aside) must be
// one number that fits the type; floats also take inf, nan and hex.
template <typename T>
class StringToNumberOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& in = ctx->input(0);
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, in.shape()));
    auto values = out->flat<T>();
    for (int64_t i = 0; i < in.NumElements(); ++i) {
      const std::string& s = in.flat<std::string>()[i];
      if (!Parse(s, &values[i])) {
        return ctx->InvalidArgument(absl::StrCat(
            "element ", i, ", '", absl::CHexEscape(s), "', is not a ",
            DataTypeName(DataTypeToEnum<T>::value)));
      }
    }
    return absl::OkStatus();
  }

 private:
  static bool Parse(const std::string& s, T* v) {
    if constexpr (std::is_floating_point_v<T>) {
      const std::string text(absl::StripAsciiWhitespace(s));
      if (text.empty()) return false;
      char* end = nullptr;
      if constexpr (std::is_same_v<T, float>) {
        *v = std::strtof(text.c_str(), &end);
      } else {
        *v = std::strtod(text.c_str(), &end);
      }
      return end == text.c_str() + text.size();
    } else {
      return absl::SimpleAtoi(s, v);
    }
  }
};

// ReduceJoin: joins along each reduced dimension in the order the
// reduction_indices give (the first listed varies fastest in the joined
// string); no indices leaves the input as it is.
class ReduceJoinOp : public OpKernel {
 public:
  explicit ReduceJoinOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("keep_dims", &keep_dims_);
    if (status_.ok()) status_ = c->GetAttr("separator", &separator_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& in = ctx->input(0);
    const int rank = in.dims();
    std::vector<int> order;
    std::vector<bool> reduced(rank, false);
    for (int64_t axis : IntValues(ctx->input(1))) {
      if (axis < -rank || axis >= rank) {
        return absl::OutOfRangeError(
            absl::StrCat("node '", name(), "': reduction dimension ", axis,
                         " is out of range for an input of rank ", rank));
      }
      const int d = static_cast<int>(axis < 0 ? axis + rank : axis);
      if (reduced[d]) {
        return ctx->InvalidArgument(
            absl::StrCat("dimension ", d, " is reduced twice"));
      }
      reduced[d] = true;
      order.push_back(d);
    }
    std::vector<int64_t> dims;
    std::vector<int64_t> strides(rank, 1);
    for (int d = rank - 2; d >= 0; --d) {
      strides[d] = strides[d + 1] * in.dim_size(d + 1);
    }
    std::vector<int> kept;
    for (int d = 0; d < rank; ++d) {
      if (!reduced[d]) {
        dims.push_back(in.dim_size(d));
        kept.push_back(d);
      } else if (keep_dims_) {
        dims.push_back(1);
      }
    }
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, shape));
    int64_t group = 1;
    for (int d : order) group *= in.dim_size(d);
    auto strings = in.flat<std::string>();
    std::vector<int64_t> idx;
    for (int64_t o = 0; o < out->NumElements(); ++o) {
      // The input offset of this output's first element.
      int64_t base = 0, rest = o;
      for (int k = static_cast<int>(kept.size()) - 1; k >= 0; --k) {
        const int d = kept[k];
        base += (rest % in.dim_size(d)) * strides[d];
        rest /= in.dim_size(d);
      }
      std::string& joined = out->flat<std::string>()[o];
      idx.assign(order.size(), 0);
      for (int64_t g = 0; g < group; ++g) {
        int64_t offset = base;
        for (size_t k = 0; k < order.size(); ++k) {
          offset += idx[k] * strides[order[k]];
        }
        if (g > 0) joined += separator_;
        joined += strings[offset];
        for (size_t k = 0; k < order.size(); ++k) {
          if (++idx[k] < in.dim_size(order[k])) break;
          idx[k] = 0;
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  bool keep_dims_ = false;
  std::string separator_;
};

// StringSplitV2: by sep, every occurrence (empty pieces kept; an empty
// string is one empty piece); with an empty sep, by runs of whitespace
// (no empty pieces). At most maxsplit splits when it is >= 0, the rest of
// the string the last piece.
class StringSplitV2Op : public OpKernel {
 public:
  explicit StringSplitV2Op(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("maxsplit", &maxsplit_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& in = ctx->input(0);
    if (in.dims() != 1) {
      return ctx->InvalidArgument(absl::StrCat("input must be a vector, got ",
                                               in.shape().DebugString()));
    }
    ASSIGN_OR_RETURN(std::string sep, StringScalar(ctx, 1, "sep"));
    std::vector<std::pair<int64_t, absl::string_view>> pieces;
    int64_t widest = 0;
    for (int64_t r = 0; r < in.NumElements(); ++r) {
      const absl::string_view s = in.flat<std::string>()[r];
      const size_t before = pieces.size();
      Split(s, sep, [&](absl::string_view p) { pieces.emplace_back(r, p); });
      widest = std::max<int64_t>(widest, pieces.size() - before);
    }
    const int64_t n = static_cast<int64_t>(pieces.size());
    ASSIGN_OR_RETURN(Tensor * indices,
                     ctx->allocate_output(0, TensorShape({n, 2})));
    ASSIGN_OR_RETURN(Tensor * values,
                     ctx->allocate_output(1, TensorShape({n})));
    ASSIGN_OR_RETURN(Tensor * shape, ctx->allocate_output(2, TensorShape({2})));
    int64_t column = 0;
    for (int64_t i = 0; i < n; ++i) {
      column = i > 0 && pieces[i - 1].first == pieces[i].first ? column + 1 : 0;
      indices->flat<int64_t>()[2 * i] = pieces[i].first;
      indices->flat<int64_t>()[2 * i + 1] = column;
      values->flat<std::string>()[i] = std::string(pieces[i].second);
    }
    shape->flat<int64_t>()[0] = in.NumElements();
    shape->flat<int64_t>()[1] = widest;
    return absl::OkStatus();
  }

 private:
  template <typename Fn>
  void Split(absl::string_view s, const std::string& sep, Fn&& emit) const {
    int64_t splits = 0;
    auto more = [&] { return maxsplit_ < 0 || splits < maxsplit_; };
    if (sep.empty()) {
      auto space = [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) != 0;
      };
      size_t i = 0;
      while (true) {
        while (i < s.size() && space(s[i])) ++i;
        if (i == s.size()) return;
        if (!more()) {
          emit(s.substr(i));
          return;
        }
        size_t j = i;
        while (j < s.size() && !space(s[j])) ++j;
        emit(s.substr(i, j - i));
        ++splits;
        i = j;
      }
    }
    size_t start = 0;
    while (more()) {
      const size_t at = s.find(sep, start);
      if (at == absl::string_view::npos) break;
      emit(s.substr(start, at - start));
      ++splits;
      start = at + sep.size();
    }
    emit(s.substr(start));
  }

  absl::Status status_;
  int64_t maxsplit_ = -1;
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<StringLengthOp>(KernelDef("StringLength", kDeviceCpu));
  RegisterKernel<StringMapOp<Strip>>(KernelDef("StringStrip", kDeviceCpu));
  RegisterKernel<StringMapOp<Lower>>(KernelDef("StringLower", kDeviceCpu));
  RegisterKernel<StringMapOp<Upper>>(KernelDef("StringUpper", kDeviceCpu));
  RegisterKernel<StringToHashBucketFastOp>(
      KernelDef("StringToHashBucketFast", kDeviceCpu));
  RegisterKernel<StringToHashBucketStrongOp>(
      KernelDef("StringToHashBucketStrong", kDeviceCpu));
  RegisterKernel<FingerprintOp>(KernelDef("Fingerprint", kDeviceCpu));
  RegisterKernel<EncodeBase64Op>(KernelDef("EncodeBase64", kDeviceCpu));
  RegisterKernel<DecodeBase64Op>(KernelDef("DecodeBase64", kDeviceCpu));
  RegisterKernel<RegexFullMatchOp>(
      KernelDef("StaticRegexFullMatch", kDeviceCpu));
  RegisterKernel<RegexFullMatchOp>(KernelDef("RegexFullMatch", kDeviceCpu));
  RegisterKernel<RegexReplaceOp>(KernelDef("StaticRegexReplace", kDeviceCpu));
  RegisterKernel<RegexReplaceOp>(KernelDef("RegexReplace", kDeviceCpu));
  RegisterKernel<StringJoinOp>(KernelDef("StringJoin", kDeviceCpu));
  RegisterKernel<SubstrOp>(KernelDef("Substr", kDeviceCpu));
  RegisterKernel<ReduceJoinOp>(KernelDef("ReduceJoin", kDeviceCpu));
  RegisterKernel<StringSplitV2Op>(KernelDef("StringSplitV2", kDeviceCpu));
  RegisterKernelForTypes<AsStringOp, float, double, int32_t, uint8_t, int16_t,
                         int8_t, int64_t, uint16_t, uint32_t, uint64_t, bool,
                         std::string>(KernelDef("AsString", kDeviceCpu), "T");
  RegisterKernelForTypes<StringToNumberOp, float, double, int32_t, int64_t,
                         uint32_t, uint64_t>(
      KernelDef("StringToNumber", kDeviceCpu), "out_type");
  return true;
}();

}  // namespace
}  // namespace rill
