// DataType helpers: names, sizes, ref types, and the mapping between C++
// element types and DataType values.
//
// Rill stores these dtypes in tensors: float32, float64, int32, int64, bool,
// uint8, int8, int16, uint16, uint32, uint64, string, and half/bfloat16 as raw
// 16-bit storage. Other TensorFlow dtypes (complex, quantized, variant) parse
// in GraphDefs but cannot be held in a Tensor yet.
#ifndef RILL_CORE_FRAMEWORK_TYPES_H_
#define RILL_CORE_FRAMEWORK_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/framework/variant.h"
#include "core/protos/types.pb.h"

namespace rill {

using ::tensorflow::DataType;
// The dtype values, so that client code can say rill::DT_FLOAT.
using ::tensorflow::DT_BFLOAT16;
using ::tensorflow::DT_BOOL;
using ::tensorflow::DT_DOUBLE;
using ::tensorflow::DT_FLOAT;
using ::tensorflow::DT_HALF;
using ::tensorflow::DT_INT16;
using ::tensorflow::DT_INT32;
using ::tensorflow::DT_INT64;
using ::tensorflow::DT_INT8;
using ::tensorflow::DT_INVALID;
using ::tensorflow::DT_RESOURCE;
using ::tensorflow::DT_STRING;
using ::tensorflow::DT_UINT16;
using ::tensorflow::DT_UINT32;
using ::tensorflow::DT_UINT64;
using ::tensorflow::DT_UINT8;
using ::tensorflow::DT_VARIANT;

// 16-bit float storage: the bits only, no arithmetic.
struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

// TensorFlow's attr-style name: "float", "double", "int32", "float_ref", ...
std::string DataTypeName(DataType dtype);
// numpy's name for the dtypes that have one ("float32", "float64", "bool",
// "object" for strings); DataTypeName otherwise.
std::string NumpyName(DataType dtype);
// Parses a TensorFlow attr-style name ("float", "int64", "float_ref").
std::optional<DataType> DataTypeFromName(absl::string_view name);

inline bool IsRefType(DataType dtype) { return dtype > 100; }
inline DataType BaseType(DataType dtype) {
  return IsRefType(dtype) ? static_cast<DataType>(dtype - 100) : dtype;
}
inline DataType MakeRefType(DataType dtype) {
  return IsRefType(dtype) ? dtype : static_cast<DataType>(dtype + 100);
}

// Bytes per element of a dtype that a Tensor can hold; 0 for DT_STRING and
// DT_VARIANT (whose elements are std::string and Variant objects) and for
// dtypes a Tensor cannot hold.
size_t DataTypeSize(DataType dtype);
// True when a Tensor can hold elements of this (base) dtype.
bool IsTensorStorable(DataType dtype);
// OK when a Tensor can hold dtype, otherwise UNIMPLEMENTED naming it.
absl::Status CheckTensorStorable(DataType dtype);

// Maps a C++ element type to its DataType: DataTypeToEnum<float>::value.
template <typename T>
struct DataTypeToEnum;

#define RILL_DTYPE_MAPPING_(T, ENUM)                      \
  template <>                                             \
  struct DataTypeToEnum<T> {                              \
    static constexpr DataType value = ::tensorflow::ENUM; \
  }
RILL_DTYPE_MAPPING_(float, DT_FLOAT);
RILL_DTYPE_MAPPING_(double, DT_DOUBLE);
RILL_DTYPE_MAPPING_(int32_t, DT_INT32);
RILL_DTYPE_MAPPING_(int64_t, DT_INT64);
RILL_DTYPE_MAPPING_(bool, DT_BOOL);
RILL_DTYPE_MAPPING_(uint8_t, DT_UINT8);
RILL_DTYPE_MAPPING_(int8_t, DT_INT8);
RILL_DTYPE_MAPPING_(int16_t, DT_INT16);
RILL_DTYPE_MAPPING_(uint16_t, DT_UINT16);
RILL_DTYPE_MAPPING_(uint32_t, DT_UINT32);
RILL_DTYPE_MAPPING_(uint64_t, DT_UINT64);
RILL_DTYPE_MAPPING_(std::string, DT_STRING);
RILL_DTYPE_MAPPING_(Half, DT_HALF);
RILL_DTYPE_MAPPING_(BFloat16, DT_BFLOAT16);
RILL_DTYPE_MAPPING_(Variant, DT_VARIANT);
#undef RILL_DTYPE_MAPPING_

// Calls fn.template operator()<T>() with the C++ type T of dtype and returns
// its result; returns fallback() for dtypes a Tensor cannot hold and for
// DT_VARIANT (no element-wise code applies to it). This is the one place
// dtypes are expanded into template instantiations.
template <typename Fn, typename Fallback>
auto VisitDataType(DataType dtype, Fn&& fn, Fallback&& fallback) {
  switch (BaseType(dtype)) {
    case ::tensorflow::DT_FLOAT:
      return fn.template operator()<float>();
    case ::tensorflow::DT_DOUBLE:
      return fn.template operator()<double>();
    case ::tensorflow::DT_INT32:
      return fn.template operator()<int32_t>();
    case ::tensorflow::DT_INT64:
      return fn.template operator()<int64_t>();
    case ::tensorflow::DT_BOOL:
      return fn.template operator()<bool>();
    case ::tensorflow::DT_UINT8:
      return fn.template operator()<uint8_t>();
    case ::tensorflow::DT_INT8:
      return fn.template operator()<int8_t>();
    case ::tensorflow::DT_INT16:
      return fn.template operator()<int16_t>();
    case ::tensorflow::DT_UINT16:
      return fn.template operator()<uint16_t>();
    case ::tensorflow::DT_UINT32:
      return fn.template operator()<uint32_t>();
    case ::tensorflow::DT_UINT64:
      return fn.template operator()<uint64_t>();
    case ::tensorflow::DT_STRING:
      return fn.template operator()<std::string>();
    case ::tensorflow::DT_HALF:
      return fn.template operator()<Half>();
    case ::tensorflow::DT_BFLOAT16:
      return fn.template operator()<BFloat16>();
    default:
      return fallback();
  }
}

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_TYPES_H_
