#include "core/framework/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

size_t ElementStorageSize(DataType dtype) {
  switch (BaseType(dtype)) {
    case ::tensorflow::DT_STRING:
      return sizeof(std::string);
    case ::tensorflow::DT_VARIANT:
      return sizeof(Variant);
    default:
      return DataTypeSize(dtype);
  }
}

// Element types that are C++ objects, constructed in the buffer.
bool HoldsObjects(DataType dtype) {
  return BaseType(dtype) == ::tensorflow::DT_STRING ||
         BaseType(dtype) == ::tensorflow::DT_VARIANT;
}

template <typename T>
void AppendValue(std::string* out, const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    absl::StrAppend(out, "\"", v, "\"");
  } else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    absl::StrAppend(out, "0x", absl::Hex(v.bits));
  } else if constexpr (std::is_same_v<T, int8_t> ||
                       std::is_same_v<T, uint8_t>) {
    absl::StrAppend(out, static_cast<int>(v));
  } else {
    absl::StrAppend(out, v);
  }
}

}  // namespace

TensorBuffer::TensorBuffer(Allocator* allocator, DataType dtype, void* data,
                           size_t bytes, int64_t num_elements)
    : allocator_(allocator),
      dtype_(dtype),
      data_(data),
      bytes_(bytes),
      num_elements_(num_elements) {}

TensorBuffer::~TensorBuffer() {
  if (BaseType(dtype_) == ::tensorflow::DT_STRING) {
    auto* s = static_cast<std::string*>(data_);
    for (int64_t i = 0; i < num_elements_; ++i) s[i].~basic_string();
  } else if (BaseType(dtype_) == ::tensorflow::DT_VARIANT) {
    auto* v = static_cast<Variant*>(data_);
    for (int64_t i = 0; i < num_elements_; ++i) v[i].~Variant();
  }
  allocator_->DeallocateRaw(data_, bytes_);
}

absl::StatusOr<Tensor> Tensor::Create(DataType dtype, const TensorShape& shape,
                                      Allocator* allocator) {
  ASSIGN_OR_RETURN(Tensor t, CreateUninitialized(dtype, shape, allocator));
  if (!HoldsObjects(t.dtype())) {
    std::memset(t.raw_data(), 0, t.TotalBytes());
  }
  return t;
}

absl::StatusOr<Tensor> Tensor::CreateUninitialized(DataType dtype,
                                                   const TensorShape& shape,
                                                   Allocator* allocator) {
  dtype = BaseType(dtype);
  RETURN_IF_ERROR(CheckTensorStorable(dtype));
  const size_t elem = ElementStorageSize(dtype);
  const int64_t n = shape.num_elements();
  size_t bytes;
  if (__builtin_mul_overflow(static_cast<size_t>(n), elem, &bytes)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("tensor of shape ", shape.DebugString(), " is too large"));
  }
  void* data = allocator->AllocateRaw(kAllocatorAlignment, bytes);
  if (data == nullptr) {
    std::string why;
    if (allocator == CpuAllocator()) {
      const CpuAllocatorImpl* cpu = CpuAllocator();
      why = absl::StrCat(" (memory limit ", cpu->limit(), " bytes, ",
                         cpu->bytes_in_use(), " in use; see --memory_limit)");
    }
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory allocating ", bytes, " bytes for a ",
                     DataTypeName(dtype), " tensor of shape ",
                     shape.DebugString(), " on ", allocator->Name(), why));
  }
  if (dtype == ::tensorflow::DT_STRING) {
    auto* s = static_cast<std::string*>(data);
    for (int64_t i = 0; i < n; ++i) new (&s[i]) std::string();
  } else if (dtype == ::tensorflow::DT_VARIANT) {
    auto* v = static_cast<Variant*>(data);
    for (int64_t i = 0; i < n; ++i) new (&v[i]) Variant();
  }
  return Tensor(
      dtype, shape,
      std::make_shared<TensorBuffer>(allocator, dtype, data, bytes, n), 0);
}

Tensor Tensor::CreateOrDie(DataType dtype, const TensorShape& shape) {
  absl::StatusOr<Tensor> t = Create(dtype, shape);
  if (!t.ok()) {
    // Only reachable when the process is out of memory: the callers pass
    // trusted, small shapes and storable dtypes.
    std::fprintf(stderr, "rill: %s\n", t.status().ToString().c_str());
    std::abort();
  }
  return *std::move(t);
}

size_t Tensor::TotalBytes() const {
  return static_cast<size_t>(NumElements()) * ElementStorageSize(dtype_);
}

absl::StatusOr<Tensor> Tensor::Reshape(const TensorShape& shape) const {
  if (shape.num_elements() != NumElements()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot reshape a tensor of ", NumElements(), " elements (shape ",
        shape_.DebugString(), ") to shape ", shape.DebugString(), " with ",
        shape.num_elements(), " elements"));
  }
  return Tensor(dtype_, shape, buf_, offset_);
}

absl::StatusOr<Tensor> Tensor::Slice(int64_t start, int64_t limit) const {
  if (dims() == 0) {
    return absl::InvalidArgumentError("cannot slice a scalar tensor");
  }
  const int64_t rows = dim_size(0);
  if (start < 0 || limit > rows || start > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("slice [", start, ", ", limit,
                     ") is out of range for dimension 0 of ", "size ", rows));
  }
  TensorShape shape;
  RETURN_IF_ERROR(shape.AddDim(limit - start));
  for (int i = 1; i < dims(); ++i) RETURN_IF_ERROR(shape.AddDim(dim_size(i)));
  const int64_t row_elems = rows == 0 ? 0 : NumElements() / rows;
  const size_t offset = offset_ + static_cast<size_t>(start * row_elems) *
                                      ElementStorageSize(dtype_);
  return Tensor(dtype_, std::move(shape), buf_, offset);
}

absl::StatusOr<Tensor> Tensor::DeepCopy(Allocator* allocator) const {
  ASSIGN_OR_RETURN(Tensor out, Create(dtype_, shape_, allocator));
  if (dtype_ == ::tensorflow::DT_STRING) {
    auto src = flat<std::string>();
    auto dst = out.flat<std::string>();
    for (size_t i = 0; i < src.size(); ++i) dst[i] = src[i];
  } else if (dtype_ == ::tensorflow::DT_VARIANT) {
    // Values are immutable: the copy shares them.
    auto src = flat<Variant>();
    auto dst = out.flat<Variant>();
    for (size_t i = 0; i < src.size(); ++i) dst[i] = src[i];
  } else if (TotalBytes() > 0) {
    std::memcpy(out.raw_data(), raw_data(), TotalBytes());
  }
  return out;
}

bool Tensor::Equals(const Tensor& other) const {
  if (dtype_ != other.dtype_ || shape_ != other.shape_) return false;
  if (dtype_ == ::tensorflow::DT_STRING) {
    auto a = flat<std::string>();
    auto b = other.flat<std::string>();
    return std::equal(a.begin(), a.end(), b.begin());
  }
  if (dtype_ == ::tensorflow::DT_VARIANT) {
    auto a = flat<Variant>();
    auto b = other.flat<Variant>();
    return std::equal(a.begin(), a.end(), b.begin());
  }
  return TotalBytes() == 0 ||
         std::memcmp(raw_data(), other.raw_data(), TotalBytes()) == 0;
}

std::string Tensor::DebugString(int max_entries) const {
  if (!IsInitialized()) return "<uninitialized tensor>";
  std::string out =
      absl::StrCat(DataTypeName(dtype_), " ", shape_.DebugString(), " [");
  if (dtype_ == ::tensorflow::DT_VARIANT) {
    auto v = flat<Variant>();
    const int64_t n = std::min<int64_t>(v.size(), max_entries);
    for (int64_t i = 0; i < n; ++i) {
      absl::StrAppend(&out, i > 0 ? " " : "", v[i].DebugString());
    }
    if (n < static_cast<int64_t>(v.size())) out += " ...";
  }
  VisitDataType(
      dtype_,
      [&]<typename T>() {
        auto v = flat<T>();
        const int64_t n = std::min<int64_t>(v.size(), max_entries);
        for (int64_t i = 0; i < n; ++i) {
          if (i > 0) out += " ";
          AppendValue(&out, v[i]);
        }
        if (n < static_cast<int64_t>(v.size())) out += " ...";
      },
      [] {});
  out += "]";
  return out;
}

}  // namespace rill
