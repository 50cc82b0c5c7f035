#!/usr/bin/env python3
"""Writes tf_proto_fields.txt: the fields and enum values of TensorFlow's own
graph-format protos, read from the installed tensorflow package.

core/protos/proto_compat_test.cc checks Rill's protos against this file, so
wire compatibility is tested without TensorFlow installed. Regenerate with
  pip install tensorflow-cpu && python3 tests/testdata/dump_tf_proto_fields.py
"""
import os

from tensorflow.core.framework import (attr_value_pb2, full_type_pb2,
                                       function_pb2, graph_debug_info_pb2,
                                       graph_pb2, node_def_pb2, op_def_pb2,
                                       resource_handle_pb2, tensor_pb2,
                                       tensor_shape_pb2, tensor_slice_pb2,
                                       types_pb2, versions_pb2)
from tensorflow.core.protobuf import tensor_bundle_pb2
import tensorflow as tf

MESSAGES = [
    attr_value_pb2.AttrValue, attr_value_pb2.NameAttrList,
    full_type_pb2.FullTypeDef, function_pb2.FunctionDefLibrary,
    function_pb2.FunctionDef, function_pb2.GradientDef,
    function_pb2.RegisteredGradient, graph_debug_info_pb2.GraphDebugInfo,
    graph_pb2.GraphDef, node_def_pb2.NodeDef, op_def_pb2.OpDef,
    op_def_pb2.OpDeprecation, op_def_pb2.OpList,
    resource_handle_pb2.ResourceHandleProto, tensor_pb2.TensorProto,
    tensor_pb2.VariantTensorDataProto, tensor_shape_pb2.TensorShapeProto,
    versions_pb2.VersionDef, tensor_slice_pb2.TensorSliceProto,
    tensor_bundle_pb2.BundleHeaderProto, tensor_bundle_pb2.BundleEntryProto,
]
ENUMS = [types_pb2.DataType, full_type_pb2.FullTypeId,
         tensor_bundle_pb2.BundleHeaderProto.Endianness]
# Values newer than the ones Rill declares are listed but not required.
OPTIONAL_ENUM_VALUES_ABOVE = {"tensorflow.DataType": 30}


def walk(desc, out):
    for f in desc.fields:
        out.append("field %s %s %d %d %d" % (desc.full_name, f.name, f.number,
                                            f.type, 3 if f.is_repeated else 1))
    for nested in desc.nested_types:
        walk(nested, out)


def main():
    lines = ["# TensorFlow %s graph-format protos, written by %s" %
             (tf.__version__, os.path.basename(__file__)),
             "# field MESSAGE NAME NUMBER TYPE LABEL | enum ENUM NAME NUMBER"]
    for m in MESSAGES:
        walk(m.DESCRIPTOR, lines)
    for e in ENUMS:
        desc = e.DESCRIPTOR
        limit = OPTIONAL_ENUM_VALUES_ABOVE.get(desc.full_name)
        for v in desc.values:
            if limit is not None and (v.number % 100) > limit:
                continue
            lines.append("enum %s %s %d" % (desc.full_name, v.name, v.number))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "tf_proto_fields.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d lines to %s" % (len(lines), path))


if __name__ == "__main__":
    main()
