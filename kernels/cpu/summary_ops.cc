// The logging ops. ScalarSummary, HistogramSummary and MergeSummary:
// serialized tensorflow.Summary protos (core/protos/summary.proto), as
// TensorFlow's kernels make them. Assert and CheckNumerics, which fail the
// step with what they found. Print, StringFormat and PrintV2, which write
// tensors out, summarized as numpy prints them.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/file_root.h"
#include "core/platform/status_macros.h"
#include "core/protos/summary.pb.h"

namespace rill {
namespace {

template <typename T>
class ScalarSummaryOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& tags = ctx->input(0);
    const Tensor& values = ctx->input(1);
    if (tags.shape() != values.shape()) {
      return ctx->InvalidArgument(absl::StrCat(
          "tags and values must have the same shape, not ",
          tags.shape().DebugString(), " and ", values.shape().DebugString()));
    }
    ::tensorflow::Summary summary;
    auto t = tags.flat<std::string>();
    auto v = values.flat<T>();
    for (int64_t i = 0; i < tags.NumElements(); ++i) {
      auto* value = summary.add_value();
      value->set_tag(t[i]);
      value->set_simple_value(static_cast<float>(v[i]));
    }
    ctx->set_output(0,
                    Tensor::Scalar<std::string>(summary.SerializeAsString()));
    return absl::OkStatus();
  }
};

// TensorFlow's histogram buckets: 0, and from 1e-12 up to 1e20 growing by
// 10% each, mirrored below 0, with DBL_MAX and -DBL_MAX at the ends. Each
// limit is a bucket's exclusive upper end.
const std::vector<double>& BucketLimits() {
  static const std::vector<double>* limits = [] {
    std::vector<double> positive;
    for (double v = 1.0e-12; v < 1.0e20; v *= 1.1) positive.push_back(v);
    positive.push_back(std::numeric_limits<double>::max());
    auto* all = new std::vector<double>();
    for (auto it = positive.rbegin(); it != positive.rend(); ++it) {
      all->push_back(-*it);
    }
    all->push_back(0.0);
    all->insert(all->end(), positive.begin(), positive.end());
    return all;
  }();
  return *limits;
}

// HistogramSummary: counts per bucket, with runs of empty buckets written
// as one (the run's last limit), as TensorFlow encodes them. NaN and
// infinities are refused, as TensorFlow does.
template <typename T>
class HistogramSummaryOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& tag = ctx->input(0);
    if (tag.dims() != 0) {
      return ctx->InvalidArgument(absl::StrCat("tag must be a scalar, got ",
                                               tag.shape().DebugString()));
    }
    const std::vector<double>& limits = BucketLimits();
    std::vector<double> counts(limits.size(), 0.0);
    double lo = limits.back(), hi = -limits.back(), sum = 0, squares = 0;
    for (const T& x : ctx->input(1).flat<T>()) {
      const double v = static_cast<double>(x);
      if (std::isnan(v) || std::isinf(v)) {
        return ctx->InvalidArgument(absl::StrCat(
            std::isnan(v) ? "NaN" : "infinity", " in the histogram of '",
            tag.scalar<std::string>(), "'"));
      }
      counts[std::upper_bound(limits.begin(), limits.end(), v) -
             limits.begin()] += 1.0;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
      squares += v * v;
    }
    ::tensorflow::Summary summary;
    auto* value = summary.add_value();
    value->set_tag(tag.scalar<std::string>());
    ::tensorflow::HistogramProto* h = value->mutable_histo();
    h->set_min(lo);
    h->set_max(hi);
    h->set_num(static_cast<double>(ctx->input(1).NumElements()));
    h->set_sum(sum);
    h->set_sum_squares(squares);
    for (size_t i = 0; i < counts.size();) {
      double end = limits[i];
      const double count = counts[i++];
      while (count <= 0.0 && i < counts.size() && counts[i] <= 0.0) {
        end = limits[i++];
      }
      h->add_bucket_limit(end);
      h->add_bucket(count);
    }
    ctx->set_output(0,
                    Tensor::Scalar<std::string>(summary.SerializeAsString()));
    return absl::OkStatus();
  }
};

class MergeSummaryOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ::tensorflow::Summary merged;
    absl::flat_hash_set<std::string> tags;
    for (int i = 0; i < ctx->num_inputs(); ++i) {
      for (const std::string& bytes : ctx->input(i).flat<std::string>()) {
        ::tensorflow::Summary one;
        if (!one.ParseFromString(bytes)) {
          return ctx->InvalidArgument(absl::StrCat(
              "input ", i, " holds a string that is not a Summary"));
        }
        for (auto& value : *one.mutable_value()) {
          if (!tags.insert(value.tag()).second) {
            return ctx->InvalidArgument(absl::StrCat(
                "duplicate tag '", value.tag(), "' in the summaries merged"));
          }
          *merged.add_value() = std::move(value);
        }
      }
    }
    ctx->set_output(0, Tensor::Scalar<std::string>(merged.SerializeAsString()));
    return absl::OkStatus();
  }
};

// Element i of t as text.
std::string ElementText(const Tensor& t, int64_t i) {
  std::string out;
  if (t.dtype() == DT_STRING) {
    return absl::StrCat("\"", absl::CEscape(t.flat<std::string>()[i]), "\"");
  }
  VisitDataType(
      t.dtype(),
      [&]<typename T>() {
        if constexpr (std::is_same_v<T, bool>) {
          out = t.flat<bool>()[i] ? "True" : "False";
        } else if constexpr (std::is_floating_point_v<T>) {
          // Enough digits to read the value back, as TensorFlow prints.
          out = absl::StrFormat(std::is_same_v<T, float> ? "%.9g" : "%.17g",
                                static_cast<double>(t.flat<T>()[i]));
        } else if constexpr (std::is_arithmetic_v<T>) {
          out = absl::StrCat(t.flat<T>()[i]);
        } else {
          out = "?";
        }
      },
      [&] { out = "?"; });
  return out;
}

// t as numpy prints it: nested brackets, rows on lines of their own, and
// only the first and last `summarize` entries of a longer dimension (all of
// them for summarize < 0). A scalar string is given as it is.
std::string Summarize(const Tensor& t, int64_t summarize) {
  if (t.dims() == 0) {
    return t.dtype() == DT_STRING ? t.scalar<std::string>() : ElementText(t, 0);
  }
  const std::vector<int64_t> strides = [&] {
    std::vector<int64_t> s(t.dims(), 1);
    for (int d = t.dims() - 2; d >= 0; --d) s[d] = s[d + 1] * t.dim_size(d + 1);
    return s;
  }();
  std::function<std::string(int, int64_t)> walk = [&](int d, int64_t at) {
    if (d == t.dims()) return ElementText(t, at);
    const int64_t n = t.dim_size(d);
    const std::string gap =
        d == t.dims() - 1 ? " " : absl::StrCat("\n", std::string(d + 1, ' '));
    std::string out = "[";
    for (int64_t i = 0; i < n; ++i) {
      if (summarize >= 0 && n > 2 * summarize && i == summarize) {
        absl::StrAppend(&out, "...", gap);
        i = n - summarize - 1;
        continue;
      }
      absl::StrAppend(&out, walk(d + 1, at + i * strides[d]),
                      i + 1 < n ? gap : "");
    }
    return out + "]";
  };
  return walk(0, 0);
}

// CheckNumerics: the tensor when every element is finite.
template <typename T>
class CheckNumericsOp : public OpKernel {
 public:
  explicit CheckNumericsOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("message", &message_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    bool nan = false, inf = false;
    for (T v : ctx->input(0).flat<T>()) {
      nan |= std::isnan(v);
      inf |= std::isinf(v);
    }
    if (nan || inf) {
      return ctx->InvalidArgument(absl::StrCat(
          message_, " : Tensor had ",
          nan && inf ? "Inf and NaN" : (nan ? "NaN" : "Inf"), " values"));
    }
    ctx->set_output(0, ctx->input(0));
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  std::string message_;
};

// Print (tf.compat.v1.Print): the input, after the message and each data
// tensor in brackets go to stderr.
class PrintOp : public OpKernel {
 public:
  explicit PrintOp(OpKernelConstruction* c) : OpKernel(c) {
    status_.Update(c->GetAttr("message", &message_));
    status_.Update(c->GetAttr("first_n", &first_n_));
    status_.Update(c->GetAttr("summarize", &summarize_));
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    if (first_n_ < 0 || printed_.fetch_add(1) < first_n_) {
      std::string line = message_;
      for (int i = 1; i < ctx->num_inputs(); ++i) {
        absl::StrAppend(&line, "[", Summarize(ctx->input(i), summarize_), "]");
      }
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    ctx->set_output(0, ctx->input(0));
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  std::string message_;
  int64_t first_n_ = -1;
  int64_t summarize_ = 3;
  mutable std::atomic<int64_t> printed_{0};
};

class StringFormatOp : public OpKernel {
 public:
  explicit StringFormatOp(OpKernelConstruction* c) : OpKernel(c) {
    std::string placeholder, format;
    status_.Update(c->GetAttr("template", &format));
    status_.Update(c->GetAttr("placeholder", &placeholder));
    status_.Update(c->GetAttr("summarize", &summarize_));
    if (status_.ok() && placeholder.empty()) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("node '", name(), "': placeholder must not be empty"));
    }
    if (status_.ok()) pieces_ = absl::StrSplit(format, placeholder);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    if (static_cast<int>(pieces_.size()) != ctx->num_inputs() + 1) {
      return ctx->InvalidArgument(
          absl::StrCat("the template has ", pieces_.size() - 1,
                       " placeholders for ", ctx->num_inputs(), " inputs"));
    }
    std::string out = pieces_[0];
    for (int i = 0; i < ctx->num_inputs(); ++i) {
      absl::StrAppend(&out, Summarize(ctx->input(i), summarize_),
                      pieces_[i + 1]);
    }
    ctx->set_output(0, Tensor::Scalar<std::string>(std::move(out)));
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  std::vector<std::string> pieces_;
  int64_t summarize_ = 3;
};

// PrintV2: the string to stderr or stdout (TensorFlow's log streams go to
// stderr here), or appended to the file of "file://PATH", which must lie
// under the process's file root (PERMISSION_DENIED otherwise).
class PrintV2Op : public OpKernel {
 public:
  explicit PrintV2Op(OpKernelConstruction* c) : OpKernel(c) {
    status_.Update(c->GetAttr("output_stream", &stream_));
    status_.Update(c->GetAttr("end", &end_));
    if (!status_.ok()) return;
    if (absl::StartsWith(stream_, "file://")) {
      file_ = stream_.substr(7);
      if (file_.empty()) {
        status_ = absl::InvalidArgumentError(absl::StrCat(
            "node '", name(), "': output_stream 'file://' names no file"));
      } else if (absl::Status s = CheckUnderFileRoot(file_); !s.ok()) {
        status_ = absl::Status(
            s.code(), absl::StrCat("node '", name(), "': ", s.message()));
      }
    } else if (stream_ != "stderr" && stream_ != "stdout" &&
               stream_ != "log(info)" && stream_ != "log(warning)" &&
               stream_ != "log(error)") {
      status_ = absl::InvalidArgumentError(absl::StrCat(
          "node '", name(), "': unknown output_stream '", stream_,
          "' (stderr, stdout, log(info), log(warning), log(error), "
          "file://PATH)"));
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& in = ctx->input(0);
    if (in.dtype() != DT_STRING || in.dims() != 0) {
      return ctx->InvalidArgument("input must be a string scalar");
    }
    const std::string text = in.scalar<std::string>() + end_;
    if (!file_.empty()) {
      std::FILE* f = std::fopen(file_.c_str(), "a");
      const bool written =
          f != nullptr &&
          std::fwrite(text.data(), 1, text.size(), f) == text.size();
      if (f == nullptr || std::fclose(f) != 0 || !written) {
        return ctx->InvalidArgument(absl::StrCat("cannot append to '", file_,
                                                 "': ", std::strerror(errno)));
      }
      return absl::OkStatus();
    }
    std::FILE* to = stream_ == "stdout" ? stdout : stderr;
    std::fwrite(text.data(), 1, text.size(), to);
    std::fflush(to);
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  std::string stream_;
  std::string end_;
  std::string file_;  // Of "file://PATH"; empty for the standard streams.
};

class AssertOp : public OpKernel {
 public:
  explicit AssertOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("summarize", &summarize_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& cond = ctx->input(0);
    if (cond.dtype() != DT_BOOL || cond.NumElements() != 1) {
      return ctx->InvalidArgument(absl::StrCat(
          "condition must be a bool scalar, got ", DataTypeName(cond.dtype()),
          " ", cond.shape().DebugString()));
    }
    if (cond.flat<bool>()[0]) return absl::OkStatus();
    // A message string is shown as it is; other data summarized.
    std::string message = "assertion failed:";
    const int entries = summarize_ < 0 ? 1 << 20 : static_cast<int>(summarize_);
    for (int i = 1; i < ctx->num_inputs(); ++i) {
      const Tensor& t = ctx->input(i);
      if (t.dtype() == DT_STRING && t.dims() == 0) {
        absl::StrAppend(&message, " [", t.scalar<std::string>(), "]");
      } else {
        absl::StrAppend(&message, " [", t.DebugString(entries), "]");
      }
    }
    return ctx->InvalidArgument(message);
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  int64_t summarize_ = 3;
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<AssertOp>(KernelDef("Assert", kDeviceCpu));
  RegisterKernelForTypes<CheckNumericsOp, float, double>(
      KernelDef("CheckNumerics", kDeviceCpu), "T");
  RegisterKernel<PrintOp>(KernelDef("Print", kDeviceCpu));
  RegisterKernel<StringFormatOp>(KernelDef("StringFormat", kDeviceCpu));
  RegisterKernel<PrintV2Op>(KernelDef("PrintV2", kDeviceCpu));
  RegisterKernelForTypes<ScalarSummaryOp, float, double, int32_t, int64_t>(
      KernelDef("ScalarSummary", kDeviceCpu), "T");
  RegisterKernelForTypes<HistogramSummaryOp, float, double, int32_t, int64_t,
                         uint8_t, int16_t, int8_t, uint16_t, uint32_t,
                         uint64_t>(KernelDef("HistogramSummary", kDeviceCpu),
                                   "T");
  RegisterKernel<MergeSummaryOp>(KernelDef("MergeSummary", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill
