#include "core/framework/tensor_proto.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

using ::tensorflow::TensorProto;

// The repeated field of `proto` that holds elements of C++ type T, and the
// conversions between its element type and T.
template <typename T>
struct ProtoField;

#define RILL_PROTO_FIELD_(T, FIELD, ADD)                               \
  template <>                                                          \
  struct ProtoField<T> {                                               \
    static const auto& Get(const TensorProto& p) { return p.FIELD(); } \
    static T From(const auto& v) { return static_cast<T>(v); }         \
    static void Add(TensorProto* p, const T& v) { p->ADD(v); }         \
  }
RILL_PROTO_FIELD_(float, float_val, add_float_val);
RILL_PROTO_FIELD_(double, double_val, add_double_val);
RILL_PROTO_FIELD_(int32_t, int_val, add_int_val);
RILL_PROTO_FIELD_(int64_t, int64_val, add_int64_val);
RILL_PROTO_FIELD_(bool, bool_val, add_bool_val);
RILL_PROTO_FIELD_(uint8_t, int_val, add_int_val);
RILL_PROTO_FIELD_(int8_t, int_val, add_int_val);
RILL_PROTO_FIELD_(int16_t, int_val, add_int_val);
RILL_PROTO_FIELD_(uint16_t, int_val, add_int_val);
RILL_PROTO_FIELD_(uint32_t, uint32_val, add_uint32_val);
RILL_PROTO_FIELD_(uint64_t, uint64_val, add_uint64_val);
RILL_PROTO_FIELD_(std::string, string_val, add_string_val);
#undef RILL_PROTO_FIELD_

template <typename T>
struct HalfField {
  static const auto& Get(const TensorProto& p) { return p.half_val(); }
  static T From(int32_t v) { return T{static_cast<uint16_t>(v)}; }
  static void Add(TensorProto* p, const T& v) { p->add_half_val(v.bits); }
};
template <>
struct ProtoField<Half> : HalfField<Half> {};
template <>
struct ProtoField<BFloat16> : HalfField<BFloat16> {};

template <typename T>
absl::Status FillFromField(const TensorProto& proto, Tensor* t) {
  const auto& field = ProtoField<T>::Get(proto);
  const int64_t n = t->NumElements();
  const int64_t given = field.size();
  if (given > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("TensorProto of shape ", t->shape().DebugString(), " has ",
                     given, " values but the shape holds ", n));
  }
  std::span<T> out = t->flat<T>();
  for (int64_t i = 0; i < given; ++i) out[i] = ProtoField<T>::From(field[i]);
  if (given > 0) {
    const T last = out[given - 1];
    for (int64_t i = given; i < n; ++i) out[i] = last;
  }
  return absl::OkStatus();
}

// The number of values in the repeated field that holds `dtype`.
int64_t FieldSize(const TensorProto& proto, DataType dtype) {
  return VisitDataType(
      dtype,
      [&]<typename T>() -> int64_t { return ProtoField<T>::Get(proto).size(); },
      []() -> int64_t { return 0; });
}

// A string tensor's tensor_content as TensorFlow encodes it (its C++
// client sends string feeds so): each element's length as a varint32, then
// the elements' bytes one after another. The lengths of `n` elements, or
// INVALID_ARGUMENT when the content is not that.
absl::StatusOr<std::vector<uint32_t>> StringContentLengths(
    const std::string& content, int64_t n) {
  std::vector<uint32_t> lengths;
  size_t pos = 0;
  uint64_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t v = 0;
    bool done = false;
    for (int shift = 0; shift <= 28 && pos < content.size(); shift += 7) {
      const auto byte = static_cast<uint8_t>(content[pos++]);
      v |= static_cast<uint32_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        done = true;
        break;
      }
    }
    if (!done) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TensorProto of dtype string: tensor_content ends within the "
          "length of element ",
          i, " of ", n));
    }
    lengths.push_back(v);
    total += v;
  }
  if (total != content.size() - pos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TensorProto of dtype string: tensor_content's lengths add up to ",
        total, " bytes but ", content.size() - pos, " follow them"));
  }
  return lengths;
}

// Checks everything about `proto` that can be checked before allocating;
// returns its shape.
absl::StatusOr<TensorShape> CheckProto(const TensorProto& proto,
                                       int64_t max_bytes) {
  const DataType dtype = proto.dtype();
  if (dtype == ::tensorflow::DT_INVALID || IsRefType(dtype)) {
    return absl::InvalidArgumentError(
        absl::StrCat("TensorProto has invalid dtype ", DataTypeName(dtype)));
  }
  RETURN_IF_ERROR(CheckTensorStorable(dtype));
  if (dtype == ::tensorflow::DT_VARIANT) {
    return absl::UnimplementedError(
        "TensorProto of dtype variant: variant values (lists, optionals, "
        "datasets) stay in the process that made them and cannot be decoded");
  }
  absl::StatusOr<TensorShape> shape =
      TensorShape::FromProto(proto.tensor_shape());
  if (!shape.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TensorProto has a bad shape: ", shape.status().message()));
  }
  const int64_t n = shape->num_elements();
  const size_t elem = dtype == ::tensorflow::DT_STRING ? sizeof(std::string)
                                                       : DataTypeSize(dtype);
  if (n > 0 && (max_bytes / static_cast<int64_t>(elem)) < n) {
    return absl::ResourceExhaustedError(
        absl::StrCat("TensorProto of dtype ", DataTypeName(dtype),
                     " and shape ", shape->DebugString(),
                     " is larger than the limit of ", max_bytes, " bytes"));
  }
  if (!proto.tensor_content().empty()) {
    if (dtype == ::tensorflow::DT_STRING) {
      RETURN_IF_ERROR(StringContentLengths(proto.tensor_content(), n).status());
      return shape;
    }
    if (proto.tensor_content().size() !=
        static_cast<size_t>(n) * DataTypeSize(dtype)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TensorProto tensor_content has ", proto.tensor_content().size(),
          " bytes but a ", DataTypeName(dtype), " tensor of shape ",
          shape->DebugString(), " needs ", n * DataTypeSize(dtype)));
    }
    return shape;
  }
  const int64_t given = FieldSize(proto, dtype);
  if (given > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("TensorProto of shape ", shape->DebugString(), " has ",
                     given, " values but the shape holds ", n));
  }
  return shape;
}

}  // namespace

absl::Status ValidateTensorProto(const TensorProto& proto, int64_t max_bytes) {
  return CheckProto(proto, max_bytes).status();
}

absl::StatusOr<Tensor> TensorFromProto(const TensorProto& proto,
                                       int64_t max_bytes,
                                       Allocator* allocator) {
  ASSIGN_OR_RETURN(TensorShape shape, CheckProto(proto, max_bytes));
  const DataType dtype = proto.dtype();
  const bool has_content = !proto.tensor_content().empty();
  // Content (checked to be exactly the tensor's bytes) overwrites it all.
  ASSIGN_OR_RETURN(Tensor t,
                   has_content && dtype != ::tensorflow::DT_STRING
                       ? Tensor::CreateUninitialized(dtype, shape, allocator)
                       : Tensor::Create(dtype, shape, allocator));
  if (has_content && dtype == ::tensorflow::DT_STRING) {
    ASSIGN_OR_RETURN(
        std::vector<uint32_t> lengths,
        StringContentLengths(proto.tensor_content(), shape.num_elements()));
    const std::string& content = proto.tensor_content();
    size_t pos = content.size();
    for (uint32_t len : lengths) pos -= len;
    auto out = t.flat<std::string>();
    for (size_t i = 0; i < lengths.size(); ++i) {
      out[i].assign(content, pos, lengths[i]);
      pos += lengths[i];
    }
    return t;
  }
  if (has_content) {
    if (shape.num_elements() > 0) {
      std::memcpy(t.raw_data(), proto.tensor_content().data(),
                  proto.tensor_content().size());
    }
    return t;
  }
  RETURN_IF_ERROR(VisitDataType(
      dtype, [&]<typename T>() { return FillFromField<T>(proto, &t); },
      [] { return absl::OkStatus(); }));
  return t;
}

void TensorToProto(const Tensor& tensor, TensorProto* proto) {
  if (tensor.dtype() == ::tensorflow::DT_STRING) {
    TensorToProtoField(tensor, proto);
    return;
  }
  proto->Clear();
  proto->set_dtype(tensor.dtype());
  tensor.shape().ToProto(proto->mutable_tensor_shape());
  // Variant values are not encoded: the dtype and shape alone, which
  // decoding refuses.
  if (tensor.TotalBytes() > 0 && tensor.dtype() != ::tensorflow::DT_VARIANT) {
    proto->set_tensor_content(static_cast<const char*>(tensor.raw_data()),
                              tensor.TotalBytes());
  }
}

void TensorToProtoField(const Tensor& tensor, TensorProto* proto) {
  proto->Clear();
  proto->set_dtype(tensor.dtype());
  tensor.shape().ToProto(proto->mutable_tensor_shape());
  VisitDataType(
      tensor.dtype(),
      [&]<typename T>() {
        for (const T& v : tensor.flat<T>()) ProtoField<T>::Add(proto, v);
      },
      [] {});
}

}  // namespace rill
