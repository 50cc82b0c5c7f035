"""Generates C++ from .proto files with Debian's protoc and gRPC plugin.

Nothing generated is checked in: each rill_proto_library runs protoc once per
file inside the build, and wraps the output in one cc_library.
"""

_PROTOC = "/usr/bin/protoc"
_GRPC_PLUGIN = "/usr/bin/grpc_cpp_plugin"

def rill_proto_library(name, srcs, deps = [], grpc_srcs = [], visibility = None):
    """A cc_library compiled from srcs (messages) and grpc_srcs (services).

    Args:
      name: the cc_library's name.
      srcs: .proto files with messages only; they get .pb.h/.pb.cc.
      deps: other rill_proto_library targets whose .proto files srcs import.
      grpc_srcs: .proto files that declare services; they also get
        .grpc.pb.h/.grpc.pb.cc.
      visibility: passed on to the cc_library.
    """
    all_srcs = srcs + grpc_srcs
    outs_h = []
    outs_cc = []
    for src in all_srcs:
        stem = src[:-len(".proto")]
        outs_h.append(stem + ".pb.h")
        outs_cc.append(stem + ".pb.cc")
    for src in grpc_srcs:
        stem = src[:-len(".proto")]
        outs_h.append(stem + ".grpc.pb.h")
        outs_cc.append(stem + ".grpc.pb.cc")

    native.filegroup(
        name = name + "_protos",
        srcs = all_srcs + [d + "_protos" for d in deps],
        visibility = visibility,
    )

    plugin = ""
    if grpc_srcs:
        plugin = ("--plugin=protoc-gen-grpc=%s --grpc_out=$(GENDIR) " %
                  _GRPC_PLUGIN)
    native.genrule(
        name = name + "_gen",
        srcs = all_srcs + [d + "_protos" for d in deps],
        outs = outs_h + outs_cc,
        cmd = ("%s -I. --cpp_out=$(GENDIR) %s" % (_PROTOC, plugin)) +
              " ".join(["$(location %s)" % s for s in srcs]) +
              (" " + " ".join(["$(location %s)" % s for s in grpc_srcs]) if grpc_srcs else ""),
    )

    lib_deps = deps + ["//third_party/systemlibs:protobuf"]
    if grpc_srcs:
        lib_deps.append("//third_party/systemlibs:grpc")
    native.cc_library(
        name = name,
        srcs = outs_cc,
        hdrs = outs_h,
        deps = lib_deps,
        visibility = visibility,
    )
