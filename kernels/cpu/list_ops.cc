// Kernels of the TensorList and Optional ops (core/ops/list_ops.cc). A list
// is an immutable value in a variant scalar: an op that changes a list
// makes a new one that shares the element tensors (their buffers are never
// copied). Elements a list reserved but never set are uninitialized
// tensors; reading one gives zeros of the element shape, which must then
// be fully known.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/copy_elements.h"
#include "kernels/cpu/int_values.h"

namespace rill {
namespace {

struct TensorList : VariantValue {
  DataType dtype = DT_INVALID;
  PartialTensorShape element_shape;  // Unknown rank by default.
  int64_t max_elements = -1;         // -1: no limit.
  std::vector<Tensor> tensors;

  std::string TypeName() const override { return "TensorList"; }
  std::string DebugString() const override {
    return absl::StrCat("TensorList of ", tensors.size(), " ",
                        DataTypeName(dtype), " ", element_shape.DebugString());
  }
};

struct OptionalValue : VariantValue {
  bool has_value = false;
  std::vector<Tensor> values;
  std::string TypeName() const override { return "Optional"; }
};

// The value of variant scalar input `i` as a T, or INVALID_ARGUMENT.
template <typename T>
absl::StatusOr<const T*> VariantInput(OpKernelContext* ctx, int i,
                                      const char* what) {
  const Tensor& t = ctx->input(i);
  if (t.dtype() != DT_VARIANT || t.dims() != 0) {
    return ctx->InvalidArgument(absl::StrCat(
        "input ", i, " must be a variant scalar holding ", what, ", got ",
        DataTypeName(t.dtype()), " ", t.shape().DebugString()));
  }
  const T* value = t.scalar<Variant>().get<T>();
  if (value == nullptr) {
    return ctx->InvalidArgument(absl::StrCat("input ", i, " holds ",
                                             t.scalar<Variant>().TypeName(),
                                             ", not ", what));
  }
  return value;
}

void SetVariantOutput(OpKernelContext* ctx, int i,
                      std::shared_ptr<const VariantValue> value) {
  ctx->set_output(i, Tensor::Scalar<Variant>(Variant(std::move(value))));
}

// An element_shape input: the scalar -1 (unknown rank) or an int vector
// with -1 for unknown dimensions.
absl::StatusOr<PartialTensorShape> ShapeInput(OpKernelContext* ctx, int i) {
  const Tensor& t = ctx->input(i);
  const std::vector<int64_t> dims = IntValues(t);
  if (t.dims() == 0 && dims.size() == 1 && dims[0] == -1) {
    return PartialTensorShape::UnknownRank();
  }
  if (t.dims() != 1) {
    return ctx->InvalidArgument(
        absl::StrCat("element_shape must be -1 or a vector, got shape ",
                     t.shape().DebugString()));
  }
  absl::StatusOr<PartialTensorShape> shape = PartialTensorShape::Create(dims);
  if (!shape.ok()) return ctx->InvalidArgument(shape.status().message());
  return shape;
}

absl::Status CheckDtype(OpKernelContext* ctx, const TensorList& list,
                        DataType want) {
  if (list.dtype != want) {
    return ctx->InvalidArgument(
        absl::StrCat("the list holds ", DataTypeName(list.dtype),
                     " elements, not ", DataTypeName(want)));
  }
  return absl::OkStatus();
}

absl::Status CheckElement(OpKernelContext* ctx, const TensorList& list,
                          const Tensor& t) {
  RETURN_IF_ERROR(CheckDtype(ctx, list, t.dtype()));
  if (!list.element_shape.IsCompatibleWith(t.shape())) {
    return ctx->InvalidArgument(
        absl::StrCat("an element of shape ", t.shape().DebugString(),
                     " does not fit the list's element shape ",
                     list.element_shape.DebugString()));
  }
  return absl::OkStatus();
}

// Element `i`, or zeros where it was never set (the element shape, merged
// with `requested`, must then be fully known).
absl::StatusOr<Tensor> Element(OpKernelContext* ctx, const TensorList& list,
                               int64_t i, const PartialTensorShape& requested) {
  const Tensor& t = list.tensors[i];
  if (t.IsInitialized()) return t;
  absl::StatusOr<PartialTensorShape> merged =
      list.element_shape.Merge(requested);
  if (!merged.ok()) return ctx->InvalidArgument(merged.status().message());
  if (!merged->IsFullyDefined()) {
    return ctx->InvalidArgument(absl::StrCat(
        "element ", i, " was never set and its shape ", merged->DebugString(),
        " is not fully known, so it cannot be read"));
  }
  ASSIGN_OR_RETURN(TensorShape shape, merged->AsTensorShape());
  return Tensor::Create(list.dtype, shape, ctx->allocator());
}

// Elements `indices` stacked into one tensor [indices.size(), ...].
absl::Status StackElements(OpKernelContext* ctx, const TensorList& list,
                           const std::vector<int64_t>& indices,
                           const PartialTensorShape& requested) {
  std::vector<Tensor> items;
  items.reserve(indices.size());
  for (int64_t i : indices) {
    if (i < 0 || i >= static_cast<int64_t>(list.tensors.size())) {
      return ctx->InvalidArgument(
          absl::StrCat("index ", i, " is out of range for a list of ",
                       list.tensors.size(), " elements"));
    }
    ASSIGN_OR_RETURN(Tensor item, Element(ctx, list, i, requested));
    if (!items.empty() && item.shape() != items[0].shape()) {
      return ctx->InvalidArgument(absl::StrCat(
          "elements of shapes ", items[0].shape().DebugString(), " and ",
          item.shape().DebugString(), " cannot be stacked"));
    }
    items.push_back(std::move(item));
  }
  TensorShape row;
  if (items.empty()) {
    absl::StatusOr<PartialTensorShape> merged =
        list.element_shape.Merge(requested);
    if (!merged.ok()) return ctx->InvalidArgument(merged.status().message());
    if (!merged->IsFullyDefined()) {
      return ctx->InvalidArgument(absl::StrCat(
          "stacking no elements needs a fully known element shape, got ",
          merged->DebugString()));
    }
    ASSIGN_OR_RETURN(row, merged->AsTensorShape());
  } else {
    row = items[0].shape();
  }
  std::vector<int64_t> dims = {static_cast<int64_t>(items.size())};
  for (int d = 0; d < row.dims(); ++d) dims.push_back(row.dim_size(d));
  ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
  ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, shape));
  for (size_t k = 0; k < items.size(); ++k) {
    ASSIGN_OR_RETURN(Tensor dst, out->Slice(k, k + 1));
    CopyElements(items[k], &dst);
  }
  return absl::OkStatus();
}

class ListKernel : public OpKernel {
 public:
  explicit ListKernel(OpKernelConstruction* c) : OpKernel(c) {
    if (c->attrs().contains("element_dtype")) {
      status_ = c->GetAttr("element_dtype", &dtype_);
    }
  }

 protected:
  // The list of input 0, once the kernel's attrs were read.
  absl::StatusOr<const TensorList*> InputList(OpKernelContext* ctx) const {
    RETURN_IF_ERROR(status_);
    return VariantInput<TensorList>(ctx, 0, "a TensorList");
  }

  absl::Status status_;
  DataType dtype_ = DT_INVALID;
};

// EmptyTensorList(element_shape, max_num_elements) and
// TensorListReserve(element_shape, num_elements).
class NewListOp : public ListKernel {
 public:
  using ListKernel::ListKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    auto list = std::make_shared<TensorList>();
    list->dtype = dtype_;
    ASSIGN_OR_RETURN(list->element_shape, ShapeInput(ctx, 0));
    const bool reserve = type_string() == "TensorListReserve";
    ASSIGN_OR_RETURN(
        int64_t n,
        IntScalarInput(ctx, 1, reserve ? "num_elements" : "max_num_elements"));
    if (reserve) {
      if (n < 0) {
        return ctx->InvalidArgument(
            absl::StrCat("num_elements must be >= 0, got ", n));
      }
      list->tensors.resize(n);
    } else {
      if (n < -1) {
        return ctx->InvalidArgument(
            absl::StrCat("max_num_elements must be >= -1, got ", n));
      }
      list->max_elements = n;
    }
    SetVariantOutput(ctx, 0, std::move(list));
    return absl::OkStatus();
  }
};

class FromTensorOp : public ListKernel {
 public:
  using ListKernel::ListKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& t = ctx->input(0);
    if (t.dims() < 1) {
      return ctx->InvalidArgument(absl::StrCat(
          "tensor must have at least one dimension to split into a list, "
          "got ",
          t.shape().DebugString()));
    }
    auto list = std::make_shared<TensorList>();
    list->dtype = dtype_;
    ASSIGN_OR_RETURN(PartialTensorShape shape, ShapeInput(ctx, 1));
    TensorShape row;
    for (int d = 1; d < t.dims(); ++d)
      RETURN_IF_ERROR(row.AddDim(t.dim_size(d)));
    if (!shape.IsCompatibleWith(row)) {
      return ctx->InvalidArgument(
          absl::StrCat("rows of shape ", row.DebugString(),
                       " do not fit element_shape ", shape.DebugString()));
    }
    list->element_shape = shape;
    for (int64_t i = 0; i < t.dim_size(0); ++i) {
      ASSIGN_OR_RETURN(Tensor item, Row(t, i));
      list->tensors.push_back(std::move(item));
    }
    SetVariantOutput(ctx, 0, std::move(list));
    return absl::OkStatus();
  }
};

class PushBackOp : public ListKernel {
 public:
  using ListKernel::ListKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(const TensorList* in, InputList(ctx));
    const Tensor& t = ctx->input(1);
    RETURN_IF_ERROR(CheckElement(ctx, *in, t));
    if (in->max_elements >= 0 &&
        static_cast<int64_t>(in->tensors.size()) >= in->max_elements) {
      return ctx->InvalidArgument(
          absl::StrCat("the list is full: it holds at most ", in->max_elements,
                       " elements"));
    }
    auto out = std::make_shared<TensorList>(*in);
    out->tensors.push_back(t);
    SetVariantOutput(ctx, 0, std::move(out));
    return absl::OkStatus();
  }
};

class PopBackOp : public ListKernel {
 public:
  using ListKernel::ListKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(const TensorList* in, InputList(ctx));
    RETURN_IF_ERROR(CheckDtype(ctx, *in, dtype_));
    if (in->tensors.empty()) {
      return ctx->InvalidArgument("cannot pop from an empty list");
    }
    ASSIGN_OR_RETURN(PartialTensorShape requested, ShapeInput(ctx, 1));
    ASSIGN_OR_RETURN(
        Tensor back,
        Element(ctx, *in, static_cast<int64_t>(in->tensors.size()) - 1,
                requested));
    auto out = std::make_shared<TensorList>(*in);
    out->tensors.pop_back();
    SetVariantOutput(ctx, 0, std::move(out));
    ctx->set_output(1, std::move(back));
    return absl::OkStatus();
  }
};

class SetItemOp : public ListKernel {
 public:
  explicit SetItemOp(OpKernelConstruction* c) : ListKernel(c) {
    if (status_.ok()) {
      status_ = c->GetAttr("resize_if_index_out_of_bounds", &resize_);
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(const TensorList* in, InputList(ctx));
    ASSIGN_OR_RETURN(int64_t index, IntScalarInput(ctx, 1, "index"));
    const Tensor& item = ctx->input(2);
    RETURN_IF_ERROR(CheckElement(ctx, *in, item));
    const int64_t size = static_cast<int64_t>(in->tensors.size());
    if (index < 0 || (index >= size && !resize_)) {
      return ctx->InvalidArgument(
          absl::StrCat("index ", index, " is out of range for a list of ", size,
                       " elements"));
    }
    auto out = std::make_shared<TensorList>(*in);
    if (index >= size) out->tensors.resize(index + 1);
    out->tensors[index] = item;
    SetVariantOutput(ctx, 0, std::move(out));
    return absl::OkStatus();
  }

 private:
  bool resize_ = false;
};

class GetItemOp : public ListKernel {
 public:
  using ListKernel::ListKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(const TensorList* in, InputList(ctx));
    RETURN_IF_ERROR(CheckDtype(ctx, *in, dtype_));
    ASSIGN_OR_RETURN(int64_t index, IntScalarInput(ctx, 1, "index"));
    if (index < 0 || index >= static_cast<int64_t>(in->tensors.size())) {
      return ctx->InvalidArgument(
          absl::StrCat("index ", index, " is out of range for a list of ",
                       in->tensors.size(), " elements"));
    }
    ASSIGN_OR_RETURN(PartialTensorShape requested, ShapeInput(ctx, 2));
    ASSIGN_OR_RETURN(Tensor item, Element(ctx, *in, index, requested));
    ctx->set_output(0, std::move(item));
    return absl::OkStatus();
  }
};

// TensorListStack (every element) and TensorListGather (those indexed).
class StackOp : public ListKernel {
 public:
  explicit StackOp(OpKernelConstruction* c) : ListKernel(c) {
    if (status_.ok() && c->attrs().contains("num_elements")) {
      status_ = c->GetAttr("num_elements", &num_elements_);
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(const TensorList* in, InputList(ctx));
    RETURN_IF_ERROR(CheckDtype(ctx, *in, dtype_));
    const bool gather = type_string() == "TensorListGather";
    std::vector<int64_t> indices;
    if (gather) {
      if (ctx->input(1).dims() != 1) {
        return ctx->InvalidArgument(
            absl::StrCat("indices must be a vector, got ",
                         ctx->input(1).shape().DebugString()));
      }
      indices = IntValues(ctx->input(1));
    } else {
      indices.resize(in->tensors.size());
      for (size_t i = 0; i < indices.size(); ++i) indices[i] = i;
      if (num_elements_ >= 0 &&
          num_elements_ != static_cast<int64_t>(indices.size())) {
        return ctx->InvalidArgument(
            absl::StrCat("the list has ", indices.size(),
                         " elements, not num_elements = ", num_elements_));
      }
    }
    ASSIGN_OR_RETURN(PartialTensorShape requested,
                     ShapeInput(ctx, gather ? 2 : 1));
    return StackElements(ctx, *in, indices, requested);
  }

 private:
  int64_t num_elements_ = -1;
};

class ScatterIntoExistingListOp : public ListKernel {
 public:
  using ListKernel::ListKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(const TensorList* in, InputList(ctx));
    const Tensor& t = ctx->input(1);
    const Tensor& indices_t = ctx->input(2);
    const std::vector<int64_t> indices = IntValues(indices_t);
    if (indices_t.dims() != 1 || t.dims() < 1 ||
        t.dim_size(0) != static_cast<int64_t>(indices.size())) {
      return ctx->InvalidArgument(
          absl::StrCat("indices ", indices_t.shape().DebugString(),
                       " must be a vector with one index per row of tensor ",
                       t.shape().DebugString()));
    }
    auto out = std::make_shared<TensorList>(*in);
    for (size_t k = 0; k < indices.size(); ++k) {
      if (indices[k] < 0) {
        return ctx->InvalidArgument(
            absl::StrCat("index ", indices[k], " is negative"));
      }
      ASSIGN_OR_RETURN(Tensor item, Row(t, k));
      RETURN_IF_ERROR(CheckElement(ctx, *out, item));
      if (indices[k] >= static_cast<int64_t>(out->tensors.size())) {
        out->tensors.resize(indices[k] + 1);
      }
      out->tensors[indices[k]] = std::move(item);
    }
    SetVariantOutput(ctx, 0, std::move(out));
    return absl::OkStatus();
  }
};

class ResizeOp : public ListKernel {
 public:
  using ListKernel::ListKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(const TensorList* in, InputList(ctx));
    ASSIGN_OR_RETURN(int64_t size, IntScalarInput(ctx, 1, "size"));
    if (size < 0) {
      return ctx->InvalidArgument(
          absl::StrCat("size must be >= 0, got ", size));
    }
    auto out = std::make_shared<TensorList>(*in);
    out->tensors.resize(size);
    SetVariantOutput(ctx, 0, std::move(out));
    return absl::OkStatus();
  }
};

class LengthOp : public ListKernel {
 public:
  using ListKernel::ListKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(const TensorList* in, InputList(ctx));
    ctx->set_output(
        0, Tensor::Scalar<int32_t>(static_cast<int32_t>(in->tensors.size())));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

class ElementShapeOp : public ListKernel {
 public:
  using ListKernel::ListKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(const TensorList* in, InputList(ctx));
    const PartialTensorShape& shape = in->element_shape;
    const bool wide = output_type(0) == DT_INT64;
    Tensor* out;
    if (shape.unknown_rank()) {
      ASSIGN_OR_RETURN(out, ctx->allocate_output(0, TensorShape()));
      if (wide) {
        out->scalar<int64_t>() = -1;
      } else {
        out->scalar<int32_t>() = -1;
      }
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(out, ctx->allocate_output(0, TensorShape({shape.dims()})));
    for (int d = 0; d < shape.dims(); ++d) {
      if (wide) {
        out->flat<int64_t>()[d] = shape.dim_size(d);
      } else {
        out->flat<int32_t>()[d] = static_cast<int32_t>(shape.dim_size(d));
      }
    }
    return absl::OkStatus();
  }
};

class OptionalFromValueOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    auto value = std::make_shared<OptionalValue>();
    value->has_value = true;
    for (int i = 0; i < ctx->num_inputs(); ++i) {
      value->values.push_back(ctx->input(i));
    }
    SetVariantOutput(ctx, 0, std::move(value));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

class OptionalNoneOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    SetVariantOutput(ctx, 0, std::make_shared<OptionalValue>());
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

class OptionalHasValueOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(const OptionalValue* in,
                     VariantInput<OptionalValue>(ctx, 0, "an Optional"));
    ctx->set_output(0, Tensor::Scalar<bool>(in->has_value));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

class OptionalGetValueOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(const OptionalValue* in,
                     VariantInput<OptionalValue>(ctx, 0, "an Optional"));
    if (!in->has_value) {
      return ctx->InvalidArgument("the optional has no value");
    }
    if (static_cast<int>(in->values.size()) != num_outputs()) {
      return ctx->InvalidArgument(
          absl::StrCat("the optional holds ", in->values.size(),
                       " values; output_types names ", num_outputs()));
    }
    for (int i = 0; i < num_outputs(); ++i) {
      if (in->values[i].dtype() != output_type(i)) {
        return ctx->InvalidArgument(
            absl::StrCat("value ", i, " of the optional is ",
                         DataTypeName(in->values[i].dtype()), ", not ",
                         DataTypeName(output_type(i))));
      }
      ctx->set_output(i, in->values[i]);
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<NewListOp>(KernelDef("EmptyTensorList", kDeviceCpu));
  RegisterKernel<NewListOp>(KernelDef("TensorListReserve", kDeviceCpu));
  RegisterKernel<FromTensorOp>(KernelDef("TensorListFromTensor", kDeviceCpu));
  RegisterKernel<PushBackOp>(KernelDef("TensorListPushBack", kDeviceCpu));
  RegisterKernel<PopBackOp>(KernelDef("TensorListPopBack", kDeviceCpu));
  RegisterKernel<SetItemOp>(KernelDef("TensorListSetItem", kDeviceCpu));
  RegisterKernel<GetItemOp>(KernelDef("TensorListGetItem", kDeviceCpu));
  RegisterKernel<StackOp>(KernelDef("TensorListStack", kDeviceCpu));
  RegisterKernel<StackOp>(KernelDef("TensorListGather", kDeviceCpu));
  RegisterKernel<ScatterIntoExistingListOp>(
      KernelDef("TensorListScatterIntoExistingList", kDeviceCpu));
  RegisterKernel<ResizeOp>(KernelDef("TensorListResize", kDeviceCpu));
  RegisterKernel<LengthOp>(KernelDef("TensorListLength", kDeviceCpu));
  RegisterKernel<ElementShapeOp>(
      KernelDef("TensorListElementShape", kDeviceCpu));
  RegisterKernel<OptionalFromValueOp>(
      KernelDef("OptionalFromValue", kDeviceCpu));
  RegisterKernel<OptionalNoneOp>(KernelDef("OptionalNone", kDeviceCpu));
  RegisterKernel<OptionalHasValueOp>(KernelDef("OptionalHasValue", kDeviceCpu));
  RegisterKernel<OptionalGetValueOp>(KernelDef("OptionalGetValue", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill
