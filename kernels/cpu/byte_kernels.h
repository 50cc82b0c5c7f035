// Helpers for kernels that move elements without computing on them
// (layout_ops.cc, gather_ops.cc): they copy bytes, so one kernel serves every
// fixed-size dtype.
#ifndef RILL_KERNELS_CPU_BYTE_KERNELS_H_
#define RILL_KERNELS_CPU_BYTE_KERNELS_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "core/framework/kernel_registry.h"

namespace rill {

// Every dtype whose elements can be copied as bytes.
const std::vector<DataType>& FixedSizeTypes();

inline const char* Bytes(const Tensor& t) {
  return static_cast<const char*>(t.raw_data());
}
inline char* Bytes(Tensor* t) { return static_cast<char*>(t->raw_data()); }

// Row-major element strides of a shape.
std::vector<int64_t> Strides(absl::Span<const int64_t> dims);

// Writes out[i...] = src[sum(i_d * src_strides[d])] (element units, `elem`
// bytes each) for every index of `out_dims`, rows split over oneTBB. A
// stride may be 0 (repeat an element: broadcasting), negative (walk
// backwards: reversed slices) or permuted (transposes).
void StridedCopy(const OpKernelContext* ctx, const char* src,
                 const std::vector<int64_t>& src_strides,
                 const std::vector<int64_t>& out_dims, size_t elem, char* dst);

// The inverse walk: dst[sum(i_d * dst_strides[d])] = src[i...] for every
// index of `dims` (src contiguous). Strides must be nonzero, so that no two
// elements land on the same place.
void StridedScatter(const OpKernelContext* ctx, const char* src,
                    const std::vector<int64_t>& dims,
                    const std::vector<int64_t>& dst_strides, size_t elem,
                    char* dst);

// Registers K on the CPU for every fixed-size dtype of `type_attr`.
template <typename K>
void RegisterByteKernel(const char* op, const char* type_attr) {
  KernelRegistry::Global()->Register(
      KernelDef(op, kDeviceCpu).TypeConstraint(type_attr, FixedSizeTypes()),
      [](OpKernelConstruction* c) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
        return std::unique_ptr<OpKernel>(new K(c));
      });
}

}  // namespace rill

#endif  // RILL_KERNELS_CPU_BYTE_KERNELS_H_
