#include "core/framework/tensor_shape.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

// a * b, or -1 when it overflows int64 (both are >= 0).
int64_t MultiplyOrOverflow(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_mul_overflow(a, b, &out)) return -1;
  return out;
}

}  // namespace

void ShapeDims::push_back(int64_t d) {
  if (size_ < kInline) {
    inline_[size_++] = d;
    return;
  }
  if (size_ == kInline || size_ == capacity_) {
    const uint32_t capacity = size_ * 2;
    int64_t* grown = new int64_t[capacity];
    std::copy(begin(), end(), grown);
    if (size_ > kInline) delete[] heap_;
    heap_ = grown;
    capacity_ = capacity;
  }
  heap_[size_++] = d;
}

bool ShapeDims::operator==(const ShapeDims& other) const {
  return size_ == other.size_ && std::equal(begin(), end(), other.begin());
}

void ShapeDims::CopyHeap(const ShapeDims& other) {
  heap_ = new int64_t[other.size_];
  std::copy(other.begin(), other.end(), heap_);
  capacity_ = other.size_;
}

TensorShape::TensorShape(std::initializer_list<int64_t> dims)
    : num_elements_(1) {
  for (int64_t d : dims) {
    dims_.push_back(d);
    num_elements_ *= d;
  }
}

absl::StatusOr<TensorShape> TensorShape::Create(
    absl::Span<const int64_t> dims) {
  if (dims.size() > kMaxRank) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shape has rank ", dims.size(), ", above the limit of ", kMaxRank));
  }
  TensorShape shape;
  for (int64_t d : dims) RETURN_IF_ERROR(shape.AddDim(d));
  return shape;
}

absl::StatusOr<TensorShape> TensorShape::FromProto(
    const ::tensorflow::TensorShapeProto& proto) {
  if (proto.unknown_rank()) {
    return absl::InvalidArgumentError(
        "a tensor shape must be fully known, got unknown rank");
  }
  if (proto.dim_size() > kMaxRank) {
    return absl::InvalidArgumentError(
        absl::StrCat("shape has rank ", proto.dim_size(),
                     ", above the limit of ", kMaxRank));
  }
  TensorShape shape;
  for (const auto& d : proto.dim()) RETURN_IF_ERROR(shape.AddDim(d.size()));
  return shape;
}

absl::Status TensorShape::AddDim(int64_t size) {
  if (size < 0) {
    return absl::InvalidArgumentError(absl::StrCat("dimension ", dims_.size(),
                                                   " of a tensor shape is ",
                                                   size, ", must be >= 0"));
  }
  if (dims_.size() >= kMaxRank) {
    return absl::InvalidArgumentError(
        absl::StrCat("shape rank exceeds the limit of ", kMaxRank));
  }
  int64_t n = MultiplyOrOverflow(num_elements_, size);
  if (n < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor shape ", DebugString(), " x ", size,
                     " has more elements than fit in int64"));
  }
  dims_.push_back(size);
  num_elements_ = n;
  return absl::OkStatus();
}

void TensorShape::ToProto(::tensorflow::TensorShapeProto* proto) const {
  proto->Clear();
  for (int64_t d : dims_) proto->add_dim()->set_size(d);
}

std::string TensorShape::DebugString() const {
  return absl::StrCat("[", absl::StrJoin(dims_, ","), "]");
}

PartialTensorShape::PartialTensorShape(std::initializer_list<int64_t> dims)
    : unknown_rank_(false), dims_(dims) {}

PartialTensorShape::PartialTensorShape(const TensorShape& shape)
    : unknown_rank_(false),
      dims_(shape.dim_sizes().begin(), shape.dim_sizes().end()) {}

PartialTensorShape PartialTensorShape::Scalar() {
  PartialTensorShape s;
  s.unknown_rank_ = false;
  return s;
}

PartialTensorShape PartialTensorShape::UnknownDims(int rank) {
  PartialTensorShape s = Scalar();
  s.dims_.assign(rank, -1);
  return s;
}

absl::StatusOr<PartialTensorShape> PartialTensorShape::Create(
    absl::Span<const int64_t> dims) {
  if (dims.size() > kMaxRank) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shape has rank ", dims.size(), ", above the limit of ", kMaxRank));
  }
  PartialTensorShape s = Scalar();
  for (int64_t d : dims) {
    if (d < -1) {
      return absl::InvalidArgumentError(
          absl::StrCat("dimension ", s.dims_.size(), " of a shape is ", d,
                       ", must be >= -1"));
    }
    s.dims_.push_back(d);
  }
  return s;
}

absl::StatusOr<PartialTensorShape> PartialTensorShape::FromProto(
    const ::tensorflow::TensorShapeProto& proto) {
  if (proto.unknown_rank()) {
    if (proto.dim_size() > 0) {
      return absl::InvalidArgumentError(
          "a shape with unknown_rank set must have no dims");
    }
    return PartialTensorShape();
  }
  DimVector dims;
  for (const auto& d : proto.dim()) dims.push_back(d.size());
  return Create(dims);
}

bool PartialTensorShape::IsFullyDefined() const {
  if (unknown_rank_) return false;
  for (int64_t d : dims_) {
    if (d < 0) return false;
  }
  return true;
}

int64_t PartialTensorShape::num_elements() const {
  if (!IsFullyDefined()) return -1;
  int64_t n = 1;
  for (int64_t d : dims_) {
    n = MultiplyOrOverflow(n, d);
    if (n < 0) return -1;
  }
  return n;
}

absl::StatusOr<TensorShape> PartialTensorShape::AsTensorShape() const {
  if (!IsFullyDefined()) {
    return absl::InvalidArgumentError(
        absl::StrCat("shape ", DebugString(), " is not fully defined"));
  }
  return TensorShape::Create(dims_);
}

void PartialTensorShape::AddDim(int64_t size) {
  if (unknown_rank_) return;
  dims_.push_back(size < 0 ? -1 : size);
}

bool PartialTensorShape::IsCompatibleWith(const TensorShape& shape) const {
  return IsCompatibleWith(PartialTensorShape(shape));
}

bool PartialTensorShape::IsCompatibleWith(
    const PartialTensorShape& other) const {
  if (unknown_rank_ || other.unknown_rank_) return true;
  if (dims_.size() != other.dims_.size()) return false;
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (dims_[i] >= 0 && other.dims_[i] >= 0 && dims_[i] != other.dims_[i]) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<PartialTensorShape> PartialTensorShape::Merge(
    const PartialTensorShape& other) const {
  if (unknown_rank_) return other;
  if (other.unknown_rank_) return *this;
  if (!IsCompatibleWith(other)) {
    return absl::InvalidArgumentError(absl::StrCat("shapes ", DebugString(),
                                                   " and ", other.DebugString(),
                                                   " are incompatible"));
  }
  PartialTensorShape out = *this;
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (out.dims_[i] < 0) out.dims_[i] = other.dims_[i];
  }
  return out;
}

void PartialTensorShape::ToProto(::tensorflow::TensorShapeProto* proto) const {
  proto->Clear();
  if (unknown_rank_) {
    proto->set_unknown_rank(true);
    return;
  }
  for (int64_t d : dims_) proto->add_dim()->set_size(d);
}

std::string PartialTensorShape::DebugString() const {
  if (unknown_rank_) return "<unknown>";
  return absl::StrCat("[",
                      absl::StrJoin(dims_, ",",
                                    [](std::string* out, int64_t d) {
                                      absl::StrAppend(
                                          out, d < 0 ? "?" : absl::StrCat(d));
                                    }),
                      "]");
}

}  // namespace rill
