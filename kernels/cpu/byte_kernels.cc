#include "kernels/cpu/byte_kernels.h"

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

}  // namespace rill
