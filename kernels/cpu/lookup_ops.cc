// Kernels of the lookup table ops (core/ops/lookup_ops.cc). A HashTableV2
// is a handle resource in the device's ResourceMgr (like a queue): string
// or integer keys, each mapped to a row of a values tensor of any dtype.
// It is filled once: InitializeTableV2 refuses a second filling, and
// LookupTableImportV2 (what a KeyValueTensorInitializer runs) replaces the
// contents. Finding keys in a table never filled is FAILED_PRECONDITION.
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/handle_resource.h"
#include "kernels/cpu/int_values.h"

namespace rill {
namespace {

class HashTable : public NamedResource {
 public:
  HashTable(const std::string& container, const std::string& name,
            DataType key_dtype, DataType value_dtype)
      : NamedResource("lookup table", container, name),
        key_dtype_(key_dtype),
        value_dtype_(value_dtype) {}

  DataType key_dtype() const { return key_dtype_; }
  DataType value_dtype() const { return value_dtype_; }

  // Fills the table with keys[i] -> values[i]. With `once`, a table
  // filled before is an error.
  absl::Status Fill(const Tensor& keys, const Tensor& values, bool once) {
    RETURN_IF_ERROR(CheckTypes(keys.dtype(), values.dtype()));
    if (keys.shape() != values.shape()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "keys and values must have one shape, got ",
          keys.shape().DebugString(), " and ", values.shape().DebugString()));
    }
    absl::flat_hash_map<std::string, int64_t> rows;
    const std::vector<std::string> names = Keys(keys);
    for (size_t i = 0; i < names.size(); ++i) {
      rows[names[i]] = i;  // A repeated key keeps its last value.
    }
    absl::MutexLock lock(&mu_);
    if (once && filled_) {
      return absl::FailedPreconditionError(
          absl::StrCat("lookup table '", name(), "' is already initialized"));
    }
    rows_ = std::move(rows);
    values_ = values;
    filled_ = true;
    return absl::OkStatus();
  }

  // The value of each key, or default_value.
  absl::Status Find(const Tensor& keys, const Tensor& default_value,
                    Tensor* out) const {
    RETURN_IF_ERROR(CheckTypes(keys.dtype(), default_value.dtype()));
    if (default_value.NumElements() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("default_value must be a scalar, got shape ",
                       default_value.shape().DebugString()));
    }
    const std::vector<std::string> names = Keys(keys);
    absl::MutexLock lock(&mu_);
    if (!filled_) {
      return absl::FailedPreconditionError(
          absl::StrCat("lookup table '", name(),
                       "' is not initialized: run its initializer first"));
    }
    const bool copied = VisitDataType(
        value_dtype_,
        [&]<typename V>() {
          auto o = out->flat<V>();
          auto v = values_.flat<V>();
          const V fallback = default_value.flat<V>()[0];
          for (size_t i = 0; i < names.size(); ++i) {
            auto it = rows_.find(names[i]);
            o[i] = it == rows_.end() ? fallback : v[it->second];
          }
          return true;
        },
        [] { return false; });
    if (!copied) {
      return absl::InvalidArgumentError(absl::StrCat(
          "values of ", DataTypeName(value_dtype_), " are not supported"));
    }
    return absl::OkStatus();
  }

  int64_t size() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int64_t>(rows_.size());
  }

 private:
  absl::Status CheckTypes(DataType key, DataType value) const {
    if (key != key_dtype_ || value != value_dtype_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "lookup table '", name(), "' maps ", DataTypeName(key_dtype_), " to ",
          DataTypeName(value_dtype_), "; got ", DataTypeName(key), " keys and ",
          DataTypeName(value), " values"));
    }
    return absl::OkStatus();
  }

  // The keys as map keys: strings as they are, integers as text.
  static std::vector<std::string> Keys(const Tensor& keys) {
    if (keys.dtype() == DT_STRING) {
      auto k = keys.flat<std::string>();
      return std::vector<std::string>(k.begin(), k.end());
    }
    std::vector<std::string> out;
    for (int64_t v : IntValues(keys)) out.push_back(absl::StrCat(v));
    return out;
  }

  const DataType key_dtype_, value_dtype_;
  mutable absl::Mutex mu_;
  bool filled_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, int64_t> rows_ ABSL_GUARDED_BY(mu_);
  Tensor values_ ABSL_GUARDED_BY(mu_);
};

class HashTableOp : public HandleOpBase {
 public:
  explicit HashTableOp(OpKernelConstruction* c) : HandleOpBase(c) {
    status_.Update(c->GetAttr("key_dtype", &key_dtype_));
    status_.Update(c->GetAttr("value_dtype", &value_dtype_));
    if (status_.ok() && key_dtype_ != DT_STRING && key_dtype_ != DT_INT64 &&
        key_dtype_ != DT_INT32) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("node '", name(),
                       "': lookup tables have string, int64 or int32 "
                       "keys, not ",
                       DataTypeName(key_dtype_)));
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(std::shared_ptr<HashTable> table,
                     ctx->resources()->LookupOrCreate<HashTable>(
                         container_, shared_name_, [&] {
                           return std::make_shared<HashTable>(
                               container_, shared_name_, key_dtype_,
                               value_dtype_);
                         }));
    if (table->key_dtype() != key_dtype_ ||
        table->value_dtype() != value_dtype_) {
      return ctx->InvalidArgument(
          absl::StrCat("lookup table '", shared_name_,
                       "' already exists with other dtypes"));
    }
    SetHandle(ctx, table.get());
    return absl::OkStatus();
  }

 private:
  DataType key_dtype_ = DT_INVALID;
  DataType value_dtype_ = DT_INVALID;
};

absl::Status Annotate(OpKernelContext* ctx, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat("node '", ctx->kernel().name(),
                                             "': ", s.message()));
}

// LookupTableImportV2 (replaces) and InitializeTableV2 (once).
class TableFillOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(std::shared_ptr<HashTable> table,
                     LookupHandle<HashTable>(ctx, 0));
    return Annotate(ctx, table->Fill(ctx->input(1), ctx->input(2),
                                     type_string() == "InitializeTableV2"));
  }
};

class TableFindOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(std::shared_ptr<HashTable> table,
                     LookupHandle<HashTable>(ctx, 0));
    const Tensor& keys = ctx->input(1);
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, keys.shape()));
    return Annotate(ctx, table->Find(keys, ctx->input(2), out));
  }
};

class TableSizeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(std::shared_ptr<HashTable> table,
                     LookupHandle<HashTable>(ctx, 0));
    ctx->set_output(0, Tensor::Scalar<int64_t>(table->size()));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<HashTableOp>(KernelDef("HashTableV2", kDeviceCpu));
  RegisterKernel<TableFillOp>(KernelDef("LookupTableImportV2", kDeviceCpu));
  RegisterKernel<TableFillOp>(KernelDef("InitializeTableV2", kDeviceCpu));
  RegisterKernel<TableFindOp>(KernelDef("LookupTableFindV2", kDeviceCpu));
  RegisterKernel<TableSizeOp>(KernelDef("LookupTableSizeV2", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill
