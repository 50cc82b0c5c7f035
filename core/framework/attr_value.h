// Helpers for op attributes: typed reads of a node's attrs, type checks of
// AttrValues against OpDef attr types, and AttrValue construction.
#ifndef RILL_CORE_FRAMEWORK_ATTR_VALUE_H_
#define RILL_CORE_FRAMEWORK_ATTR_VALUE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/framework/tensor_shape.h"
#include "core/framework/types.h"
#include "core/protos/attr_value.pb.h"
#include "google/protobuf/map.h"

namespace rill {

using ::tensorflow::AttrValue;
using AttrMap = ::google::protobuf::Map<std::string, AttrValue>;

// OK when `value` holds an attr of OpDef type `type` ("int", "list(type)",
// ...), else INVALID_ARGUMENT saying what it holds instead. An empty list
// matches every list type, as in TensorFlow.
absl::Status AttrValueHasType(const AttrValue& value, absl::string_view type);
// True for the attr type names OpDef allows.
bool IsValidAttrType(absl::string_view type);
// A short, human-readable form: "[1,2]", "DT_FLOAT", "\"SAME\"".
std::string SummarizeAttrValue(const AttrValue& value);

// Typed reads. NOT_FOUND when the attr is missing, INVALID_ARGUMENT when it
// has another type; both name the attr.
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     int64_t* out);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, float* out);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, bool* out);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     std::string* out);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     DataType* out);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     PartialTensorShape* out);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     std::vector<PartialTensorShape>* out);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     std::vector<int64_t>* out);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     std::vector<DataType>* out);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     std::vector<std::string>* out);
absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     const ::tensorflow::TensorProto** out);

// AttrValue constructors.
AttrValue MakeAttr(int64_t v);
AttrValue MakeAttr(int v);
AttrValue MakeAttr(float v);
AttrValue MakeAttr(bool v);
AttrValue MakeAttr(absl::string_view v);
AttrValue MakeAttr(const char* v);
AttrValue MakeAttr(DataType v);
AttrValue MakeAttr(const PartialTensorShape& v);
AttrValue MakeAttr(const std::vector<PartialTensorShape>& v);
AttrValue MakeAttr(const std::vector<int64_t>& v);
AttrValue MakeAttr(const std::vector<int>& v);
AttrValue MakeAttr(const std::vector<DataType>& v);
AttrValue MakeAttr(const std::vector<std::string>& v);
AttrValue MakeAttr(const std::vector<float>& v);

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_ATTR_VALUE_H_
