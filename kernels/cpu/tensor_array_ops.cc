// Kernels of TensorArrayV3 and StackV2 (core/ops/tensor_array_ops.cc).
//
// Arrays and stacks are step resources, as in TensorFlow's per-step
// container: the op that makes one outputs, on its resource edge, a variant
// scalar that owns it (StepHandle), and the array or stack goes when the
// step's last tensor holding the handle does. Nothing is kept in the
// device's ResourceMgr, so concurrent steps each have their own and none
// outlives its step. Each is guarded by its own mutex: the ops of one step
// may run on several threads.
//
// An array's elements are written once (a gradient array adds the writes
// to one index, as the gradients of several reads of it must) and, with
// clear_after_read, read once. An element never written reads as zeros when
// the element shape is fully known, as TensorFlow's does, and in a gradient
// array when the forward element's shape is known (the gradient of an
// element nothing read is zeros of its shape).
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/copy_elements.h"
#include "kernels/cpu/int_values.h"

namespace rill {
namespace {

// The variant value on a resource edge that owns a step resource R.
template <typename R>
struct StepHandle : VariantValue {
  explicit StepHandle(std::shared_ptr<R> r) : resource(std::move(r)) {}
  std::string TypeName() const override { return R::kTypeName; }
  std::string DebugString() const override {
    return absl::StrCat(R::kTypeName, " '", resource->name(), "'");
  }
  const std::shared_ptr<R> resource;
};

template <typename R>
void SetHandleOutput(OpKernelContext* ctx, int i, std::shared_ptr<R> r) {
  ctx->set_output(i, Tensor::Scalar<Variant>(Variant(
                         std::make_shared<const StepHandle<R>>(std::move(r)))));
}

// The resource R that handle input `i` owns.
template <typename R>
absl::StatusOr<std::shared_ptr<R>> HandleInput(OpKernelContext* ctx, int i) {
  if (ctx->input_is_ref(i)) {
    return ctx->InvalidArgument(
        absl::StrCat("input ", i, " is a resource of the device, not a ",
                     R::kTypeName, " handle"));
  }
  const Tensor& t = ctx->input(i);
  if (t.dtype() != DT_VARIANT || t.dims() != 0) {
    return ctx->InvalidArgument(absl::StrCat(
        "input ", i, " is not a ", R::kTypeName,
        " handle: ", DataTypeName(t.dtype()), " ", t.shape().DebugString()));
  }
  const auto* handle = t.scalar<Variant>().get<StepHandle<R>>();
  if (handle == nullptr) {
    return ctx->InvalidArgument(absl::StrCat("input ", i, " holds ",
                                             t.scalar<Variant>().TypeName(),
                                             ", not a ", R::kTypeName));
  }
  return handle->resource;
}

// The resource's name: the name attr, or the node's when it is empty.
std::string ResourceName(OpKernelConstruction* c, const char* attr) {
  std::string name;
  if (!c->GetAttr(attr, &name).ok() || name.empty()) name = c->node().name();
  return name;
}

// a + b, element-wise (same dtype and shape), into a new tensor.
absl::StatusOr<Tensor> Sum(const Tensor& a, const Tensor& b, Allocator* alloc) {
  ASSIGN_OR_RETURN(Tensor out, Tensor::Create(a.dtype(), a.shape(), alloc));
  const bool added = VisitDataType(
      a.dtype(),
      [&]<typename T>() {
        if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
          auto x = a.flat<T>();
          auto y = b.flat<T>();
          auto z = out.flat<T>();
          for (size_t i = 0; i < z.size(); ++i) z[i] = x[i] + y[i];
          return true;
        } else {
          return false;
        }
      },
      [] { return false; });
  if (!added) {
    return absl::InvalidArgumentError(absl::StrCat(
        "writes of ", DataTypeName(a.dtype()), " cannot be added up"));
  }
  return out;
}

// ---------------------------------------------------------------------------
// TensorArray.

struct ArrayOptions {
  DataType dtype = DT_INVALID;
  PartialTensorShape element_shape;
  bool dynamic_size = false;
  bool clear_after_read = true;
  bool identical_element_shapes = false;
  // A gradient array: writes to one index add up.
  bool aggregate_writes = false;
};

class TensorArray {
 public:
  static constexpr char kTypeName[] = "TensorArray";

  // `shapes`, when given, has the shape of each element's gradient.
  TensorArray(std::string name, ArrayOptions options, int64_t size,
              std::vector<std::optional<TensorShape>> shapes = {})
      : name_(std::move(name)), options_(std::move(options)), slots_(size) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      slots_[i].shape = std::move(shapes[i]);
    }
  }

  const std::string& name() const { return name_; }
  DataType dtype() const { return options_.dtype; }

  int64_t size() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int64_t>(slots_.size());
  }

  // Writes values[k] at indices[k], in order.
  absl::Status Write(const std::vector<int64_t>& indices,
                     const std::vector<Tensor>& values, Allocator* alloc) {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckOpen());
    for (size_t k = 0; k < indices.size(); ++k) {
      RETURN_IF_ERROR(WriteLocked(indices[k], values[k], alloc));
    }
    return absl::OkStatus();
  }

  // The elements at `indices`, in order. `requested` is what the reader
  // knows of the element shape (for elements never written).
  absl::StatusOr<std::vector<Tensor>> Read(const std::vector<int64_t>& indices,
                                           const PartialTensorShape& requested,
                                           Allocator* alloc) {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckOpen());
    std::vector<Tensor> out;
    out.reserve(indices.size());
    for (int64_t i : indices) {
      ASSIGN_OR_RETURN(Tensor t, ReadLocked(i, requested, alloc));
      out.push_back(std::move(t));
    }
    return out;
  }

  // Every element, in order.
  absl::StatusOr<std::vector<Tensor>> ReadAll(
      const PartialTensorShape& requested, Allocator* alloc) {
    std::vector<int64_t> indices(size());
    for (size_t i = 0; i < indices.size(); ++i) indices[i] = i;
    return Read(indices, requested, alloc);
  }

  // What is known of the elements' shape, merged with `requested`.
  absl::StatusOr<PartialTensorShape> ElementShape(
      const PartialTensorShape& requested) const {
    absl::MutexLock lock(&mu_);
    return options_.element_shape.Merge(requested);
  }

  // The gradient array for `source` (one per source, made on first use),
  // of this array's size and of elements `prepend` + this array's element
  // shape. This array cannot grow after.
  absl::StatusOr<std::shared_ptr<TensorArray>> Grad(
      const std::string& source, const std::vector<int64_t>& prepend) {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckOpen());
    auto it = grads_.find(source);
    if (it != grads_.end()) return it->second;
    ArrayOptions grad = options_;
    grad.dynamic_size = false;
    grad.clear_after_read = true;
    grad.aggregate_writes = true;
    if (!prepend.empty()) {
      if (options_.element_shape.unknown_rank()) {
        grad.element_shape = PartialTensorShape::UnknownRank();
      } else {
        std::vector<int64_t> dims = prepend;
        for (int64_t d : options_.element_shape.dim_sizes()) dims.push_back(d);
        ASSIGN_OR_RETURN(grad.element_shape, PartialTensorShape::Create(dims));
      }
    }
    std::vector<std::optional<TensorShape>> shapes(slots_.size());
    for (size_t i = 0; i < slots_.size(); ++i) {
      const std::optional<TensorShape>& shape = slots_[i].shape;
      if (!shape.has_value()) continue;
      std::vector<int64_t> dims = prepend;
      for (int64_t d : shape->dim_sizes()) dims.push_back(d);
      ASSIGN_OR_RETURN(shapes[i], TensorShape::Create(dims));
    }
    grad_taken_ = true;
    auto made = std::make_shared<TensorArray>(absl::StrCat(name_, "@", source),
                                              std::move(grad), shapes.size(),
                                              std::move(shapes));
    grads_[source] = made;
    return made;
  }

  // Frees the elements; later reads and writes fail (the size stays known).
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (Slot& s : slots_) s.value = Tensor();
  }

 private:
  struct Slot {
    Tensor value;
    bool written = false;
    bool cleared = false;  // Read once with clear_after_read.
    // The element's shape once known, kept after it is cleared: a gradient
    // array's element never written reads as zeros of the shape of the
    // forward element it is the gradient of.
    std::optional<TensorShape> shape;
  };

  absl::Status CheckOpen() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (closed_) {
      return absl::InvalidArgumentError(
          absl::StrCat("TensorArray '", name_, "' has been closed"));
    }
    return absl::OkStatus();
  }

  absl::Status CheckIndex(int64_t index) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (index < 0 || index >= static_cast<int64_t>(slots_.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("index ", index, " is out of range for TensorArray '",
                       name_, "' of size ", slots_.size()));
    }
    return absl::OkStatus();
  }

  absl::Status WriteLocked(int64_t index, const Tensor& value, Allocator* alloc)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (value.dtype() != options_.dtype) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TensorArray '", name_, "' holds ", DataTypeName(options_.dtype),
          " elements; cannot write ", DataTypeName(value.dtype())));
    }
    if (index >= static_cast<int64_t>(slots_.size()) && options_.dynamic_size &&
        !grad_taken_ && index >= 0) {
      slots_.resize(index + 1);
    }
    RETURN_IF_ERROR(CheckIndex(index));
    if (!options_.element_shape.IsCompatibleWith(value.shape())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "an element of shape ", value.shape().DebugString(),
          " does not fit TensorArray '", name_, "' of element shape ",
          options_.element_shape.DebugString()));
    }
    if (options_.identical_element_shapes) {
      options_.element_shape = PartialTensorShape(value.shape());
    }
    Slot& slot = slots_[index];
    if (slot.cleared) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot write index ", index, " of TensorArray '", name_,
                       "': it was written and read already"));
    }
    if (!slot.written) {
      slot.value = value;
      slot.written = true;
      slot.shape = value.shape();
      return absl::OkStatus();
    }
    if (!options_.aggregate_writes) {
      return absl::InvalidArgumentError(
          absl::StrCat("index ", index, " of TensorArray '", name_,
                       "' was written already (each element is written once)"));
    }
    if (slot.value.shape() != value.shape()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "writes of shapes ", slot.value.shape().DebugString(), " and ",
          value.shape().DebugString(), " to index ", index,
          " of gradient TensorArray '", name_, "' cannot be added up"));
    }
    ASSIGN_OR_RETURN(slot.value, Sum(slot.value, value, alloc));
    return absl::OkStatus();
  }

  absl::StatusOr<Tensor> ReadLocked(int64_t index,
                                    const PartialTensorShape& requested,
                                    Allocator* alloc)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    RETURN_IF_ERROR(CheckIndex(index));
    Slot& slot = slots_[index];
    if (slot.cleared) {
      return absl::InvalidArgumentError(absl::StrCat(
          "index ", index, " of TensorArray '", name_,
          "' was read already and cleared (clear_after_read is set)"));
    }
    if (slot.written) {
      Tensor t = slot.value;
      if (options_.clear_after_read) {
        slot.value = Tensor();
        slot.cleared = true;
      }
      return t;
    }
    if (slot.shape.has_value()) {
      return Tensor::Create(options_.dtype, *slot.shape, alloc);
    }
    absl::StatusOr<PartialTensorShape> shape =
        options_.element_shape.Merge(requested);
    if (!shape.ok()) return shape.status();
    if (!shape->IsFullyDefined()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "index ", index, " of TensorArray '", name_,
          "' was never written, and its element shape ", shape->DebugString(),
          " is not fully known to read it as zeros"));
    }
    ASSIGN_OR_RETURN(TensorShape zeros, shape->AsTensorShape());
    return Tensor::Create(options_.dtype, zeros, alloc);
  }

  const std::string name_;
  mutable absl::Mutex mu_;
  ArrayOptions options_ ABSL_GUARDED_BY(mu_);
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool grad_taken_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, std::shared_ptr<TensorArray>> grads_
      ABSL_GUARDED_BY(mu_);
};

// The array of handle input 0, with errors naming the node.
absl::StatusOr<std::shared_ptr<TensorArray>> ArrayInput(OpKernelContext* ctx) {
  return HandleInput<TensorArray>(ctx, 0);
}

absl::Status Annotate(OpKernelContext* ctx, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(
      s.code(), absl::StrCat("node '", ctx->kernel().name(), "' (",
                             ctx->kernel().type_string(), "): ", s.message()));
}

absl::Status CheckDtype(OpKernelContext* ctx, const TensorArray& array,
                        DataType want) {
  if (array.dtype() != want) {
    return ctx->InvalidArgument(absl::StrCat(
        "TensorArray '", array.name(), "' holds ", DataTypeName(array.dtype()),
        " elements, not ", DataTypeName(want)));
  }
  return absl::OkStatus();
}

// Indices input `i`: an int32 vector.
absl::StatusOr<std::vector<int64_t>> IndicesInput(OpKernelContext* ctx, int i,
                                                  const char* what) {
  const Tensor& t = ctx->input(i);
  if (t.dims() != 1) {
    return ctx->InvalidArgument(
        absl::StrCat(what, " must be a vector, got ", t.shape().DebugString()));
  }
  return IntValues(t);
}

// The flow output: the flow input passed on (it orders the array's ops).
void PassFlow(OpKernelContext* ctx, int flow_input, int out) {
  ctx->set_output(out, ctx->input(flow_input));
}

class TensorArrayOp : public OpKernel {
 public:
  explicit TensorArrayOp(OpKernelConstruction* c)
      : OpKernel(c), name_(ResourceName(c, "tensor_array_name")) {
    status_.Update(c->GetAttr("dtype", &options_.dtype));
    status_.Update(c->GetAttr("element_shape", &options_.element_shape));
    status_.Update(c->GetAttr("dynamic_size", &options_.dynamic_size));
    status_.Update(c->GetAttr("clear_after_read", &options_.clear_after_read));
    status_.Update(c->GetAttr("identical_element_shapes",
                              &options_.identical_element_shapes));
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(int64_t size, IntScalarInput(ctx, 0, "size"));
    if (size < 0) {
      return ctx->InvalidArgument(
          absl::StrCat("size must be >= 0, got ", size));
    }
    SetHandleOutput(ctx, 0,
                    std::make_shared<TensorArray>(name_, options_, size));
    ctx->set_output(1, Tensor::Scalar<float>(0.0f));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  const std::string name_;
  ArrayOptions options_;
};

class TensorArrayWriteOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(auto array, ArrayInput(ctx));
    ASSIGN_OR_RETURN(int64_t index, IntScalarInput(ctx, 1, "index"));
    RETURN_IF_ERROR(Annotate(
        ctx, array->Write({index}, {ctx->input(2)}, ctx->allocator())));
    PassFlow(ctx, 3, 0);
    return absl::OkStatus();
  }
};

class TensorArrayReadOp : public OpKernel {
 public:
  explicit TensorArrayReadOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("dtype", &dtype_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(auto array, ArrayInput(ctx));
    RETURN_IF_ERROR(CheckDtype(ctx, *array, dtype_));
    ASSIGN_OR_RETURN(int64_t index, IntScalarInput(ctx, 1, "index"));
    absl::StatusOr<std::vector<Tensor>> got =
        array->Read({index}, PartialTensorShape(), ctx->allocator());
    RETURN_IF_ERROR(Annotate(ctx, got.status()));
    ctx->set_output(0, std::move((*got)[0]));
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  DataType dtype_ = DT_INVALID;
};

// Tensors of one shape stacked into output 0: [items.size()] + their
// shape, or + `empty_row` when there are none.
absl::Status StackOutput(OpKernelContext* ctx, const std::vector<Tensor>& items,
                         const TensorShape& empty_row) {
  const TensorShape& row = items.empty() ? empty_row : items[0].shape();
  std::vector<int64_t> dims = {static_cast<int64_t>(items.size())};
  for (int64_t d : row.dim_sizes()) dims.push_back(d);
  for (const Tensor& t : items) {
    if (t.shape() != row) {
      return ctx->InvalidArgument(absl::StrCat(
          "elements of shapes ", row.DebugString(), " and ",
          t.shape().DebugString(), " cannot be stacked into one tensor"));
    }
  }
  ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
  ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, shape));
  for (size_t k = 0; k < items.size(); ++k) {
    ASSIGN_OR_RETURN(Tensor dst, out->Slice(k, k + 1));
    CopyElements(items[k], &dst);
  }
  return absl::OkStatus();
}

// The fully known shape `what` an empty result needs.
absl::StatusOr<TensorShape> KnownShape(
    OpKernelContext* ctx, const absl::StatusOr<PartialTensorShape>& shape,
    const char* what) {
  RETURN_IF_ERROR(Annotate(ctx, shape.status()));
  if (!shape->IsFullyDefined()) {
    return ctx->InvalidArgument(
        absl::StrCat(what, " needs a fully known element shape, got ",
                     shape->DebugString()));
  }
  return shape->AsTensorShape();
}

// TensorArrayGatherV3 and TensorArrayConcatV3: read elements and join them.
class TensorArrayJoinOp : public OpKernel {
 public:
  explicit TensorArrayJoinOp(OpKernelConstruction* c)
      : OpKernel(c), gather_(c->node().op() == "TensorArrayGatherV3") {
    status_.Update(c->GetAttr("dtype", &dtype_));
    status_.Update(c->GetAttr(
        gather_ ? "element_shape" : "element_shape_except0", &shape_));
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(auto array, ArrayInput(ctx));
    RETURN_IF_ERROR(CheckDtype(ctx, *array, dtype_));
    return gather_ ? Gather(ctx, array.get()) : Concat(ctx, array.get());
  }

 private:
  absl::Status Gather(OpKernelContext* ctx, TensorArray* array) const {
    ASSIGN_OR_RETURN(std::vector<int64_t> indices,
                     IndicesInput(ctx, 1, "indices"));
    absl::StatusOr<std::vector<Tensor>> items =
        array->Read(indices, shape_, ctx->allocator());
    RETURN_IF_ERROR(Annotate(ctx, items.status()));
    TensorShape empty_row;
    if (items->empty()) {
      ASSIGN_OR_RETURN(empty_row, KnownShape(ctx, array->ElementShape(shape_),
                                             "gathering no elements"));
    }
    return StackOutput(ctx, *items, empty_row);
  }

  // Elements joined along their first dimension; output 1 has each one's
  // length in it.
  absl::Status Concat(OpKernelContext* ctx, TensorArray* array) const {
    // Unwritten elements read as zeros only when the array's own element
    // shape is known: element_shape_except0 says nothing of their length.
    absl::StatusOr<std::vector<Tensor>> items =
        array->ReadAll(PartialTensorShape(), ctx->allocator());
    RETURN_IF_ERROR(Annotate(ctx, items.status()));
    std::vector<int64_t> rest;
    if (items->empty()) {
      ASSIGN_OR_RETURN(TensorShape known,
                       KnownShape(ctx, shape_, "concatenating no elements"));
      for (int64_t d : known.dim_sizes()) rest.push_back(d);
    }
    int64_t rows = 0;
    for (size_t k = 0; k < items->size(); ++k) {
      const Tensor& t = (*items)[k];
      if (t.dims() < 1) {
        return ctx->InvalidArgument(
            absl::StrCat("element ", k,
                         " is a scalar; concatenating needs elements of "
                         "at least one dimension"));
      }
      std::vector<int64_t> after(t.shape().dim_sizes().begin() + 1,
                                 t.shape().dim_sizes().end());
      if (k == 0) {
        rest = after;
        ASSIGN_OR_RETURN(PartialTensorShape except0,
                         PartialTensorShape::Create(rest));
        if (!shape_.IsCompatibleWith(except0)) {
          return ctx->InvalidArgument(absl::StrCat(
              "elements of shape [?", except0.DebugString().substr(1),
              " do not fit element_shape_except0 ", shape_.DebugString()));
        }
      } else if (after != rest) {
        return ctx->InvalidArgument(absl::StrCat(
            "elements of shapes ", (*items)[0].shape().DebugString(), " and ",
            t.shape().DebugString(),
            " differ past their first dimension and cannot be concatenated"));
      }
      rows += t.dim_size(0);
    }
    std::vector<int64_t> dims = {rows};
    dims.insert(dims.end(), rest.begin(), rest.end());
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, shape));
    ASSIGN_OR_RETURN(
        Tensor * lengths,
        ctx->allocate_output(
            1, TensorShape({static_cast<int64_t>(items->size())})));
    int64_t at = 0;
    for (size_t k = 0; k < items->size(); ++k) {
      const Tensor& t = (*items)[k];
      lengths->flat<int64_t>()[k] = t.dim_size(0);
      ASSIGN_OR_RETURN(Tensor dst, out->Slice(at, at + t.dim_size(0)));
      CopyElements(t, &dst);
      at += t.dim_size(0);
    }
    return absl::OkStatus();
  }

  const bool gather_;
  absl::Status status_;
  DataType dtype_ = DT_INVALID;
  PartialTensorShape shape_;
};

// TensorArrayScatterV3 (rows to the indices given) and TensorArraySplitV3
// (pieces of the given lengths to indices 0, 1, ...).
class TensorArrayDistributeOp : public OpKernel {
 public:
  explicit TensorArrayDistributeOp(OpKernelConstruction* c)
      : OpKernel(c), scatter_(c->node().op() == "TensorArrayScatterV3") {}
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(auto array, ArrayInput(ctx));
    const Tensor& value = ctx->input(scatter_ ? 2 : 1);
    if (value.dims() < 1) {
      return ctx->InvalidArgument(
          absl::StrCat("value must have at least one dimension, got ",
                       value.shape().DebugString()));
    }
    std::vector<int64_t> indices;
    std::vector<Tensor> pieces;
    if (scatter_) {
      ASSIGN_OR_RETURN(indices, IndicesInput(ctx, 1, "indices"));
      if (static_cast<int64_t>(indices.size()) != value.dim_size(0)) {
        return ctx->InvalidArgument(absl::StrCat("indices has ", indices.size(),
                                                 " entries but value has ",
                                                 value.dim_size(0), " rows"));
      }
      for (int64_t r = 0; r < value.dim_size(0); ++r) {
        ASSIGN_OR_RETURN(Tensor row, Row(value, r));
        pieces.push_back(std::move(row));
      }
    } else {
      ASSIGN_OR_RETURN(std::vector<int64_t> lengths,
                       IndicesInput(ctx, 2, "lengths"));
      RETURN_IF_ERROR(Split(ctx, *array, value, lengths, &pieces));
      for (size_t i = 0; i < pieces.size(); ++i) indices.push_back(i);
    }
    RETURN_IF_ERROR(
        Annotate(ctx, array->Write(indices, pieces, ctx->allocator())));
    PassFlow(ctx, 3, 0);
    return absl::OkStatus();
  }

 private:
  static absl::Status Split(OpKernelContext* ctx, const TensorArray& array,
                            const Tensor& value,
                            const std::vector<int64_t>& lengths,
                            std::vector<Tensor>* pieces) {
    int64_t total = 0;
    for (int64_t n : lengths) {
      if (n < 0 || n > value.dim_size(0) - total) {
        return ctx->InvalidArgument(absl::StrCat(
            "lengths must be >= 0 and add up to value's first dimension (",
            value.dim_size(0), "); got ", n, " after a total of ", total));
      }
      total += n;
    }
    if (total != value.dim_size(0)) {
      return ctx->InvalidArgument(absl::StrCat(
          "lengths add up to ", total, ", not to value's first dimension (",
          value.dim_size(0), ")"));
    }
    if (static_cast<int64_t>(lengths.size()) < array.size()) {
      return ctx->InvalidArgument(absl::StrCat(
          "lengths has ", lengths.size(), " entries for TensorArray '",
          array.name(), "' of size ", array.size()));
    }
    int64_t at = 0;
    for (int64_t n : lengths) {
      ASSIGN_OR_RETURN(Tensor piece, value.Slice(at, at + n));
      pieces->push_back(std::move(piece));
      at += n;
    }
    return absl::OkStatus();
  }

  const bool scatter_;
};

class TensorArraySizeOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(auto array, ArrayInput(ctx));
    ctx->set_output(
        0, Tensor::Scalar<int32_t>(static_cast<int32_t>(array->size())));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

// TensorArrayGradV3 and TensorArrayGradWithShape.
class TensorArrayGradOp : public OpKernel {
 public:
  explicit TensorArrayGradOp(OpKernelConstruction* c)
      : OpKernel(c), with_shape_(c->node().op() == "TensorArrayGradWithShape") {
    status_ = c->GetAttr("source", &source_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(auto array, ArrayInput(ctx));
    std::vector<int64_t> prepend;
    if (with_shape_) {
      ASSIGN_OR_RETURN(prepend, IndicesInput(ctx, 2, "shape_to_prepend"));
      for (int64_t d : prepend) {
        if (d < 0) {
          return ctx->InvalidArgument(
              absl::StrCat("shape_to_prepend has a negative dimension: ", d));
        }
      }
    }
    absl::StatusOr<std::shared_ptr<TensorArray>> grad =
        array->Grad(source_, prepend);
    RETURN_IF_ERROR(Annotate(ctx, grad.status()));
    SetHandleOutput(ctx, 0, *std::move(grad));
    PassFlow(ctx, 1, 1);
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  const bool with_shape_;
  absl::Status status_;
  std::string source_;
};

class TensorArrayCloseOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(auto array, ArrayInput(ctx));
    array->Close();
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

// ---------------------------------------------------------------------------
// Stack.

class Stack {
 public:
  static constexpr char kTypeName[] = "Stack";

  Stack(std::string name, DataType dtype, int64_t max_size)
      : name_(std::move(name)), dtype_(dtype), max_size_(max_size) {}

  const std::string& name() const { return name_; }

  absl::Status Push(const Tensor& t) {
    if (t.dtype() != dtype_) {
      return absl::InvalidArgumentError(
          absl::StrCat("stack '", name_, "' holds ", DataTypeName(dtype_),
                       " elements; cannot push ", DataTypeName(t.dtype())));
    }
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckOpen());
    if (max_size_ >= 0 && static_cast<int64_t>(elements_.size()) >= max_size_) {
      return absl::InvalidArgumentError(
          absl::StrCat("stack '", name_, "' is full: it holds at most ",
                       max_size_, " elements"));
    }
    elements_.push_back(t);
    return absl::OkStatus();
  }

  absl::StatusOr<Tensor> Pop(DataType want) {
    if (want != dtype_) {
      return absl::InvalidArgumentError(
          absl::StrCat("stack '", name_, "' holds ", DataTypeName(dtype_),
                       " elements, not ", DataTypeName(want)));
    }
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckOpen());
    if (elements_.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stack '", name_, "' is empty"));
    }
    Tensor t = std::move(elements_.back());
    elements_.pop_back();
    return t;
  }

  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    elements_.clear();
  }

 private:
  absl::Status CheckOpen() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (closed_) {
      return absl::InvalidArgumentError(
          absl::StrCat("stack '", name_, "' has been closed"));
    }
    return absl::OkStatus();
  }

  const std::string name_;
  const DataType dtype_;
  const int64_t max_size_;  // < 0: no limit.
  absl::Mutex mu_;
  std::vector<Tensor> elements_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

class StackOp : public OpKernel {
 public:
  explicit StackOp(OpKernelConstruction* c)
      : OpKernel(c), name_(ResourceName(c, "stack_name")) {
    status_ = c->GetAttr("elem_type", &dtype_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(int64_t max_size, IntScalarInput(ctx, 0, "max_size"));
    SetHandleOutput(ctx, 0, std::make_shared<Stack>(name_, dtype_, max_size));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  const std::string name_;
  DataType dtype_ = DT_INVALID;
};

class StackPushOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(auto stack, HandleInput<Stack>(ctx, 0));
    RETURN_IF_ERROR(Annotate(ctx, stack->Push(ctx->input(1))));
    ctx->set_output(0, ctx->input(1));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

class StackPopOp : public OpKernel {
 public:
  explicit StackPopOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("elem_type", &dtype_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(auto stack, HandleInput<Stack>(ctx, 0));
    absl::StatusOr<Tensor> t = stack->Pop(dtype_);
    RETURN_IF_ERROR(Annotate(ctx, t.status()));
    ctx->set_output(0, *std::move(t));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  DataType dtype_ = DT_INVALID;
};

class StackCloseOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(auto stack, HandleInput<Stack>(ctx, 0));
    stack->Close();
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<TensorArrayOp>(KernelDef("TensorArrayV3", kDeviceCpu));
  RegisterKernel<TensorArrayWriteOp>(
      KernelDef("TensorArrayWriteV3", kDeviceCpu));
  RegisterKernel<TensorArrayReadOp>(KernelDef("TensorArrayReadV3", kDeviceCpu));
  for (const char* op : {"TensorArrayGatherV3", "TensorArrayConcatV3"}) {
    RegisterKernel<TensorArrayJoinOp>(KernelDef(op, kDeviceCpu));
  }
  for (const char* op : {"TensorArrayScatterV3", "TensorArraySplitV3"}) {
    RegisterKernel<TensorArrayDistributeOp>(KernelDef(op, kDeviceCpu));
  }
  RegisterKernel<TensorArraySizeOp>(KernelDef("TensorArraySizeV3", kDeviceCpu));
  for (const char* op : {"TensorArrayGradV3", "TensorArrayGradWithShape"}) {
    RegisterKernel<TensorArrayGradOp>(KernelDef(op, kDeviceCpu));
  }
  RegisterKernel<TensorArrayCloseOp>(
      KernelDef("TensorArrayCloseV3", kDeviceCpu));
  RegisterKernel<StackOp>(KernelDef("StackV2", kDeviceCpu));
  RegisterKernel<StackPushOp>(KernelDef("StackPushV2", kDeviceCpu));
  RegisterKernel<StackPopOp>(KernelDef("StackPopV2", kDeviceCpu));
  RegisterKernel<StackCloseOp>(KernelDef("StackCloseV2", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill
