"""rill.import_graph_def: the nodes of a GraphDef (written by TensorFlow,
the C++ API or rill itself) added to the default graph, to run, extend or
train from Python."""

from rill import graph as graph_lib
from rill import op_def_library
from rill import shapes


def import_graph_def(graph_def, name=None, return_elements=None):
    """Adds every node of `graph_def` (a GraphDef, or its serialized bytes)
    to the default graph as "<name>/<node>" (name None: "import", made
    unique like a name scope; "": the nodes' own names, which must be
    free). Inputs, control inputs and "loc:@" colocation follow the
    renaming; devices are kept. Nodes may come in any order (loops'
    back edges included). Returns the Tensors and Operations named by
    `return_elements` ("node" an operation, "node:0" a tensor), or None.
    An unknown op, attr or input is a ValueError naming the node, and
    nothing is added."""
    from rill._proto.core.protos import graph_pb2
    if isinstance(graph_def, bytes):
        parsed = graph_pb2.GraphDef()
        parsed.ParseFromString(graph_def)
        graph_def = parsed
    g = graph_lib.get_default_graph()
    if name is None or name:
        prefix = g.unique_name(name or "import")
    else:
        prefix = ""
    add_node_defs(g, graph_def.node, prefix)
    if graph_def.HasField("library"):
        if g._library is None:
            g._library = type(graph_def.library)()
        g._library.MergeFrom(graph_def.library)
    if return_elements is None:
        return None
    return [g.as_graph_element(prefix + "/" + e if prefix else e)
            for e in return_elements]


def add_node_defs(g, nodes, prefix="", outside=None):
    """Adds NodeDefs to graph `g` as they are, renamed "<prefix>/<name>"
    (inputs and "loc:@" colocation too); their inputs name nodes among
    them, or nodes of `outside` (a name -> Operation map, e.g. the graph's
    own ops: rill minimize's nodes read the model's). Everything is checked
    before anything is added (ValueError naming the node); inputs are wired
    after every node exists, so loops' back edges resolve."""
    from rill import ops
    outside = outside or {}

    def renamed(node_name):
        return prefix + "/" + node_name if prefix else node_name

    # Check everything first, so that an error adds nothing.
    defs = {}
    built = []
    for node in nodes:
        if node.name in defs:
            raise ValueError("the GraphDef has two nodes '%s'" % node.name)
        try:
            op_def = ops.op_def(node.op)
        except KeyError:
            raise ValueError("node '%s': Rill has no op '%s'" %
                             (node.name, node.op)) from None
        attrs = dict(node.attr)
        for attr in op_def.attr:
            if attr.name not in attrs:
                if not attr.HasField("default_value"):
                    raise ValueError("node '%s' (%s) lacks attr '%s'" %
                                     (node.name, node.op, attr.name))
                attrs[attr.name] = attr.default_value
        if renamed(node.name) in g._by_name:
            raise ValueError("node '%s': the graph has a node '%s' already" %
                             (node.name, renamed(node.name)))
        defs[node.name] = node
        built.append((node, op_def, attrs))
    for node in nodes:
        for inp in node.input:
            src = inp[1:] if inp.startswith("^") else inp.split(":")[0]
            if src not in defs and src not in outside:
                raise ValueError("node '%s': input '%s' is not in the "
                                 "GraphDef" % (node.name, inp))

    added = {}
    for node, op_def, attrs in built:
        if "_class" in attrs:
            value = type(attrs["_class"])()
            value.CopyFrom(attrs["_class"])
            groups = [s.decode() for s in value.list.s]
            del value.list.s[:]
            value.list.s.extend(
                ("loc:@" + renamed(s[5:]) if s.startswith("loc:@") else s)
                .encode() for s in groups)
            attrs["_class"] = value
        op = graph_lib.Operation(g, renamed(node.name), node.op, [], [], attrs,
                                 op_def_library.output_types_of(op_def,
                                                                attrs),
                                 node.device, op_def)
        added[node.name] = op
    # Inputs after every node exists: a loop's back edges point forward.
    for node, _, _ in built:
        op = added[node.name]
        for inp in node.input:
            if inp.startswith("^"):
                op.control_inputs.append(added.get(inp[1:]) or
                                         outside[inp[1:]])
                continue
            src, _, index = inp.partition(":")
            outputs = (added.get(src) or outside[src]).outputs
            index = int(index or 0)
            if index >= len(outputs):
                raise ValueError("node '%s': input '%s' names output %d of "
                                 "a node with %d" % (node.name, inp, index,
                                                     len(outputs)))
            op.inputs.append(outputs[index])
    for node, _, _ in built:
        op = added[node.name]
        g._name_counts.setdefault(op.name, 1)
        g._add(op)
    for node, _, _ in built:
        shapes.infer(added[node.name])
