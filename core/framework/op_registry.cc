#include "core/framework/op_registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/framework/attr_value.h"
#include "core/framework/shape_inference.h"
#include "core/framework/types.h"
#include "core/platform/status_macros.h"
#include "google/protobuf/text_format.h"

namespace rill {
namespace {

using ::tensorflow::OpDef;
using ::tensorflow::OpDef_ArgDef;
using ::tensorflow::OpDef_AttrDef;

absl::Status SpecError(absl::string_view op, absl::string_view spec,
                       absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("op ", op, ": bad spec '", spec, "': ", why));
}

// Splits "name: rest" into its two trimmed halves.
absl::Status SplitNameAndRest(absl::string_view op, absl::string_view spec,
                              std::string* name, std::string* rest) {
  size_t colon = spec.find(':');
  if (colon == absl::string_view::npos) {
    return SpecError(op, spec, "expected 'name: ...'");
  }
  *name = std::string(absl::StripAsciiWhitespace(spec.substr(0, colon)));
  *rest = std::string(absl::StripAsciiWhitespace(spec.substr(colon + 1)));
  if (name->empty() || rest->empty()) {
    return SpecError(op, spec, "empty name or type");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Unquote(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') &&
      s.back() == s.front()) {
    return std::string(s.substr(1, s.size() - 2));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("expected a quoted string, got ", s));
}

absl::StatusOr<DataType> ParseTypeName(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  std::string lower = absl::AsciiStrToLower(s);
  if (absl::StartsWith(lower, "dt_")) lower = lower.substr(3);
  std::optional<DataType> t = DataTypeFromName(lower);
  if (!t.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown type ", s));
  }
  return *t;
}

// The elements of "[a, b]" (or "{a, b}"), trimmed; empty for "[]".
std::vector<std::string> ListElements(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  s = s.substr(1, s.size() - 2);
  std::vector<std::string> out;
  if (absl::StripAsciiWhitespace(s).empty()) return out;
  for (absl::string_view part : absl::StrSplit(s, ',')) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

absl::Status ParseScalarDefault(absl::string_view type, absl::string_view text,
                                AttrValue* out) {
  if (type == "int") {
    int64_t v;
    if (!absl::SimpleAtoi(text, &v))
      return absl::InvalidArgumentError("bad int");
    out->set_i(v);
  } else if (type == "float") {
    float v;
    if (!absl::SimpleAtof(text, &v))
      return absl::InvalidArgumentError("bad float");
    out->set_f(v);
  } else if (type == "bool") {
    if (text != "true" && text != "false") {
      return absl::InvalidArgumentError("bad bool");
    }
    out->set_b(text == "true");
  } else if (type == "string") {
    ASSIGN_OR_RETURN(std::string s, Unquote(text));
    out->set_s(s);
  } else if (type == "type") {
    ASSIGN_OR_RETURN(DataType t, ParseTypeName(text));
    out->set_type(t);
  } else if (type == "shape") {
    if (!google::protobuf::TextFormat::ParseFromString(
            std::string(absl::StripPrefix(
                absl::StripSuffix(absl::StripAsciiWhitespace(text), "}"), "{")),
            out->mutable_shape())) {
      return absl::InvalidArgumentError("bad shape");
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("defaults of type ", type, " are not supported"));
  }
  return absl::OkStatus();
}

absl::Status ParseDefault(absl::string_view type, absl::string_view text,
                          AttrValue* out) {
  if (!absl::StartsWith(type, "list(")) {
    return ParseScalarDefault(type, text, out);
  }
  absl::string_view elem = type.substr(5, type.size() - 6);
  text = absl::StripAsciiWhitespace(text);
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') {
    return absl::InvalidArgumentError("a list default must be [...]");
  }
  auto* list = out->mutable_list();
  for (const std::string& e : ListElements(text)) {
    AttrValue v;
    RETURN_IF_ERROR(ParseScalarDefault(elem, e, &v));
    if (elem == "int") list->add_i(v.i());
    if (elem == "float") list->add_f(v.f());
    if (elem == "bool") list->add_b(v.b());
    if (elem == "string") list->add_s(v.s());
    if (elem == "type") list->add_type(v.type());
    if (elem == "shape") *list->add_shape() = v.shape();
  }
  return absl::OkStatus();
}

absl::StatusOr<OpDef_AttrDef> ParseAttr(absl::string_view op,
                                        absl::string_view spec) {
  OpDef_AttrDef attr;
  std::string name, rest;
  RETURN_IF_ERROR(SplitNameAndRest(op, spec, &name, &rest));
  attr.set_name(name);

  // Split off "= default" (an '=' that is not part of ">=").
  std::string default_text;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '=' && (i == 0 || rest[i - 1] != '>')) {
      default_text =
          std::string(absl::StripAsciiWhitespace(rest.substr(i + 1)));
      rest = std::string(absl::StripAsciiWhitespace(rest.substr(0, i)));
      break;
    }
  }
  // Split off ">= minimum".
  size_t ge = rest.find(">=");
  if (ge != std::string::npos) {
    int64_t min;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(rest.substr(ge + 2)),
                          &min)) {
      return SpecError(op, spec, "bad minimum");
    }
    attr.set_has_minimum(true);
    attr.set_minimum(min);
    rest = std::string(absl::StripAsciiWhitespace(rest.substr(0, ge)));
  }

  // "{...}" or "list({...})": a restricted type or string.
  bool list = false;
  absl::string_view type = rest;
  if (absl::StartsWith(type, "list(") && absl::EndsWith(type, ")")) {
    list = true;
    type = type.substr(5, type.size() - 6);
  }
  if (absl::StartsWith(type, "{") && absl::EndsWith(type, "}")) {
    std::vector<std::string> elems = ListElements(type);
    if (elems.empty()) return SpecError(op, spec, "empty restriction");
    bool strings = elems[0][0] == '\'' || elems[0][0] == '"';
    auto* allowed = attr.mutable_allowed_values()->mutable_list();
    for (const std::string& e : elems) {
      if (strings) {
        absl::StatusOr<std::string> s = Unquote(e);
        if (!s.ok()) return SpecError(op, spec, s.status().message());
        allowed->add_s(*s);
      } else {
        absl::StatusOr<DataType> t = ParseTypeName(e);
        if (!t.ok()) return SpecError(op, spec, t.status().message());
        allowed->add_type(*t);
      }
    }
    std::string base = strings ? "string" : "type";
    attr.set_type(list ? absl::StrCat("list(", base, ")") : base);
  } else {
    attr.set_type(rest);
  }
  if (!IsValidAttrType(attr.type())) {
    return SpecError(op, spec, absl::StrCat("unknown attr type ", attr.type()));
  }
  if (!default_text.empty()) {
    absl::Status s =
        ParseDefault(attr.type(), default_text, attr.mutable_default_value());
    if (!s.ok()) return SpecError(op, spec, s.message());
  }
  return attr;
}

absl::StatusOr<OpDef_ArgDef> ParseArg(absl::string_view op,
                                      absl::string_view spec,
                                      const OpDef& def) {
  OpDef_ArgDef arg;
  std::string name, rest;
  RETURN_IF_ERROR(SplitNameAndRest(op, spec, &name, &rest));
  arg.set_name(name);
  absl::string_view type = rest;
  if (absl::StartsWith(type, "Ref(") && absl::EndsWith(type, ")")) {
    arg.set_is_ref(true);
    type = type.substr(4, type.size() - 5);
  }
  size_t star = type.find('*');
  if (star != absl::string_view::npos) {
    arg.set_number_attr(
        std::string(absl::StripAsciiWhitespace(type.substr(0, star))));
    type = absl::StripAsciiWhitespace(type.substr(star + 1));
  }
  const OpDef_AttrDef* attr = nullptr;
  for (const auto& a : def.attr()) {
    if (a.name() == type) attr = &a;
  }
  if (attr != nullptr) {
    if (attr->type() == "type") {
      arg.set_type_attr(std::string(type));
    } else if (attr->type() == "list(type)" && arg.number_attr().empty()) {
      arg.set_type_list_attr(std::string(type));
    } else {
      return SpecError(op, spec,
                       absl::StrCat("attr ", type, " is not a type attr"));
    }
  } else {
    absl::StatusOr<DataType> t = ParseTypeName(type);
    if (!t.ok()) {
      return SpecError(
          op, spec,
          absl::StrCat("'", type, "' is neither a dtype nor an attr"));
    }
    arg.set_type(*t);
  }
  if (!arg.number_attr().empty()) {
    bool found = false;
    for (const auto& a : def.attr()) {
      found |= a.name() == arg.number_attr() && a.type() == "int";
    }
    if (!found) {
      return SpecError(op, spec,
                       absl::StrCat("no int attr named ", arg.number_attr()));
    }
  }
  return arg;
}

}  // namespace

OpDefBuilder::OpDefBuilder(std::string name) : name_(std::move(name)) {}

OpDefBuilder& OpDefBuilder::Input(std::string spec) {
  inputs_.push_back(std::move(spec));
  return *this;
}
OpDefBuilder& OpDefBuilder::Output(std::string spec) {
  outputs_.push_back(std::move(spec));
  return *this;
}
OpDefBuilder& OpDefBuilder::Attr(std::string spec) {
  attrs_.push_back(std::move(spec));
  return *this;
}
OpDefBuilder& OpDefBuilder::SetIsStateful() {
  stateful_ = true;
  return *this;
}
OpDefBuilder& OpDefBuilder::SetIsDistributedCommunication() {
  distributed_communication_ = true;
  return *this;
}
OpDefBuilder& OpDefBuilder::SetIsCommutative() {
  commutative_ = true;
  return *this;
}
OpDefBuilder& OpDefBuilder::SetIsAggregate() {
  aggregate_ = true;
  return *this;
}
OpDefBuilder& OpDefBuilder::SetAllowsUninitializedInput() {
  allows_uninitialized_input_ = true;
  return *this;
}
OpDefBuilder& OpDefBuilder::SetShapeFn(ShapeFn fn) {
  shape_fn_ = std::move(fn);
  return *this;
}

absl::StatusOr<OpRegistrationData> OpDefBuilder::Finalize() const {
  OpRegistrationData data;
  OpDef& def = data.op_def;
  def.set_name(name_);
  absl::flat_hash_set<std::string> names;
  for (const std::string& spec : attrs_) {
    ASSIGN_OR_RETURN(*def.add_attr(), ParseAttr(name_, spec));
    if (!names.insert(def.attr().rbegin()->name()).second) {
      return SpecError(name_, spec, "duplicate attr");
    }
  }
  names.clear();
  for (const std::string& spec : inputs_) {
    ASSIGN_OR_RETURN(*def.add_input_arg(), ParseArg(name_, spec, def));
    if (!names.insert(def.input_arg().rbegin()->name()).second) {
      return SpecError(name_, spec, "duplicate input");
    }
  }
  names.clear();
  for (const std::string& spec : outputs_) {
    ASSIGN_OR_RETURN(*def.add_output_arg(), ParseArg(name_, spec, def));
    if (!names.insert(def.output_arg().rbegin()->name()).second) {
      return SpecError(name_, spec, "duplicate output");
    }
  }
  def.set_is_stateful(stateful_);
  def.set_is_commutative(commutative_);
  def.set_is_distributed_communication(distributed_communication_);
  def.set_is_aggregate(aggregate_);
  def.set_allows_uninitialized_input(allows_uninitialized_input_);
  data.shape_fn = shape_fn_ ? shape_fn_ : ShapeFn(shape_fns::UnknownShape);
  return data;
}

OpRegistry* OpRegistry::Global() {
  static OpRegistry* const registry = new OpRegistry;
  return registry;
}

absl::Status OpRegistry::Register(OpRegistrationData data) {
  absl::MutexLock lock(&mu_);
  std::string name = data.op_def.name();
  auto [it, inserted] = ops_.try_emplace(name, nullptr);
  if (!inserted) {
    return absl::AlreadyExistsError(
        absl::StrCat("op ", name, " is already registered"));
  }
  it->second = std::make_unique<OpRegistrationData>(std::move(data));
  return absl::OkStatus();
}

absl::StatusOr<const OpRegistrationData*> OpRegistry::LookUp(
    absl::string_view op_name) const {
  absl::MutexLock lock(&mu_);
  auto it = ops_.find(op_name);
  if (it == ops_.end()) {
    return absl::NotFoundError(
        absl::StrCat("op type not registered: '", op_name, "'"));
  }
  return it->second.get();
}

std::vector<const OpRegistrationData*> OpRegistry::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<const OpRegistrationData*> out;
  for (const auto& [name, data] : ops_) out.push_back(data.get());
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
    return a->op_def.name() < b->op_def.name();
  });
  return out;
}

namespace op_registry_internal {

Registrar::Registrar(const OpDefBuilder& builder) {
  absl::StatusOr<OpRegistrationData> data = builder.Finalize();
  absl::Status s = data.ok() ? OpRegistry::Global()->Register(*std::move(data))
                             : data.status();
  if (!s.ok()) {
    // A broken op declaration in Rill's own sources: fail at startup, loudly.
    std::fprintf(stderr, "rill: bad op registration: %s\n",
                 s.ToString().c_str());
    std::abort();
  }
}

}  // namespace op_registry_internal
}  // namespace rill
