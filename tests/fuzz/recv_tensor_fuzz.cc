// Fuzz target: a RecvTensor response from untrusted bytes, as a peer task
// (or anything that answers on its port) sends one: decoded within a byte
// limit, and a decoded tensor encoded and decoded again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/framework/allocator.h"
#include "distributed/tensor_coding.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rill::CpuAllocator()->set_limit(int64_t{256} << 20);
  grpc::Slice slice(data, size);
  grpc::ByteBuffer in(&slice, 1);
  rill::Tensor tensor;
  bool dead = false;
  if (!rill::DecodeRecvTensorResponse(in, int64_t{64} << 20, &tensor, &dead)
           .ok()) {
    return 0;
  }
  if (!tensor.IsInitialized()) return 0;
  grpc::ByteBuffer out;
  rill::EncodeRecvTensorResponse(tensor, dead, &out);
  rill::Tensor back;
  bool back_dead = false;
  if (!rill::DecodeRecvTensorResponse(out, int64_t{64} << 20, &back,
                                      &back_dead)
           .ok() ||
      back_dead != dead || back.shape() != tensor.shape()) {
    std::abort();
  }
  return 0;
}
