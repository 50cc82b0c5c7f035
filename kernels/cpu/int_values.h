// Reading index-like tensors (shapes, axes, multiples, paddings, counts)
// in CPU kernels.
#ifndef RILL_KERNELS_CPU_INT_VALUES_H_
#define RILL_KERNELS_CPU_INT_VALUES_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/framework/op_kernel.h"
#include "core/framework/tensor.h"

namespace rill {

// The values of an int8/int16/int32/int64 tensor, widened; empty for any
// other dtype (the op schemas only let integer dtypes reach the callers).
inline std::vector<int64_t> IntValues(const Tensor& t) {
  std::vector<int64_t> out;
  out.reserve(t.NumElements());
  switch (t.dtype()) {
    case DT_INT32:
      for (int32_t v : t.flat<int32_t>()) out.push_back(v);
      break;
    case DT_INT64:
      for (int64_t v : t.flat<int64_t>()) out.push_back(v);
      break;
    case DT_INT16:
      for (int16_t v : t.flat<int16_t>()) out.push_back(v);
      break;
    case DT_INT8:
      for (int8_t v : t.flat<int8_t>()) out.push_back(v);
      break;
    default:
      break;
  }
  return out;
}

// A kernel's integer scalar input `i`, widened; INVALID_ARGUMENT naming
// `what` when it is not a scalar.
inline absl::StatusOr<int64_t> IntScalarInput(OpKernelContext* ctx, int i,
                                              const char* what) {
  const Tensor& t = ctx->input(i);
  const std::vector<int64_t> v = IntValues(t);
  if (t.dims() != 0 || v.size() != 1) {
    return ctx->InvalidArgument(
        absl::StrCat(what, " must be an integer scalar, got ",
                     DataTypeName(t.dtype()), " ", t.shape().DebugString()));
  }
  return v[0];
}

}  // namespace rill

#endif  // RILL_KERNELS_CPU_INT_VALUES_H_
