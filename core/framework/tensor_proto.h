// Conversion between Tensor and TensorProto.
//
// Parsing accepts both encodings TensorFlow writes: raw row-major bytes in
// tensor_content, or the repeated field of the dtype. A repeated field that
// is shorter than the element count is padded with its last value (an empty
// one gives zeros), as in TensorFlow; one that is longer is an error. Sizes
// are checked against the shape before anything is allocated.
#ifndef RILL_CORE_FRAMEWORK_TENSOR_PROTO_H_
#define RILL_CORE_FRAMEWORK_TENSOR_PROTO_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "core/framework/tensor.h"
#include "core/protos/tensor.pb.h"

namespace rill {

// The largest tensor a proto may describe, by default 4 GiB of elements.
inline constexpr int64_t kDefaultMaxTensorBytes = int64_t{4} << 30;

// INVALID_ARGUMENT for a malformed proto (bad shape, content that does not
// fit the shape, a dtype a Tensor cannot hold); RESOURCE_EXHAUSTED when the
// tensor would be larger than max_bytes.
absl::StatusOr<Tensor> TensorFromProto(
    const ::tensorflow::TensorProto& proto,
    int64_t max_bytes = kDefaultMaxTensorBytes,
    Allocator* allocator = CpuAllocator());

// The checks TensorFromProto makes, without allocating or copying: for
// validating graphs whose constants may be large.
absl::Status ValidateTensorProto(const ::tensorflow::TensorProto& proto,
                                 int64_t max_bytes = kDefaultMaxTensorBytes);

// Writes dtype, shape and values. Numeric tensors use tensor_content (the
// compact form); DT_STRING uses string_val.
void TensorToProto(const Tensor& tensor, ::tensorflow::TensorProto* proto);
// As TensorToProto, but numeric values go in the dtype's repeated field (the
// form TensorFlow uses for small constants).
void TensorToProtoField(const Tensor& tensor, ::tensorflow::TensorProto* proto);

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_TENSOR_PROTO_H_
