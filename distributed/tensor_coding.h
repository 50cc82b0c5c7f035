// RecvTensor's response on the wire, without copying the tensor's bytes
// through protobuf: the encoder writes a valid RecvTensorResponse whose
// tensor_content is a gRPC slice over the tensor's own buffer (the slice
// keeps the tensor alive until gRPC has sent it); the decoder reads dtype
// and shape first and copies the content straight from gRPC's slices into
// a new tensor. Anything else a peer may send (a tensor in the typed value
// fields, fields in another order) goes through protobuf as usual.
#ifndef RILL_DISTRIBUTED_TENSOR_CODING_H_
#define RILL_DISTRIBUTED_TENSOR_CODING_H_

#include <cstdint>

#include "absl/status/status.h"
#include "core/framework/tensor.h"
#include "grpcpp/support/byte_buffer.h"

namespace rill {

void EncodeRecvTensorResponse(const Tensor& tensor, bool is_dead,
                              grpc::ByteBuffer* out);

// INVALID_ARGUMENT for a malformed message; RESOURCE_EXHAUSTED for a tensor
// larger than max_bytes. A dead response leaves `tensor` uninitialized.
absl::Status DecodeRecvTensorResponse(const grpc::ByteBuffer& in,
                                      int64_t max_bytes, Tensor* tensor,
                                      bool* is_dead);

}  // namespace rill

#endif  // RILL_DISTRIBUTED_TENSOR_CODING_H_
