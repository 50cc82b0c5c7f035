"""Builds the rill package: compiles Rill's .proto files into Python
protobuf and gRPC modules (grpcio-tools) under rill/_proto, and bundles the
op registry (`rill ops`) that rill.ops makes its wrappers from.

The .proto files are read from the repository this directory sits in (or
RILL_PROTO_ROOT). Their imports ("core/protos/x.proto") are rewritten to
the package's own path, and the modules register their messages in a
descriptor pool of their own (rill._proto.POOL), so that importing rill and
TensorFlow in one process does not collide on the tensorflow.* names the
wire protocol shares.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIRS = ("core/protos", "distributed/protos")
PACKAGE_PROTO = "rill/_proto"


def proto_root():
    root = os.environ.get("RILL_PROTO_ROOT", os.path.dirname(HERE))
    if not os.path.isdir(os.path.join(root, "core", "protos")):
        sys.exit("rill: no core/protos under %s: build python_stub from "
                 "within the Rill repository, or set RILL_PROTO_ROOT" % root)
    return root


def find_rill():
    """The rill binary: $RILL_BINARY, rill on PATH, or the repository's
    bazel-bin/tools/rill; None when there is none."""
    candidates = [os.environ.get("RILL_BINARY"), shutil.which("rill"),
                  os.path.join(os.path.dirname(HERE), "bazel-bin", "tools",
                               "rill")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def generate_protos(build_lib):
    """Compiles every .proto into build_lib/rill/_proto; returns the oldest
    protobuf and grpcio runtimes the generated modules accept ("6.31.1",
    "1.85.1")."""
    from grpc_tools import protoc  # A build requirement.
    import grpc_tools

    root = proto_root()
    with tempfile.TemporaryDirectory() as tmp:
        sources = []
        for d in PROTO_DIRS:
            out_dir = os.path.join(tmp, PACKAGE_PROTO, d)
            os.makedirs(out_dir)
            for name in sorted(os.listdir(os.path.join(root, d))):
                if not name.endswith(".proto"):
                    continue
                with open(os.path.join(root, d, name)) as f:
                    text = f.read()
                text = re.sub(r'import "((?:%s)/)' %
                              "|".join(re.escape(p) for p in PROTO_DIRS),
                              r'import "%s/\1' % PACKAGE_PROTO, text)
                with open(os.path.join(out_dir, name), "w") as f:
                    f.write(text)
                sources.append(os.path.join(PACKAGE_PROTO, d, name))
        well_known = os.path.join(os.path.dirname(grpc_tools.__file__),
                                  "_proto")
        args = ["grpc_tools.protoc", "-I" + tmp, "-I" + well_known,
                "--python_out=" + build_lib, "--grpc_python_out=" + build_lib]
        if protoc.main(args + sources) != 0:
            sys.exit("rill: protoc failed on Rill's .proto files")
    minimum = None
    grpc_minimum = None
    for d in PROTO_DIRS:
        pkg = os.path.join(build_lib, PACKAGE_PROTO, d)
        parts = d.split("/")
        for i in range(len(parts) + 1):
            init = os.path.join(build_lib, PACKAGE_PROTO, *parts[:i],
                                "__init__.py")
            if not os.path.exists(init):
                open(init, "w").close()
        for name in os.listdir(pkg):
            if name.endswith("_pb2_grpc.py"):
                with open(os.path.join(pkg, name)) as f:
                    found = re.search(r"GRPC_GENERATED_VERSION = '([\d.]+)'",
                                      f.read())
                if found:
                    grpc_minimum = found.group(1)
                continue
            if not name.endswith("_pb2.py"):
                continue
            path = os.path.join(pkg, name)
            with open(path) as f:
                code = f.read()
            found = re.search(r"ValidateProtobufRuntimeVersion\(\s*"
                              r"_runtime_version\.Domain\.PUBLIC,\s*"
                              r"(\d+),\s*(\d+),\s*(\d+)", code)
            if found:
                version = tuple(int(g) for g in found.groups())
                minimum = max(minimum or version, version)
            # The package's own pool, not the process-wide default one.
            code = code.replace("_descriptor_pool.Default()",
                                "_rill_pool.POOL")
            code = code.replace(
                "from google.protobuf import descriptor_pool as "
                "_descriptor_pool\n",
                "from google.protobuf import descriptor_pool as "
                "_descriptor_pool\nfrom rill import _proto as _rill_pool\n")
            with open(path, "w") as f:
                f.write(code)
    return (".".join(str(v) for v in minimum) if minimum else "4.21",
            grpc_minimum or "1.60")


def bundle_ops(build_lib):
    """Writes `rill ops` into build_lib/rill/ops.pb (binary: it parses in
    a millisecond where the text takes 0.15 s) when a rill binary is found;
    rill.ops asks the binary at run time otherwise."""
    rill = find_rill()
    with open(os.path.join(build_lib, "rill", "_build_info.py"), "w") as f:
        f.write('"""Written when the package was built."""\n\n'
                "# The rill program the package was built against.\n"
                "BINARY = %r\n" % (os.path.abspath(rill) if rill else None))
    if rill is None:
        print("rill: no rill binary found (RILL_BINARY, PATH, bazel-bin); "
              "rill.ops will ask one at run time", file=sys.stderr)
        return
    text = subprocess.run([rill, "ops"], check=True,
                          capture_output=True).stdout
    with open(os.path.join(build_lib, "rill", "ops.pb"), "wb") as f:
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc",
                        "-I" + proto_root(), "--encode=tensorflow.OpList",
                        "core/protos/op_def.proto"], input=text, stdout=f,
                       check=True)


class BuildPy(build_py):
    def run(self):
        super().run()
        generate_protos(self.build_lib)
        bundle_ops(self.build_lib)


def requirements():
    """numpy, and protobuf and grpcio at least what the generated modules
    check for at import: found by compiling them once into a scratch
    directory."""
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "rill"))
        protobuf, grpcio = generate_protos(tmp)
    return ["grpcio>=" + grpcio, "numpy>=1.22", "protobuf>=" + protobuf]


setup(
    cmdclass={"build_py": BuildPy},
    install_requires=requirements(),
)
