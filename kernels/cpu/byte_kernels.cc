#include "kernels/cpu/byte_kernels.h"

#include <cstring>

namespace rill {

const std::vector<DataType>& FixedSizeTypes() {
  static const auto* types = new std::vector<DataType>{
      DT_FLOAT, DT_DOUBLE, DT_INT32,  DT_INT64,  DT_BOOL, DT_UINT8,   DT_INT8,
      DT_INT16, DT_UINT16, DT_UINT32, DT_UINT64, DT_HALF, DT_BFLOAT16};
  return *types;
}

std::vector<int64_t> Strides(absl::Span<const int64_t> dims) {
  std::vector<int64_t> strides(dims.size(), 1);
  for (int d = static_cast<int>(dims.size()) - 2; d >= 0; --d) {
    strides[d] = strides[d + 1] * dims[d + 1];
  }
  return strides;
}

namespace {

// Calls fn(row, offset) for each row of `dims` (all dims but the last),
// with the row's first element's offset under `strides`, rows split over
// oneTBB.
template <typename Fn>
void ForEachRow(const OpKernelContext* ctx, const std::vector<int64_t>& dims,
                const std::vector<int64_t>& strides, size_t elem, Fn&& fn) {
  const int rank = static_cast<int>(dims.size());
  const int64_t row = dims.back();
  int64_t rows = 1;
  for (int d = 0; d + 1 < rank; ++d) rows *= dims[d];
  if (row == 0 || rows == 0) return;
  ParallelFor(ctx, rows, row * static_cast<int64_t>(elem),
              [&](int64_t lo, int64_t hi) {
                for (int64_t r = lo; r < hi; ++r) {
                  int64_t offset = 0;
                  int64_t rest = r;
                  for (int d = rank - 2; d >= 0; --d) {
                    offset += (rest % dims[d]) * strides[d];
                    rest /= dims[d];
                  }
                  fn(r, offset);
                }
              });
}

// Copies `n` elements, the source or the destination `stride` apart.
void CopyRow(const char* from, int64_t from_stride, char* to, int64_t to_stride,
             int64_t n, size_t elem) {
  if (from_stride == 1 && to_stride == 1) {
    std::memcpy(to, from, n * elem);
    return;
  }
  for (int64_t j = 0; j < n; ++j) {
    std::memcpy(to + j * to_stride * elem, from + j * from_stride * elem, elem);
  }
}

}  // namespace

void StridedCopy(const OpKernelContext* ctx, const char* src,
                 const std::vector<int64_t>& src_strides,
                 const std::vector<int64_t>& out_dims, size_t elem, char* dst) {
  if (out_dims.empty()) {
    std::memcpy(dst, src, elem);
    return;
  }
  const int64_t row = out_dims.back();
  ForEachRow(ctx, out_dims, src_strides, elem, [&](int64_t r, int64_t offset) {
    CopyRow(src + offset * elem, src_strides.back(), dst + r * row * elem, 1,
            row, elem);
  });
}

void StridedScatter(const OpKernelContext* ctx, const char* src,
                    const std::vector<int64_t>& dims,
                    const std::vector<int64_t>& dst_strides, size_t elem,
                    char* dst) {
  if (dims.empty()) {
    std::memcpy(dst, src, elem);
    return;
  }
  const int64_t row = dims.back();
  ForEachRow(ctx, dims, dst_strides, elem, [&](int64_t r, int64_t offset) {
    CopyRow(src + r * row * elem, 1, dst + offset * elem, dst_strides.back(),
            row, elem);
  });
}

}  // namespace rill
