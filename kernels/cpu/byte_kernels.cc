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

void StridedCopy(const OpKernelContext* ctx, const char* src,
                 const std::vector<int64_t>& src_strides,
                 const std::vector<int64_t>& out_dims, size_t elem, char* dst) {
  if (out_dims.empty()) {
    std::memcpy(dst, src, elem);
    return;
  }
  const int rank = static_cast<int>(out_dims.size());
  const int64_t row = out_dims.back();
  const int64_t last_stride = src_strides.back();
  int64_t rows = 1;
  for (int d = 0; d + 1 < rank; ++d) rows *= out_dims[d];
  if (row == 0 || rows == 0) return;
  ParallelFor(
      ctx, rows, row * static_cast<int64_t>(elem), [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
          int64_t offset = 0;
          int64_t rest = r;
          for (int d = rank - 2; d >= 0; --d) {
            offset += (rest % out_dims[d]) * src_strides[d];
            rest /= out_dims[d];
          }
          const char* from = src + offset * elem;
          char* to = dst + r * row * elem;
          if (last_stride == 1) {
            std::memcpy(to, from, row * elem);
          } else {
            for (int64_t j = 0; j < row; ++j) {
              std::memcpy(to + j * elem, from + j * last_stride * elem, elem);
            }
          }
        }
      });
}

}  // namespace rill
