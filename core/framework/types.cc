#include "core/framework/types.h"

#include "absl/strings/str_cat.h"

namespace rill {
namespace {

using ::tensorflow::DataType_Name;

struct NameEntry {
  DataType dtype;
  const char* attr_name;
  const char* numpy_name;
};

// Names that TensorFlow writes in attr type lists, and numpy's names.
constexpr NameEntry kNames[] = {
    {::tensorflow::DT_FLOAT, "float", "float32"},
    {::tensorflow::DT_DOUBLE, "double", "float64"},
    {::tensorflow::DT_INT32, "int32", "int32"},
    {::tensorflow::DT_UINT8, "uint8", "uint8"},
    {::tensorflow::DT_INT16, "int16", "int16"},
    {::tensorflow::DT_INT8, "int8", "int8"},
    {::tensorflow::DT_STRING, "string", "object"},
    {::tensorflow::DT_COMPLEX64, "complex64", "complex64"},
    {::tensorflow::DT_INT64, "int64", "int64"},
    {::tensorflow::DT_BOOL, "bool", "bool"},
    {::tensorflow::DT_QINT8, "qint8", nullptr},
    {::tensorflow::DT_QUINT8, "quint8", nullptr},
    {::tensorflow::DT_QINT32, "qint32", nullptr},
    {::tensorflow::DT_BFLOAT16, "bfloat16", "bfloat16"},
    {::tensorflow::DT_QINT16, "qint16", nullptr},
    {::tensorflow::DT_QUINT16, "quint16", nullptr},
    {::tensorflow::DT_UINT16, "uint16", "uint16"},
    {::tensorflow::DT_COMPLEX128, "complex128", "complex128"},
    {::tensorflow::DT_HALF, "half", "float16"},
    {::tensorflow::DT_RESOURCE, "resource", nullptr},
    {::tensorflow::DT_VARIANT, "variant", nullptr},
    {::tensorflow::DT_UINT32, "uint32", "uint32"},
    {::tensorflow::DT_UINT64, "uint64", "uint64"},
    {::tensorflow::DT_FLOAT8_E5M2, "float8_e5m2", nullptr},
    {::tensorflow::DT_FLOAT8_E4M3FN, "float8_e4m3fn", nullptr},
    {::tensorflow::DT_INT4, "int4", nullptr},
    {::tensorflow::DT_UINT4, "uint4", nullptr},
};

const NameEntry* FindEntry(DataType base) {
  for (const NameEntry& e : kNames) {
    if (e.dtype == base) return &e;
  }
  return nullptr;
}

}  // namespace

std::string DataTypeName(DataType dtype) {
  const NameEntry* e = FindEntry(BaseType(dtype));
  if (e == nullptr) {
    return absl::StrCat("unknown dtype ", static_cast<int>(dtype));
  }
  return IsRefType(dtype) ? absl::StrCat(e->attr_name, "_ref") : e->attr_name;
}

std::string NumpyName(DataType dtype) {
  const NameEntry* e = FindEntry(BaseType(dtype));
  if (e != nullptr && e->numpy_name != nullptr) return e->numpy_name;
  return DataTypeName(dtype);
}

std::optional<DataType> DataTypeFromName(absl::string_view name) {
  bool ref = false;
  constexpr absl::string_view kRef = "_ref";
  if (name.size() > kRef.size() &&
      name.substr(name.size() - kRef.size()) == kRef) {
    ref = true;
    name.remove_suffix(kRef.size());
  }
  for (const NameEntry& e : kNames) {
    if (name == e.attr_name) return ref ? MakeRefType(e.dtype) : e.dtype;
  }
  return std::nullopt;
}

size_t DataTypeSize(DataType dtype) {
  return VisitDataType(
      dtype,
      []<typename T>() -> size_t {
        if constexpr (std::is_same_v<T, std::string>) {
          return 0;
        } else {
          return sizeof(T);
        }
      },
      []() -> size_t { return 0; });
}

bool IsTensorStorable(DataType dtype) {
  if (BaseType(dtype) == ::tensorflow::DT_VARIANT) return true;
  return VisitDataType(
      dtype, []<typename T>() { return true; }, []() { return false; });
}

absl::Status CheckTensorStorable(DataType dtype) {
  if (IsTensorStorable(dtype)) return absl::OkStatus();
  return absl::UnimplementedError(absl::StrCat(
      "tensors of dtype ", DataTypeName(dtype), " are not supported"));
}

}  // namespace rill
