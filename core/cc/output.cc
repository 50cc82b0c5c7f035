#include "core/cc/output.h"

#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"

namespace rill {

std::string Output::name() const {
  return absl::StrCat(node()->name(), ":", index_);
}

Initializer::Initializer(std::initializer_list<Initializer> list) {
  if (list.size() == 0) {
    tensor_ = Tensor::FromVector<float>({}, TensorShape({0}));
    return;
  }
  const Initializer& first = *list.begin();
  const DataType dtype = first.tensor().dtype();
  const TensorShape& inner = first.tensor().shape();
  for (const Initializer& e : list) {
    if (!e.status().ok()) {
      status_ = e.status();
      return;
    }
    if (e.tensor().dtype() != dtype) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("initializer list mixes ", DataTypeName(dtype), " and ",
                       DataTypeName(e.tensor().dtype())));
      return;
    }
    if (e.tensor().shape() != inner) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("initializer list is ragged: ", inner.DebugString(),
                       " and ", e.tensor().shape().DebugString()));
      return;
    }
  }
  TensorShape shape;
  absl::Status s = shape.AddDim(static_cast<int64_t>(list.size()));
  for (int i = 0; s.ok() && i < inner.dims(); ++i)
    s = shape.AddDim(inner.dim_size(i));
  absl::StatusOr<Tensor> t =
      s.ok() ? Tensor::Create(dtype, shape) : absl::StatusOr<Tensor>(s);
  if (!t.ok()) {
    status_ = t.status();
    return;
  }
  const int64_t per = inner.num_elements();
  int64_t row = 0;
  for (const Initializer& e : list) {
    VisitDataType(
        dtype,
        [&]<typename T>() {
          auto src = e.tensor().flat<T>();
          auto dst = t->flat<T>();
          for (int64_t i = 0; i < per; ++i) dst[row * per + i] = src[i];
        },
        [] {});
    ++row;
  }
  tensor_ = *std::move(t);
}

}  // namespace rill
