// Rows of tensors: row i of a tensor as a tensor of its own (sharing the
// buffer), and copying a tensor's elements into another of as many
// elements (a row of a stacked result): bytes for numbers, element copies
// for strings and variants (whose elements are C++ objects).
#ifndef RILL_KERNELS_CPU_COPY_ELEMENTS_H_
#define RILL_KERNELS_CPU_COPY_ELEMENTS_H_

#include <algorithm>
#include <cstring>
#include <string>

#include "core/framework/tensor.h"

namespace rill {

// Row i of t (t has at least one dimension and i is in range): its
// dimensions after the first, sharing t's buffer.
inline absl::StatusOr<Tensor> Row(const Tensor& t, int64_t i) {
  TensorShape row;
  for (int d = 1; d < t.dims(); ++d) {
    absl::Status s = row.AddDim(t.dim_size(d));
    if (!s.ok()) return s;
  }
  absl::StatusOr<Tensor> slice = t.Slice(i, i + 1);
  if (!slice.ok()) return slice.status();
  return slice->Reshape(row);
}

// dst must have src's dtype and at least src's number of elements.
inline void CopyElements(const Tensor& src, Tensor* dst) {
  if (src.dtype() == DT_STRING) {
    auto s = src.flat<std::string>();
    std::copy(s.begin(), s.end(), dst->flat<std::string>().begin());
  } else if (src.dtype() == DT_VARIANT) {
    auto s = src.flat<Variant>();
    std::copy(s.begin(), s.end(), dst->flat<Variant>().begin());
  } else if (src.TotalBytes() > 0) {
    std::memcpy(dst->raw_data(), src.raw_data(), src.TotalBytes());
  }
}

}  // namespace rill

#endif  // RILL_KERNELS_CPU_COPY_ELEMENTS_H_
