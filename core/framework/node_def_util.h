// Checks a node's attrs against its op's schema and works out the dtypes of
// its inputs and outputs.
#ifndef RILL_CORE_FRAMEWORK_NODE_DEF_UTIL_H_
#define RILL_CORE_FRAMEWORK_NODE_DEF_UTIL_H_

#include <vector>

#include "absl/status/status.h"
#include "core/framework/attr_value.h"
#include "core/protos/op_def.pb.h"

namespace rill {

// Adds each attr of op_def that has a default and is missing from attrs.
void AddDefaultAttrs(const ::tensorflow::OpDef& op_def, AttrMap* attrs);

// Every attr of op_def present with its declared type, within its allowed
// values and above its minimum; no attr that op_def lacks, except internal
// ones whose name starts with '_' (such as _class). INVALID_ARGUMENT naming
// the attr otherwise.
absl::Status ValidateAttrs(const ::tensorflow::OpDef& op_def,
                           const AttrMap& attrs);

// The dtypes of the node's inputs and outputs, one per tensor (an arg with
// number_attr N contributes N). Ref args give *_REF dtypes. Attrs must have
// passed ValidateAttrs.
absl::Status InOutTypes(const ::tensorflow::OpDef& op_def, const AttrMap& attrs,
                        std::vector<DataType>* inputs,
                        std::vector<DataType>* outputs);

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_NODE_DEF_UTIL_H_
