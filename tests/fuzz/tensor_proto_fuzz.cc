// Fuzz target: a TensorProto from untrusted bytes (a Const's value, a fed
// tensor): validated, decoded within a byte limit, encoded in both forms
// and decoded again to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/framework/allocator.h"
#include "core/framework/tensor_proto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rill::CpuAllocator()->set_limit(int64_t{256} << 20);
  ::tensorflow::TensorProto proto;
  if (!proto.ParseFromArray(data, static_cast<int>(size))) return 0;
  constexpr int64_t kMaxBytes = int64_t{64} << 20;
  const absl::Status valid = rill::ValidateTensorProto(proto, kMaxBytes);
  absl::StatusOr<rill::Tensor> t = rill::TensorFromProto(proto, kMaxBytes);
  // The validation without allocating and the decoding agree, except
  // where only the allocation fails.
  if (valid.ok() != t.ok() &&
      !(valid.ok() && absl::IsResourceExhausted(t.status()))) {
    std::abort();
  }
  if (!t.ok() || t->dtype() == ::tensorflow::DT_VARIANT) return 0;
  for (int field = 0; field < 2; ++field) {
    ::tensorflow::TensorProto out;
    if (field == 0) {
      rill::TensorToProto(*t, &out);
    } else {
      rill::TensorToProtoField(*t, &out);
    }
    absl::StatusOr<rill::Tensor> back = rill::TensorFromProto(out, kMaxBytes);
    if (!back.ok() || back->dtype() != t->dtype() ||
        back->shape() != t->shape()) {
      std::abort();
    }
    if (t->dtype() != ::tensorflow::DT_STRING &&
        std::memcmp(back->raw_data(), t->raw_data(), t->TotalBytes()) != 0) {
      std::abort();
    }
  }
  return 0;
}
