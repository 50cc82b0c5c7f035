#include "core/framework/node_def_util.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

using ::tensorflow::OpDef;
using ::tensorflow::OpDef_ArgDef;
using ::tensorflow::OpDef_AttrDef;

absl::Status CheckAllowed(const OpDef_AttrDef& def, const AttrValue& value) {
  const auto& allowed = def.allowed_values().list();
  if (allowed.type_size() > 0) {
    auto check = [&](int t) -> absl::Status {
      if (std::find(allowed.type().begin(), allowed.type().end(), t) ==
          allowed.type().end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("attr '", def.name(), "' has dtype ",
                         DataTypeName(static_cast<DataType>(t)),
                         ", which is not allowed; allowed: ",
                         SummarizeAttrValue(def.allowed_values())));
      }
      return absl::OkStatus();
    };
    if (value.value_case() == AttrValue::kType)
      RETURN_IF_ERROR(check(value.type()));
    for (int t : value.list().type()) RETURN_IF_ERROR(check(t));
  }
  if (allowed.s_size() > 0) {
    auto check = [&](const std::string& s) -> absl::Status {
      if (std::find(allowed.s().begin(), allowed.s().end(), s) ==
          allowed.s().end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "attr '", def.name(), "' is \"", s, "\", which is not allowed; ",
            "allowed: ", SummarizeAttrValue(def.allowed_values())));
      }
      return absl::OkStatus();
    };
    if (value.value_case() == AttrValue::kS) RETURN_IF_ERROR(check(value.s()));
    for (const auto& s : value.list().s()) RETURN_IF_ERROR(check(s));
  }
  return absl::OkStatus();
}

absl::Status CheckMinimum(const OpDef_AttrDef& def, const AttrValue& value) {
  if (!def.has_minimum()) return absl::OkStatus();
  int64_t got;
  if (def.type() == "int") {
    got = value.i();
  } else {
    const auto& l = value.list();
    got = l.s_size() + l.i_size() + l.f_size() + l.b_size() + l.type_size() +
          l.shape_size() + l.tensor_size() + l.func_size();
  }
  if (got < def.minimum()) {
    return absl::InvalidArgumentError(
        absl::StrCat("attr '", def.name(), "' is ", got,
                     def.type() == "int" ? "" : " entries long",
                     ", below its minimum of ", def.minimum()));
  }
  return absl::OkStatus();
}

// The most tensors one arg of a node may have (inputs of AddN or
// ConcatV2, outputs of Split or Unpack).
constexpr int64_t kMaxArgCount = 1 << 20;

absl::Status ArgTypes(const OpDef_ArgDef& arg, const AttrMap& attrs,
                      std::vector<DataType>* out) {
  int64_t n = 1;
  if (!arg.number_attr().empty()) {
    RETURN_IF_ERROR(GetAttr(attrs, arg.number_attr(), &n));
    // Checked before anything is sized by it: a count the node cannot
    // have (AddN with N = 2^32) must not become an allocation.
    if (n < 0 || n > kMaxArgCount) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attr '", arg.number_attr(), "' is ", n, ": arg '", arg.name(),
          "' may have 0 to ", kMaxArgCount, " tensors"));
    }
  }
  if (!arg.type_list_attr().empty()) {
    std::vector<DataType> types;
    RETURN_IF_ERROR(GetAttr(attrs, arg.type_list_attr(), &types));
    for (DataType t : types) {
      out->push_back(arg.is_ref() ? MakeRefType(t) : t);
    }
    return absl::OkStatus();
  }
  DataType t = arg.type();
  if (!arg.type_attr().empty()) {
    RETURN_IF_ERROR(GetAttr(attrs, arg.type_attr(), &t));
  }
  if (t == ::tensorflow::DT_INVALID) {
    return absl::InvalidArgumentError(
        absl::StrCat("arg '", arg.name(), "' has an invalid dtype"));
  }
  for (int64_t i = 0; i < n; ++i) {
    out->push_back(arg.is_ref() ? MakeRefType(t) : t);
  }
  return absl::OkStatus();
}

}  // namespace

void AddDefaultAttrs(const OpDef& op_def, AttrMap* attrs) {
  for (const auto& a : op_def.attr()) {
    if (a.has_default_value() && !attrs->contains(a.name())) {
      (*attrs)[a.name()] = a.default_value();
    }
  }
}

absl::Status ValidateAttrs(const OpDef& op_def, const AttrMap& attrs) {
  for (const auto& def : op_def.attr()) {
    auto it = attrs.find(def.name());
    if (it == attrs.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing attr '", def.name(), "' of type ", def.type()));
    }
    absl::Status s = AttrValueHasType(it->second, def.type());
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("attr '", def.name(), "': ", s.message()));
    }
    RETURN_IF_ERROR(CheckAllowed(def, it->second));
    RETURN_IF_ERROR(CheckMinimum(def, it->second));
  }
  for (const auto& [name, value] : attrs) {
    if (absl::StartsWith(name, "_")) continue;
    bool known = false;
    for (const auto& def : op_def.attr()) known |= def.name() == name;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown attr '", name, "' for op ", op_def.name()));
    }
  }
  return absl::OkStatus();
}

absl::Status InOutTypes(const OpDef& op_def, const AttrMap& attrs,
                        std::vector<DataType>* inputs,
                        std::vector<DataType>* outputs) {
  inputs->clear();
  outputs->clear();
  for (const auto& arg : op_def.input_arg()) {
    RETURN_IF_ERROR(ArgTypes(arg, attrs, inputs));
  }
  for (const auto& arg : op_def.output_arg()) {
    RETURN_IF_ERROR(ArgTypes(arg, attrs, outputs));
  }
  return absl::OkStatus();
}

}  // namespace rill
