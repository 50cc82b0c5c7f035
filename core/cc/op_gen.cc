// Generates the typed op functions of the C++ API (core/cc/ops.h and
// ops.cc) from the op registry, in the style of TensorFlow's tensorflow/cc:
//
//   auto y = ops::MatMul(scope, a, b, ops::MatMul::TransposeB(true));
//
// Each op becomes a class whose constructor adds the node. Inputs are
// parameters (an InputList for list args); attrs that the inputs determine
// (T, N, ...) are inferred; other attrs without a default are parameters;
// attrs with a default are optional, set through the nested Attrs struct and
// its static shorthands. Outputs are public members named as in the OpDef.
//
// Usage: op_gen OUT_HEADER OUT_SOURCE
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/framework/attr_value.h"
#include "core/framework/op_registry.h"
#include "core/framework/types.h"

namespace rill {
namespace {

using ::tensorflow::OpDef;
using ::tensorflow::OpDef_AttrDef;

// Ops written by hand in node_builder.h.
const std::set<std::string> kSkipped = {"Const"};

const std::set<std::string> kReserved = {
    "alignas",   "and",    "auto",      "bool",     "break",    "case",
    "catch",     "char",   "class",     "const",    "continue", "default",
    "delete",    "do",     "double",    "else",     "enum",     "explicit",
    "export",    "extern", "false",     "float",    "for",      "friend",
    "goto",      "if",     "inline",    "int",      "long",     "mutable",
    "namespace", "new",    "not",       "operator", "or",       "private",
    "protected", "public", "register",  "return",   "short",    "signed",
    "sizeof",    "static", "struct",    "switch",   "template", "this",
    "throw",     "true",   "try",       "typedef",  "typename", "union",
    "unsigned",  "using",  "virtual",   "void",     "volatile", "while",
    "xor",       "node",   "operation", "scope",    "attrs"};

std::string Identifier(const std::string& name) {
  return kReserved.count(name) ? name + "_" : name;
}

std::string CamelCase(const std::string& name) {
  std::string out;
  for (absl::string_view part : absl::StrSplit(name, '_', absl::SkipEmpty())) {
    std::string p(part);
    p[0] = absl::ascii_toupper(p[0]);
    out += p;
  }
  return out;
}

// The C++ type of an attr, or "" when the generator does not support it.
std::string CppType(const std::string& type) {
  if (type == "int") return "int64_t";
  if (type == "float") return "float";
  if (type == "bool") return "bool";
  if (type == "string") return "std::string";
  if (type == "type") return "::rill::DataType";
  if (type == "shape") return "::rill::PartialTensorShape";
  if (type == "tensor") return "::rill::Tensor";
  if (type == "list(int)") return "std::vector<int64_t>";
  if (type == "list(float)") return "std::vector<float>";
  if (type == "list(string)") return "std::vector<std::string>";
  if (type == "list(type)") return "std::vector<::rill::DataType>";
  if (type == "list(shape)") return "std::vector<::rill::PartialTensorShape>";
  return "";
}

// A float literal C++ accepts: "0.f", "0.5f", "1e+30f" (never "0f").
std::string FloatLiteral(float f) {
  return absl::StrCat("static_cast<float>(", absl::StrFormat("%.9g", f), ")");
}

std::string CppDefault(const OpDef_AttrDef& attr) {
  const AttrValue& v = attr.default_value();
  const std::string& t = attr.type();
  if (t == "int") return absl::StrCat(v.i());
  if (t == "float") return FloatLiteral(v.f());
  if (t == "bool") return v.b() ? "true" : "false";
  if (t == "string") return absl::StrCat("\"", absl::CEscape(v.s()), "\"");
  if (t == "type") {
    return absl::StrCat("::tensorflow::",
                        ::tensorflow::DataType_Name(v.type()));
  }
  if (t == "shape") {
    if (v.shape().unknown_rank()) return "::rill::PartialTensorShape()";
    std::vector<std::string> dims;
    for (const auto& d : v.shape().dim())
      dims.push_back(absl::StrCat(d.size()));
    if (dims.empty()) return "::rill::PartialTensorShape::Scalar()";
    return absl::StrCat("::rill::PartialTensorShape({",
                        absl::StrJoin(dims, ", "), "})");
  }
  if (t == "list(int)") {
    return absl::StrCat("{", absl::StrJoin(v.list().i(), ", "), "}");
  }
  if (t == "list(float)") {
    std::vector<std::string> fs;
    for (float f : v.list().f()) fs.push_back(FloatLiteral(f));
    return absl::StrCat("{", absl::StrJoin(fs, ", "), "}");
  }
  if (t == "list(string)") {
    std::vector<std::string> ss;
    for (const auto& s : v.list().s()) {
      ss.push_back(absl::StrCat("\"", absl::CEscape(s), "\""));
    }
    return absl::StrCat("{", absl::StrJoin(ss, ", "), "}");
  }
  if (t == "list(type)") {
    std::vector<std::string> ts;
    for (int x : v.list().type()) {
      ts.push_back(
          absl::StrCat("::tensorflow::",
                       ::tensorflow::DataType_Name(static_cast<DataType>(x))));
    }
    return absl::StrCat("{", absl::StrJoin(ts, ", "), "}");
  }
  if (t == "list(shape)" && v.list().shape_size() > 0) {
    std::vector<std::string> shapes;
    for (const auto& shape : v.list().shape()) {
      AttrValue one;
      *one.mutable_shape() = shape;
      OpDef_AttrDef as_shape;
      as_shape.set_type("shape");
      *as_shape.mutable_default_value() = one;
      shapes.push_back(CppDefault(as_shape));
    }
    return absl::StrCat("{", absl::StrJoin(shapes, ", "), "}");
  }
  return "{}";
}

struct OpInfo {
  const OpDef* def;
  std::vector<const OpDef_AttrDef*> required;  // Constructor parameters.
  std::vector<const OpDef_AttrDef*> optional;  // Attrs struct members.
  bool supported = true;
};

OpInfo Analyze(const OpDef& def) {
  OpInfo info{&def, {}, {}};
  std::set<std::string> inferred;
  for (const auto& arg : def.input_arg()) {
    for (const std::string& a :
         {arg.type_attr(), arg.number_attr(), arg.type_list_attr()}) {
      if (!a.empty()) inferred.insert(a);
    }
  }
  for (const auto& attr : def.attr()) {
    if (inferred.count(attr.name())) continue;
    if (CppType(attr.type()).empty()) {
      info.supported = false;
      continue;
    }
    (attr.has_default_value() ? info.optional : info.required).push_back(&attr);
  }
  return info;
}

bool IsListArg(const ::tensorflow::OpDef_ArgDef& arg) {
  return !arg.number_attr().empty() || !arg.type_list_attr().empty();
}

std::string ParamType(const OpDef_AttrDef& attr) {
  const std::string t = CppType(attr.type());
  if (t == "int64_t" || t == "float" || t == "bool" ||
      t == "::rill::DataType") {
    return t;
  }
  return absl::StrCat("const ", t, "&");
}

// "(const ::rill::Scope& scope, ::rill::Input a, ..., int64_t n"
std::string Params(const OpInfo& info) {
  std::vector<std::string> params = {"const ::rill::Scope& scope"};
  for (const auto& arg : info.def->input_arg()) {
    params.push_back(
        absl::StrCat(IsListArg(arg) ? "::rill::InputList " : "::rill::Input ",
                     Identifier(arg.name())));
  }
  for (const OpDef_AttrDef* attr : info.required) {
    params.push_back(
        absl::StrCat(ParamType(*attr), " ", Identifier(attr->name())));
  }
  return absl::StrJoin(params, ", ");
}

std::string Args(const OpInfo& info) {
  std::vector<std::string> args = {"scope"};
  for (const auto& arg : info.def->input_arg())
    args.push_back(Identifier(arg.name()));
  for (const OpDef_AttrDef* attr : info.required)
    args.push_back(Identifier(attr->name()));
  return absl::StrJoin(args, ", ");
}

void EmitHeader(const OpInfo& info, std::string* out) {
  const OpDef& def = *info.def;
  const std::string& name = def.name();
  absl::StrAppend(out, "// ", name,
                  ": see TensorFlow's op of the same name.\n");
  absl::StrAppend(out, "class ", name, " {\n public:\n");
  absl::StrAppend(out, "  struct Attrs {\n");
  for (const OpDef_AttrDef* a : info.optional) {
    absl::StrAppend(out, "    Attrs ", CamelCase(a->name()), "(", ParamType(*a),
                    " x) const {\n      Attrs ret = *this;\n      ret.",
                    a->name(), "_ = x;\n      return ret;\n    }\n");
  }
  for (const OpDef_AttrDef* a : info.optional) {
    absl::StrAppend(out, "    ", CppType(a->type()), " ", a->name(),
                    "_ = ", CppDefault(*a), ";\n");
  }
  absl::StrAppend(out, "  };\n");
  absl::StrAppend(out, "  ", name, "(", Params(info), ");\n");
  absl::StrAppend(out, "  ", name, "(", Params(info),
                  ", const Attrs& attrs);\n");
  for (const OpDef_AttrDef* a : info.optional) {
    absl::StrAppend(out, "  static Attrs ", CamelCase(a->name()), "(",
                    ParamType(*a), " x) { return Attrs().",
                    CamelCase(a->name()), "(x); }\n");
  }
  if (def.output_arg_size() == 1 && !IsListArg(def.output_arg(0))) {
    const std::string member = Identifier(def.output_arg(0).name());
    absl::StrAppend(out, "  operator ::rill::Output() const { return ", member,
                    "; }\n  operator ::rill::Input() const { return ", member,
                    "; }\n");
  } else if (def.output_arg_size() == 0) {
    absl::StrAppend(
        out, "  operator ::rill::Operation() const { return operation; }\n");
  }
  absl::StrAppend(
      out, "  ::rill::Node* node() const { return operation.node(); }\n\n");
  absl::StrAppend(out, "  ::rill::Operation operation;\n");
  for (const auto& arg : def.output_arg()) {
    absl::StrAppend(
        out, "  ",
        IsListArg(arg) ? "std::vector<::rill::Output> " : "::rill::Output ",
        Identifier(arg.name()), ";\n");
  }
  absl::StrAppend(out, "};\n\n");
}

void EmitSource(const OpInfo& info, std::string* out) {
  const OpDef& def = *info.def;
  const std::string& name = def.name();
  absl::StrAppend(out, name, "::", name, "(", Params(info), ")\n    : ", name,
                  "(", Args(info), ", Attrs()) {}\n\n");
  absl::StrAppend(out, name, "::", name, "(", Params(info),
                  ", const Attrs& attrs) {\n");
  absl::StrAppend(out, "  if (!scope.ok()) return;\n");
  absl::StrAppend(out, "  ::rill::NodeBuilder builder(scope, \"", name,
                  "\");\n");
  for (const auto& arg : def.input_arg()) {
    absl::StrAppend(out, "  builder.Input(", Identifier(arg.name()), ");\n");
  }
  for (const OpDef_AttrDef* a : info.required) {
    absl::StrAppend(out, "  builder.Attr(\"", a->name(), "\", ",
                    Identifier(a->name()), ");\n");
  }
  for (const OpDef_AttrDef* a : info.optional) {
    absl::StrAppend(out, "  builder.Attr(\"", a->name(), "\", attrs.",
                    a->name(), "_);\n");
  }
  if (info.optional.empty()) absl::StrAppend(out, "  (void)attrs;\n");
  absl::StrAppend(out, "  ::rill::Node* node = builder.Finalize();\n");
  absl::StrAppend(out, "  if (node == nullptr) return;\n");
  absl::StrAppend(out, "  operation = ::rill::Operation(node);\n");
  bool dynamic = false;
  for (int i = 0; i < def.output_arg_size(); ++i) {
    const auto& arg = def.output_arg(i);
    const std::string member = Identifier(arg.name());
    if (IsListArg(arg)) {
      absl::StrAppend(out, "  ", member, " = ::rill::OutputsOfArg(node, ", i,
                      ");\n");
      dynamic = true;
    } else if (dynamic) {
      absl::StrAppend(out, "  ", member, " = ::rill::OutputsOfArg(node, ", i,
                      ")[0];\n");
    } else {
      absl::StrAppend(out, "  ", member, " = ::rill::Output(node, ", i, ");\n");
    }
  }
  absl::StrAppend(out, "}\n\n");
}

int Main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: op_gen OUT_HEADER OUT_SOURCE\n");
    return 2;
  }
  std::string header =
      "// Generated by core/cc/op_gen from the op registry. Do not edit.\n"
      "#ifndef RILL_CORE_CC_OPS_H_\n#define RILL_CORE_CC_OPS_H_\n\n"
      "#include <cstdint>\n#include <string>\n#include <vector>\n\n"
      "#include \"core/cc/node_builder.h\"\n#include \"core/cc/output.h\"\n"
      "#include \"core/cc/scope.h\"\n\nnamespace rill {\nnamespace ops {\n\n"
      "using ::rill::Const;\n\n";
  std::string source =
      "// Generated by core/cc/op_gen from the op registry. Do not edit.\n"
      "#include \"core/cc/ops.h\"\n\nnamespace rill {\nnamespace ops {\n\n";
  for (const OpRegistrationData* reg : OpRegistry::Global()->List()) {
    const OpDef& def = reg->op_def;
    if (kSkipped.count(def.name()) || def.name()[0] == '_') continue;
    OpInfo info = Analyze(def);
    if (!info.supported) {
      std::fprintf(stderr, "op_gen: skipping %s (unsupported attr type)\n",
                   def.name().c_str());
      continue;
    }
    EmitHeader(info, &header);
    EmitSource(info, &source);
  }
  absl::StrAppend(&header, "}  // namespace ops\n}  // namespace rill\n\n",
                  "#endif  // RILL_CORE_CC_OPS_H_\n");
  absl::StrAppend(&source, "}  // namespace ops\n}  // namespace rill\n");
  std::ofstream(argv[1]) << header;
  std::ofstream(argv[2]) << source;
  return 0;
}

}  // namespace
}  // namespace rill

int main(int argc, char** argv) { return rill::Main(argc, argv); }
