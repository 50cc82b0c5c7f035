#include "core/framework/op_kernel.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"
#include "oneapi/tbb/blocked_range.h"
#include "oneapi/tbb/parallel_for.h"
#include "oneapi/tbb/partitioner.h"

namespace rill {

OpKernel::OpKernel(OpKernelConstruction* c)
    : input_types_(c->node().input_types().begin(),
                   c->node().input_types().end()),
      output_types_(c->node().output_types().begin(),
                    c->node().output_types().end()),
      name_(c->node().name()),
      type_(c->node().op()) {}

absl::Status AsyncOpKernel::Compute(OpKernelContext*) const {
  return absl::InternalError(
      absl::StrCat("async kernel ", name(), " was run synchronously"));
}

OpKernelContext::OpKernelContext(const Params& params)
    : params_(params),
      outputs_(params.num_outputs >= 0 ? params.num_outputs
                                       : params.kernel->num_outputs()) {}

absl::StatusOr<Tensor*> OpKernelContext::allocate_output(
    int i, const TensorShape& shape) {
  ASSIGN_OR_RETURN(Tensor * t, allocate_output_for_overwrite(i, shape));
  if (t->dtype() != ::tensorflow::DT_STRING) {
    std::memset(t->raw_data(), 0, t->TotalBytes());
  }
  return t;
}

absl::StatusOr<Tensor*> OpKernelContext::allocate_output_for_overwrite(
    int i, const TensorShape& shape) {
  absl::StatusOr<Tensor> t = Tensor::CreateUninitialized(
      BaseType(kernel().output_type(i)), shape, allocator());
  if (!t.ok()) {
    return absl::Status(t.status().code(),
                        absl::StrCat("node '", kernel().name(), "' output ", i,
                                     ": ", t.status().message()));
  }
#if defined(__SANITIZE_ADDRESS__)
  if (t->dtype() != ::tensorflow::DT_STRING) {
    std::memset(t->raw_data(), 0xff, t->TotalBytes());
  }
#endif
  outputs_[i].value = *std::move(t);
  return &outputs_[i].value;
}

absl::StatusOr<Tensor*> OpKernelContext::forward_input_or_allocate_output(
    int in, int out, const TensorShape& requested) {
  TensorValue& v = params_.inputs[in];
  // The common case: same shape, only reference. Move it, shape and all.
  if (!v.is_ref() && v.value.IsInitialized() && v.value.RefCountIsOne() &&
      v.value.dtype() == BaseType(kernel().output_type(out)) &&
      v.value.dtype() != ::tensorflow::DT_STRING &&
      v.value.shape() == requested) {
    outputs_[out].value = std::move(v.value);
    return &outputs_[out].value;
  }
  // `requested` may refer to the input's own shape, which moving the input
  // below would clear: take a copy first.
  const TensorShape shape = requested;
  if (!v.is_ref() && v.value.IsInitialized() &&
      v.value.dtype() == BaseType(kernel().output_type(out)) &&
      v.value.NumElements() == shape.num_elements() &&
      v.value.dtype() != ::tensorflow::DT_STRING) {
    Tensor candidate = std::move(v.value);
    if (candidate.RefCountIsOne()) {
      absl::StatusOr<Tensor> reshaped = candidate.Reshape(shape);
      if (reshaped.ok()) {
        outputs_[out].value = *std::move(reshaped);
        return &outputs_[out].value;
      }
    }
    v.value = std::move(candidate);  // Still needed elsewhere: keep it.
  }
  return allocate_output_for_overwrite(out, shape);
}

absl::StatusOr<Tensor> OpKernelContext::allocate_temp(
    DataType dtype, const TensorShape& shape) {
  return Tensor::Create(dtype, shape, allocator());
}

void OpKernelContext::set_output(int i, Tensor t) {
  outputs_[i].value = std::move(t);
  outputs_[i].ref = nullptr;
  outputs_[i].mu = nullptr;
  outputs_[i].ref_name = nullptr;
}

void OpKernelContext::forward_ref_input_to_ref_output(int in, int out) {
  outputs_[out] = params_.inputs[in];
}

void OpKernelContext::set_output_ref(int i, absl::Mutex* mu, Tensor* ref,
                                     const std::string* name) {
  outputs_[i].value = Tensor();
  outputs_[i].ref = ref;
  outputs_[i].mu = mu;
  outputs_[i].ref_name = name;
}

void OpKernelContext::set_output_dead(int i) {
  outputs_[i] = TensorValue();
  outputs_[i].is_dead = true;
}

const std::string& OpKernelContext::device_name() const {
  static const std::string* const kNone = new std::string;
  return params_.device_name != nullptr ? *params_.device_name : *kNone;
}

absl::Status OpKernelContext::InvalidArgument(absl::string_view message) const {
  return absl::InvalidArgumentError(absl::StrCat("node '", kernel().name(),
                                                 "' (", kernel().type_string(),
                                                 "): ", message));
}

namespace op_kernel_internal {

void ParallelForSplit(const OpKernelContext* ctx, int64_t total,
                      int64_t cost_per_unit,
                      const std::function<void(int64_t, int64_t)>& fn) {
  cost_per_unit = std::max<int64_t>(cost_per_unit, 1);
  const int64_t grain =
      std::max<int64_t>(1, kMinParallelCost / 2 / cost_per_unit);
  // oneTBB nests this in the executor's arena: intra-op work shares the
  // threads of inter-op work instead of oversubscribing the cores.
  oneapi::tbb::parallel_for(
      oneapi::tbb::blocked_range<int64_t>(0, total, grain),
      [&](const oneapi::tbb::blocked_range<int64_t>& r) {
        fn(r.begin(), r.end());
      });
}

}  // namespace op_kernel_internal

void ParallelForBlocks(int64_t total, int64_t blocks,
                       const std::function<void(int64_t, int64_t)>& fn) {
  blocks = std::clamp<int64_t>(blocks, 1, std::max<int64_t>(total, 1));
  if (blocks == 1) {
    fn(0, total);
    return;
  }
  oneapi::tbb::parallel_for(
      oneapi::tbb::blocked_range<int64_t>(0, blocks, 1),
      [&](const oneapi::tbb::blocked_range<int64_t>& r) {
        for (int64_t b = r.begin(); b < r.end(); ++b) {
          fn(total * b / blocks, total * (b + 1) / blocks);
        }
      },
      oneapi::tbb::simple_partitioner());
}

}  // namespace rill
