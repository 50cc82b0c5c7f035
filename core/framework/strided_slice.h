// The shape arithmetic of StridedSlice, shared by its shape function and its
// kernels: masks and an ellipsis are expanded into one (begin, end, stride)
// per input dimension, and the output shape is computed.
//
// Dimensions may be unknown (-1); the output dims that depend on them are
// unknown too. Semantics are TensorFlow's (and numpy's basic indexing).
#ifndef RILL_CORE_FRAMEWORK_STRIDED_SLICE_H_
#define RILL_CORE_FRAMEWORK_STRIDED_SLICE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/framework/tensor_shape.h"

namespace rill {

struct StridedSliceMasks {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t ellipsis = 0;
  int64_t new_axis = 0;
  int64_t shrink_axis = 0;
};

struct StridedSliceSpec {
  // One entry per input dimension, normalized into range where the dimension
  // is known: element i of the output walks begin, begin+stride, ... while
  // before end.
  std::vector<int64_t> begin;
  std::vector<int64_t> end;
  std::vector<int64_t> stride;
  // Output length along each input dimension (-1 unknown), before shrinking.
  std::vector<int64_t> length;
  // The output shape, with new axes added and shrunk axes removed.
  PartialTensorShape output_shape;
};

// `input` must have known rank. begin, end and strides must have equal
// length. INVALID_ARGUMENT for a zero stride, more than one ellipsis, or a
// shrink index out of range of a known dimension.
absl::StatusOr<StridedSliceSpec> ComputeStridedSlice(
    const PartialTensorShape& input, const std::vector<int64_t>& begin,
    const std::vector<int64_t>& end, const std::vector<int64_t>& strides,
    const StridedSliceMasks& masks);

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_STRIDED_SLICE_H_
