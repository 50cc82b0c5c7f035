// Tensor: a dtype, a shape, and a reference to a buffer.
//
// Buffers are reference-counted and shared: copying a Tensor, reshaping it,
// or slicing it along dimension 0 never copies elements. Buffers come from an
// Allocator, are aligned to 64 bytes, and go back to it when the last Tensor
// that refers to them is gone. DT_STRING elements are std::string objects
// constructed in the buffer.
//
// A Tensor is not internally synchronized: concurrent reads are fine, and a
// writer must be the only user (RefCountIsOne() tells when it is).
#ifndef RILL_CORE_FRAMEWORK_TENSOR_H_
#define RILL_CORE_FRAMEWORK_TENSOR_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/framework/allocator.h"
#include "core/framework/tensor_shape.h"
#include "core/framework/types.h"

namespace rill {

// Owns one allocation. Shared by the Tensors that view it.
class TensorBuffer {
 public:
  TensorBuffer(Allocator* allocator, DataType dtype, void* data, size_t bytes,
               int64_t num_elements);
  ~TensorBuffer();
  TensorBuffer(const TensorBuffer&) = delete;
  TensorBuffer& operator=(const TensorBuffer&) = delete;

  void* data() const { return data_; }
  size_t size() const { return bytes_; }
  Allocator* allocator() const { return allocator_; }

 private:
  Allocator* const allocator_;
  const DataType dtype_;
  void* const data_;
  const size_t bytes_;
  const int64_t num_elements_;
};

class Tensor {
 public:
  // An uninitialized tensor: DT_INVALID, no buffer.
  Tensor() = default;
  Tensor(const Tensor&) = default;
  Tensor& operator=(const Tensor&) = default;
  // A moved-from tensor is uninitialized.
  Tensor(Tensor&& other) noexcept
      : dtype_(other.dtype_),
        shape_(std::move(other.shape_)),
        buf_(std::move(other.buf_)),
        offset_(other.offset_) {
    other.dtype_ = ::tensorflow::DT_INVALID;
    other.shape_.Clear();
    other.offset_ = 0;
  }
  Tensor& operator=(Tensor&& other) noexcept {
    if (this != &other) {
      dtype_ = other.dtype_;
      shape_ = std::move(other.shape_);
      buf_ = std::move(other.buf_);
      offset_ = other.offset_;
      other.dtype_ = ::tensorflow::DT_INVALID;
      other.shape_.Clear();
      other.offset_ = 0;
    }
    return *this;
  }

  // A tensor whose elements are zero (empty strings for DT_STRING).
  // RESOURCE_EXHAUSTED when the allocator has no memory; UNIMPLEMENTED for a
  // dtype a Tensor cannot hold.
  static absl::StatusOr<Tensor> Create(DataType dtype, const TensorShape& shape,
                                       Allocator* allocator = CpuAllocator());
  // The same without zeroing the elements, for a caller that writes every
  // byte next (a tensor decoded from the wire). DT_STRING tensors are still
  // made of empty strings.
  static absl::StatusOr<Tensor> CreateUninitialized(
      DataType dtype, const TensorShape& shape,
      Allocator* allocator = CpuAllocator());

  // Conveniences for trusted sizes (tests, builders); they abort only when
  // the process is out of memory.
  template <typename T>
  static Tensor Scalar(T value);
  template <typename T>
  static Tensor FromVector(const std::vector<T>& values,
                           const TensorShape& shape);
  template <typename T>
  static Tensor FromVector(const std::vector<T>& values) {
    return FromVector(values,
                      TensorShape({static_cast<int64_t>(values.size())}));
  }

  bool IsInitialized() const { return dtype_ != ::tensorflow::DT_INVALID; }
  // Makes this tensor uninitialized (as a moved-from one), dropping its
  // reference to the buffer.
  void Clear() {
    buf_.reset();
    dtype_ = ::tensorflow::DT_INVALID;
    shape_.Clear();
    offset_ = 0;
  }
  DataType dtype() const { return dtype_; }
  const TensorShape& shape() const { return shape_; }
  int dims() const { return shape_.dims(); }
  int64_t dim_size(int i) const { return shape_.dim_size(i); }
  int64_t NumElements() const { return shape_.num_elements(); }
  // Bytes of element storage (0 for DT_STRING's heap contents).
  size_t TotalBytes() const;

  // Typed views; T must match dtype() (checked only in debug builds).
  // std::span, not absl::Span: this system's Abseil is built hardened, and
  // a bounds check on every element access keeps kernel loops from being
  // vectorized.
  template <typename T>
  std::span<T> flat() {
    return std::span<T>(static_cast<T*>(raw_data()), NumElements());
  }
  template <typename T>
  std::span<const T> flat() const {
    return std::span<const T>(static_cast<const T*>(raw_data()), NumElements());
  }
  template <typename T>
  T& scalar() {
    return flat<T>()[0];
  }
  template <typename T>
  const T& scalar() const {
    return flat<T>()[0];
  }

  void* raw_data() const {
    return buf_ ? static_cast<char*>(buf_->data()) + offset_ : nullptr;
  }

  // The same elements under another shape with the same element count.
  absl::StatusOr<Tensor> Reshape(const TensorShape& shape) const;
  // Rows [start, limit) of dimension 0, sharing this tensor's buffer.
  absl::StatusOr<Tensor> Slice(int64_t start, int64_t limit) const;
  // A deep copy into a fresh buffer from `allocator`.
  absl::StatusOr<Tensor> DeepCopy(Allocator* allocator = CpuAllocator()) const;

  bool SharesBufferWith(const Tensor& other) const {
    return buf_ != nullptr && buf_ == other.buf_;
  }
  // True when this Tensor is the only one referring to its buffer, so a
  // kernel may write into it in place.
  bool RefCountIsOne() const {
    return buf_ != nullptr && buf_.use_count() == 1;
  }

  // Element-wise equality of dtype, shape and values.
  bool Equals(const Tensor& other) const;
  // "float [2,2] [1 2 3 4]", at most max_entries values.
  std::string DebugString(int max_entries = 8) const;

 private:
  Tensor(DataType dtype, TensorShape shape, std::shared_ptr<TensorBuffer> buf,
         size_t offset)
      : dtype_(dtype),
        shape_(std::move(shape)),
        buf_(std::move(buf)),
        offset_(offset) {}

  static Tensor CreateOrDie(DataType dtype, const TensorShape& shape);

  DataType dtype_ = ::tensorflow::DT_INVALID;
  TensorShape shape_;
  std::shared_ptr<TensorBuffer> buf_;
  size_t offset_ = 0;  // Bytes from the start of buf_.
};

template <typename T>
Tensor Tensor::Scalar(T value) {
  Tensor t = CreateOrDie(DataTypeToEnum<T>::value, TensorShape());
  t.scalar<T>() = std::move(value);
  return t;
}

template <typename T>
Tensor Tensor::FromVector(const std::vector<T>& values,
                          const TensorShape& shape) {
  Tensor t = CreateOrDie(DataTypeToEnum<T>::value, shape);
  std::span<T> out = t.flat<T>();
  for (size_t i = 0; i < out.size() && i < values.size(); ++i) {
    out[i] = values[i];
  }
  return t;
}

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_TENSOR_H_
