// SaveV2, RestoreV2 and MergeV2Checkpoints on TensorFlow's V2 checkpoints
// (runtime/training/checkpoint_file.h), and the names a sharded Saver
// makes (ShardedFilename, ShardedFilespec; StringJoin and
// StaticRegexFullMatch are in string_ops.cc). A non-empty shape_and_slices
// entry names a slice of a larger tensor (a partitioned variable's part): saved
// as that slice, restored from whatever saved slices cover it.
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/file_root.h"
#include "core/platform/status_macros.h"
#include "runtime/training/checkpoint_file.h"

namespace rill {
namespace {

struct NamedSlices {
  std::vector<std::string> names;
  std::vector<std::string> slices;  // "" for a whole tensor.
};

// Checks prefix, tensor_names and shape_and_slices.
absl::StatusOr<NamedSlices> NameInputs(OpKernelContext* ctx, int64_t count) {
  const Tensor& prefix = ctx->input(0);
  const Tensor& names = ctx->input(1);
  const Tensor& slices = ctx->input(2);
  if (prefix.NumElements() != 1 || prefix.scalar<std::string>().empty()) {
    return ctx->InvalidArgument("prefix must be one non-empty string");
  }
  if (names.dims() != 1 || names.NumElements() != count || slices.dims() != 1 ||
      slices.NumElements() != count) {
    return ctx->InvalidArgument(absl::StrCat(
        "tensor_names ", names.shape().DebugString(), " and shape_and_slices ",
        slices.shape().DebugString(), " must both be vectors of ", count,
        " entries, one per tensor"));
  }
  NamedSlices out;
  for (int64_t i = 0; i < count; ++i) {
    out.names.push_back(names.flat<std::string>()[i]);
    out.slices.push_back(slices.flat<std::string>()[i]);
  }
  return out;
}

// A status of the node's own, its message naming the node.
absl::Status Named(const OpKernel& k, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(),
                      absl::StrCat("node '", k.name(), "': ", s.message()));
}

class SaveV2Op : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const int64_t count = ctx->num_inputs() - 3;
    ASSIGN_OR_RETURN(NamedSlices named, NameInputs(ctx, count));
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (int64_t i = 0; i < count; ++i) {
      tensors.emplace_back(named.names[i], ctx->input(3 + i));
    }
    const std::string& prefix = ctx->input(0).scalar<std::string>();
    RETURN_IF_ERROR(Named(*this, CheckUnderFileRoot(prefix)));
    return Named(*this, WriteCheckpoint(prefix, tensors, named.slices));
  }
};

class RestoreV2Op : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const int64_t count = ctx->num_outputs();
    ASSIGN_OR_RETURN(NamedSlices named, NameInputs(ctx, count));
    const std::vector<std::string>& names = named.names;
    const std::string& prefix = ctx->input(0).scalar<std::string>();
    RETURN_IF_ERROR(Named(*this, CheckUnderFileRoot(prefix)));
    auto reader = CheckpointReader::Open(prefix);
    RETURN_IF_ERROR(Named(*this, reader.status()));
    for (int64_t i = 0; i < count; ++i) {
      absl::StatusOr<Tensor> t;
      if (named.slices[i].empty()) {
        t = (*reader)->Read(names[i]);
      } else {
        absl::StatusOr<TensorSlice> slice = TensorSlice::Parse(named.slices[i]);
        RETURN_IF_ERROR(Named(*this, slice.status()));
        t = (*reader)->ReadSlice(names[i], *slice);
      }
      RETURN_IF_ERROR(Named(*this, t.status()));
      const DataType want = output_type(i);
      if (t->dtype() != want) {
        return ctx->InvalidArgument(absl::StrCat(
            "checkpoint tensor '", names[i], "' is ", DataTypeName(t->dtype()),
            ", the restore asks for ", DataTypeName(want)));
      }
      ctx->set_output(i, *std::move(t));
    }
    return absl::OkStatus();
  }
};

class MergeV2CheckpointsOp : public OpKernel {
 public:
  explicit MergeV2CheckpointsOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("delete_old_dirs", &delete_old_dirs_);
    if (status_.ok()) {
      status_ = c->GetAttr("allow_missing_files", &allow_missing_files_);
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& prefixes = ctx->input(0);
    const Tensor& destination = ctx->input(1);
    if (prefixes.dims() != 1 || destination.NumElements() != 1) {
      return ctx->InvalidArgument(
          absl::StrCat("checkpoint_prefixes must be a vector (got ",
                       prefixes.shape().DebugString(),
                       ") and destination_prefix a scalar (got ",
                       destination.shape().DebugString(), ")"));
    }
    RETURN_IF_ERROR(
        Named(*this, CheckUnderFileRoot(destination.flat<std::string>()[0])));
    std::vector<std::string> sources;
    for (const std::string& p : prefixes.flat<std::string>()) {
      RETURN_IF_ERROR(Named(*this, CheckUnderFileRoot(p)));
      if (allow_missing_files_ &&
          ::access(CheckpointFileOf(p).c_str(), F_OK) != 0) {
        continue;
      }
      sources.push_back(p);
    }
    return Named(*this,
                 MergeCheckpoints(sources, destination.flat<std::string>()[0],
                                  delete_old_dirs_));
  }

 private:
  absl::Status status_;
  bool delete_old_dirs_ = true;
  bool allow_missing_files_ = false;
};

// An int32 scalar input, named for errors.
absl::StatusOr<int32_t> Int32Scalar(OpKernelContext* ctx, int i,
                                    const char* what) {
  const Tensor& t = ctx->input(i);
  if (t.NumElements() != 1) {
    return ctx->InvalidArgument(
        absl::StrCat(what, " must be a scalar, not ", t.shape().DebugString()));
  }
  return t.flat<int32_t>()[0];
}

class ShardedFilenameOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const bool spec = ctx->num_inputs() == 2;
    if (ctx->input(0).NumElements() != 1) {
      return ctx->InvalidArgument("basename must be a scalar");
    }
    const std::string& base = ctx->input(0).flat<std::string>()[0];
    ASSIGN_OR_RETURN(int32_t num_shards,
                     Int32Scalar(ctx, spec ? 1 : 2, "num_shards"));
    if (spec) {
      ctx->set_output(0, Tensor::Scalar<std::string>(absl::StrFormat(
                             "%s-\?\?\?\?\?-of-%05d", base, num_shards)));
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(int32_t shard, Int32Scalar(ctx, 1, "shard"));
    ctx->set_output(0, Tensor::Scalar<std::string>(absl::StrFormat(
                           "%s-%05d-of-%05d", base, shard, num_shards)));
    return absl::OkStatus();
  }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<SaveV2Op>(KernelDef("SaveV2", kDeviceCpu));
  RegisterKernel<RestoreV2Op>(KernelDef("RestoreV2", kDeviceCpu));
  RegisterKernel<MergeV2CheckpointsOp>(
      KernelDef("MergeV2Checkpoints", kDeviceCpu));
  RegisterKernel<ShardedFilenameOp>(KernelDef("ShardedFilename", kDeviceCpu));
  RegisterKernel<ShardedFilenameOp>(KernelDef("ShardedFilespec", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill
