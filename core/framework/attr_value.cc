#include "core/framework/attr_value.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

using ::tensorflow::AttrValue_ListValue;

constexpr absl::string_view kScalarTypes[] = {
    "string", "int", "float", "bool", "type", "shape", "tensor", "func"};

// The OpDef type name of what `value` holds; "list" for a list, whose element
// type ListElementType() tells.
std::string ValueCaseName(const AttrValue& value) {
  switch (value.value_case()) {
    case AttrValue::kS:
      return "string";
    case AttrValue::kI:
      return "int";
    case AttrValue::kF:
      return "float";
    case AttrValue::kB:
      return "bool";
    case AttrValue::kType:
      return "type";
    case AttrValue::kShape:
      return "shape";
    case AttrValue::kTensor:
      return "tensor";
    case AttrValue::kFunc:
      return "func";
    case AttrValue::kList:
      return "list";
    case AttrValue::kPlaceholder:
      return "placeholder";
    case AttrValue::VALUE_NOT_SET:
      return "nothing";
  }
  return "nothing";
}

// The element type of a non-empty list, "" for an empty one, or "mixed".
std::string ListElementType(const AttrValue_ListValue& l) {
  std::vector<std::string> kinds;
  if (l.s_size()) kinds.push_back("string");
  if (l.i_size()) kinds.push_back("int");
  if (l.f_size()) kinds.push_back("float");
  if (l.b_size()) kinds.push_back("bool");
  if (l.type_size()) kinds.push_back("type");
  if (l.shape_size()) kinds.push_back("shape");
  if (l.tensor_size()) kinds.push_back("tensor");
  if (l.func_size()) kinds.push_back("func");
  if (kinds.empty()) return "";
  if (kinds.size() > 1) return "mixed";
  return kinds[0];
}

std::string Describe(const AttrValue& value) {
  if (value.value_case() != AttrValue::kList) return ValueCaseName(value);
  std::string elem = ListElementType(value.list());
  return elem.empty() ? "an empty list" : absl::StrCat("list(", elem, ")");
}

const AttrValue* Find(const AttrMap& attrs, absl::string_view name) {
  auto it = attrs.find(std::string(name));
  return it == attrs.end() ? nullptr : &it->second;
}

absl::StatusOr<const AttrValue*> Lookup(const AttrMap& attrs,
                                        absl::string_view name,
                                        absl::string_view type) {
  const AttrValue* v = Find(attrs, name);
  if (v == nullptr) {
    return absl::NotFoundError(absl::StrCat("missing attr '", name, "'"));
  }
  absl::Status s = AttrValueHasType(*v, type);
  if (!s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("attr '", name, "': ", s.message()));
  }
  return v;
}

}  // namespace

bool IsValidAttrType(absl::string_view type) {
  if (absl::StartsWith(type, "list(") && absl::EndsWith(type, ")")) {
    type = type.substr(5, type.size() - 6);
  }
  for (absl::string_view t : kScalarTypes) {
    if (type == t) return true;
  }
  return false;
}

absl::Status AttrValueHasType(const AttrValue& value, absl::string_view type) {
  const bool want_list = absl::StartsWith(type, "list(");
  if (want_list) {
    if (value.value_case() != AttrValue::kList) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected ", type, ", got ", Describe(value)));
    }
    std::string elem = ListElementType(value.list());
    if (elem.empty() || absl::StrCat("list(", elem, ")") == type) {
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", type, ", got ", Describe(value)));
  }
  if (ValueCaseName(value) != type) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", type, ", got ", Describe(value)));
  }
  return absl::OkStatus();
}

std::string SummarizeAttrValue(const AttrValue& value) {
  switch (value.value_case()) {
    case AttrValue::kS:
      return absl::StrCat("\"", value.s(), "\"");
    case AttrValue::kI:
      return absl::StrCat(value.i());
    case AttrValue::kF:
      return absl::StrCat(value.f());
    case AttrValue::kB:
      return value.b() ? "true" : "false";
    case AttrValue::kType:
      return DataTypeName(value.type());
    case AttrValue::kShape: {
      auto s = PartialTensorShape::FromProto(value.shape());
      return s.ok() ? s->DebugString() : "<bad shape>";
    }
    case AttrValue::kTensor:
      return "<tensor>";
    case AttrValue::kFunc:
      return absl::StrCat("func ", value.func().name());
    case AttrValue::kPlaceholder:
      return absl::StrCat("$", value.placeholder());
    case AttrValue::kList: {
      const auto& l = value.list();
      std::vector<std::string> parts;
      for (const auto& s : l.s()) parts.push_back(absl::StrCat("\"", s, "\""));
      for (int64_t i : l.i()) parts.push_back(absl::StrCat(i));
      for (float f : l.f()) parts.push_back(absl::StrCat(f));
      for (bool b : l.b()) parts.push_back(b ? "true" : "false");
      for (int t : l.type()) {
        parts.push_back(DataTypeName(static_cast<DataType>(t)));
      }
      for (const auto& sh : l.shape()) {
        auto s = PartialTensorShape::FromProto(sh);
        parts.push_back(s.ok() ? s->DebugString() : "<bad shape>");
      }
      if (l.tensor_size()) parts.push_back("<tensors>");
      for (const auto& f : l.func()) parts.push_back(f.name());
      return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
    }
    case AttrValue::VALUE_NOT_SET:
      return "<unset>";
  }
  return "<unset>";
}

absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     int64_t* out) {
  ASSIGN_OR_RETURN(const AttrValue* v, Lookup(attrs, name, "int"));
  *out = v->i();
  return absl::OkStatus();
}

absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, float* out) {
  ASSIGN_OR_RETURN(const AttrValue* v, Lookup(attrs, name, "float"));
  *out = v->f();
  return absl::OkStatus();
}

absl::Status GetAttr(const AttrMap& attrs, absl::string_view name, bool* out) {
  ASSIGN_OR_RETURN(const AttrValue* v, Lookup(attrs, name, "bool"));
  *out = v->b();
  return absl::OkStatus();
}

absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     std::string* out) {
  ASSIGN_OR_RETURN(const AttrValue* v, Lookup(attrs, name, "string"));
  *out = v->s();
  return absl::OkStatus();
}

absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     DataType* out) {
  ASSIGN_OR_RETURN(const AttrValue* v, Lookup(attrs, name, "type"));
  *out = v->type();
  return absl::OkStatus();
}

absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     PartialTensorShape* out) {
  ASSIGN_OR_RETURN(const AttrValue* v, Lookup(attrs, name, "shape"));
  absl::StatusOr<PartialTensorShape> s =
      PartialTensorShape::FromProto(v->shape());
  if (!s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("attr '", name, "': ", s.status().message()));
  }
  *out = *std::move(s);
  return absl::OkStatus();
}

absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     std::vector<PartialTensorShape>* out) {
  ASSIGN_OR_RETURN(const AttrValue* v, Lookup(attrs, name, "list(shape)"));
  out->clear();
  for (const auto& proto : v->list().shape()) {
    absl::StatusOr<PartialTensorShape> s = PartialTensorShape::FromProto(proto);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("attr '", name, "': ", s.status().message()));
    }
    out->push_back(*std::move(s));
  }
  return absl::OkStatus();
}

absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     std::vector<int64_t>* out) {
  ASSIGN_OR_RETURN(const AttrValue* v, Lookup(attrs, name, "list(int)"));
  out->assign(v->list().i().begin(), v->list().i().end());
  return absl::OkStatus();
}

absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     std::vector<DataType>* out) {
  ASSIGN_OR_RETURN(const AttrValue* v, Lookup(attrs, name, "list(type)"));
  out->clear();
  for (int t : v->list().type()) out->push_back(static_cast<DataType>(t));
  return absl::OkStatus();
}

absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     std::vector<std::string>* out) {
  ASSIGN_OR_RETURN(const AttrValue* v, Lookup(attrs, name, "list(string)"));
  out->assign(v->list().s().begin(), v->list().s().end());
  return absl::OkStatus();
}

absl::Status GetAttr(const AttrMap& attrs, absl::string_view name,
                     const ::tensorflow::TensorProto** out) {
  ASSIGN_OR_RETURN(const AttrValue* v, Lookup(attrs, name, "tensor"));
  *out = &v->tensor();
  return absl::OkStatus();
}

AttrValue MakeAttr(int64_t v) {
  AttrValue a;
  a.set_i(v);
  return a;
}
AttrValue MakeAttr(int v) { return MakeAttr(static_cast<int64_t>(v)); }
AttrValue MakeAttr(float v) {
  AttrValue a;
  a.set_f(v);
  return a;
}
AttrValue MakeAttr(bool v) {
  AttrValue a;
  a.set_b(v);
  return a;
}
AttrValue MakeAttr(absl::string_view v) {
  AttrValue a;
  a.set_s(std::string(v));
  return a;
}
AttrValue MakeAttr(const char* v) { return MakeAttr(absl::string_view(v)); }
AttrValue MakeAttr(DataType v) {
  AttrValue a;
  a.set_type(v);
  return a;
}
AttrValue MakeAttr(const PartialTensorShape& v) {
  AttrValue a;
  v.ToProto(a.mutable_shape());
  return a;
}
AttrValue MakeAttr(const std::vector<PartialTensorShape>& v) {
  AttrValue a;
  auto* l = a.mutable_list();
  for (const PartialTensorShape& s : v) s.ToProto(l->add_shape());
  return a;
}
AttrValue MakeAttr(const std::vector<int64_t>& v) {
  AttrValue a;
  auto* l = a.mutable_list();
  for (int64_t x : v) l->add_i(x);
  return a;
}
AttrValue MakeAttr(const std::vector<int>& v) {
  return MakeAttr(std::vector<int64_t>(v.begin(), v.end()));
}
AttrValue MakeAttr(const std::vector<DataType>& v) {
  AttrValue a;
  auto* l = a.mutable_list();
  for (DataType x : v) l->add_type(x);
  return a;
}
AttrValue MakeAttr(const std::vector<std::string>& v) {
  AttrValue a;
  auto* l = a.mutable_list();
  for (const std::string& x : v) l->add_s(x);
  return a;
}
AttrValue MakeAttr(const std::vector<float>& v) {
  AttrValue a;
  auto* l = a.mutable_list();
  for (float x : v) l->add_f(x);
  return a;
}

}  // namespace rill
