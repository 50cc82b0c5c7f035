// Tensor shapes.
//
// TensorShape is a fully known shape: every dimension is a size >= 0 and the
// element count fits in int64. PartialTensorShape is what shape inference
// works with: it may have unknown rank, or known rank with unknown (-1)
// dimensions. Both are small value types; copies are cheap for small ranks.
#ifndef RILL_CORE_FRAMEWORK_TENSOR_SHAPE_H_
#define RILL_CORE_FRAMEWORK_TENSOR_SHAPE_H_

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/protos/tensor_shape.pb.h"

namespace rill {

using DimVector = absl::InlinedVector<int64_t, 4>;

// The largest rank a shape may have (TensorFlow's limit too).
inline constexpr int kMaxRank = 254;

// The dims of a TensorShape: up to four inline, so copying or moving a
// shape of rank <= 4 is a plain copy of its 48 bytes; higher ranks go to
// the heap. (absl::InlinedVector, used before, cost a few percent of every
// small kernel in generic copy/assign code.)
class ShapeDims {
 public:
  ShapeDims() = default;
  ShapeDims(const ShapeDims& other) { CopyFrom(other); }
  ShapeDims(ShapeDims&& other) noexcept { StealFrom(other); }
  ShapeDims& operator=(const ShapeDims& other) {
    if (this != &other) {
      Release();
      CopyFrom(other);
    }
    return *this;
  }
  ShapeDims& operator=(ShapeDims&& other) noexcept {
    if (this != &other) {
      Release();
      StealFrom(other);
    }
    return *this;
  }
  ~ShapeDims() { Release(); }

  size_t size() const { return size_; }
  const int64_t* data() const { return size_ <= kInline ? inline_ : heap_; }
  int64_t operator[](size_t i) const { return data()[i]; }
  const int64_t* begin() const { return data(); }
  const int64_t* end() const { return data() + size_; }
  void push_back(int64_t d);
  void clear() { Release(); }
  bool operator==(const ShapeDims& other) const;

 private:
  static constexpr uint32_t kInline = 4;
  // Inline: on every tensor copy and move. A constant-size memcpy compiles
  // to a few moves.
  void CopyFrom(const ShapeDims& other) {
    if (other.size_ <= kInline) {
      std::memcpy(inline_, other.inline_, sizeof(inline_));
    } else {
      CopyHeap(other);
    }
    size_ = other.size_;
  }
  void StealFrom(ShapeDims& other) {
    std::memcpy(inline_, other.inline_, sizeof(inline_));  // Or the pointer.
    capacity_ = other.capacity_;
    size_ = other.size_;
    other.size_ = 0;  // A heap block, if any, is ours now.
  }
  void CopyHeap(const ShapeDims& other);
  void Release() {
    if (size_ > kInline) delete[] heap_;
    size_ = 0;
  }

  union {
    int64_t inline_[kInline] = {};
    int64_t* heap_;  // When size_ > kInline; capacity_ entries.
  };
  uint32_t size_ = 0;
  uint32_t capacity_ = 0;
};

class TensorShape {
 public:
  TensorShape() : num_elements_(1) {}  // A scalar.
  // Dims must be >= 0 and their product must fit in int64; use Create() for
  // untrusted dims.
  TensorShape(std::initializer_list<int64_t> dims);

  static absl::StatusOr<TensorShape> Create(absl::Span<const int64_t> dims);
  static absl::StatusOr<TensorShape> FromProto(
      const ::tensorflow::TensorShapeProto& proto);

  int dims() const { return static_cast<int>(dims_.size()); }
  int64_t dim_size(int i) const { return dims_[i]; }
  absl::Span<const int64_t> dim_sizes() const {
    return absl::Span<const int64_t>(dims_.data(), dims_.size());
  }
  int64_t num_elements() const { return num_elements_; }

  // Makes this the scalar shape (cheaper than assigning TensorShape()).
  void Clear() {
    dims_.clear();
    num_elements_ = 1;
  }

  // Appends a dimension; fails when the element count would overflow.
  absl::Status AddDim(int64_t size);

  void ToProto(::tensorflow::TensorShapeProto* proto) const;
  // "[2,3]"; "[]" for a scalar.
  std::string DebugString() const;

  bool operator==(const TensorShape& other) const {
    return num_elements_ == other.num_elements_ && dims_ == other.dims_;
  }
  bool operator!=(const TensorShape& other) const { return !(*this == other); }

 private:
  ShapeDims dims_;
  int64_t num_elements_;
};

class PartialTensorShape {
 public:
  // Unknown rank.
  PartialTensorShape() : unknown_rank_(true) {}
  // Known rank; a dim of -1 is unknown.
  PartialTensorShape(std::initializer_list<int64_t> dims);
  explicit PartialTensorShape(const TensorShape& shape);

  static PartialTensorShape UnknownRank() { return PartialTensorShape(); }
  // Known rank 0. (Note: PartialTensorShape() and `= {}` are unknown rank.)
  static PartialTensorShape Scalar();
  // Known rank, every dim unknown.
  static PartialTensorShape UnknownDims(int rank);
  // Fails when a dim is below -1 or the rank is above kMaxRank.
  static absl::StatusOr<PartialTensorShape> Create(
      absl::Span<const int64_t> dims);
  static absl::StatusOr<PartialTensorShape> FromProto(
      const ::tensorflow::TensorShapeProto& proto);

  bool unknown_rank() const { return unknown_rank_; }
  // -1 when the rank is unknown.
  int dims() const {
    return unknown_rank_ ? -1 : static_cast<int>(dims_.size());
  }
  int64_t dim_size(int i) const { return dims_[i]; }
  absl::Span<const int64_t> dim_sizes() const { return dims_; }
  // Known rank and every dim known.
  bool IsFullyDefined() const;
  // The element count when fully defined, else -1.
  int64_t num_elements() const;
  // The TensorShape when fully defined.
  absl::StatusOr<TensorShape> AsTensorShape() const;

  void AddDim(int64_t size);

  // Whether a tensor of `shape` may have this partial shape.
  bool IsCompatibleWith(const TensorShape& shape) const;
  bool IsCompatibleWith(const PartialTensorShape& other) const;
  // The most specific shape compatible with both, or INVALID_ARGUMENT.
  absl::StatusOr<PartialTensorShape> Merge(
      const PartialTensorShape& other) const;

  void ToProto(::tensorflow::TensorShapeProto* proto) const;
  // "<unknown>", "[?,3]".
  std::string DebugString() const;

  bool operator==(const PartialTensorShape& other) const {
    return unknown_rank_ == other.unknown_rank_ && dims_ == other.dims_;
  }
  bool operator!=(const PartialTensorShape& other) const {
    return !(*this == other);
  }

 private:
  bool unknown_rank_;
  DimVector dims_;
};

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_TENSOR_SHAPE_H_
