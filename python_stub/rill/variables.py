"""Variables as tf.compat.v1 makes them: reference variables (VariableV2,
the default) and resource variables (VarHandleOp, use_resource=True), each
with its initializer op, in the graph's "variables" collection (and
"trainable_variables" when trainable).

A ref variable "w" is the nodes w (VariableV2), w/initial_value (when the
initial value is not a tensor already), w/Assign and w/read; a resource
variable is w (VarHandleOp), w/Assign (AssignVariableOp) and
w/Read/ReadVariableOp.
"""

from rill import constant_op
from rill import graph as graph_lib

GLOBAL_VARIABLES = "variables"
TRAINABLE_VARIABLES = "trainable_variables"
# Initializers of variables made elsewhere (an optimizer's slots).
INITIALIZERS = "rill_initializers"


class Variable:
    """A variable of the default graph. Used as an op's input it is its
    value (its ref for ops that update it in place, its handle for resource
    ops)."""

    def __init__(self, initial_value, trainable=True, name=None, dtype=None,
                 shape=None, use_resource=False, validate_shape=True):
        from rill import ops
        g = graph_lib.get_default_graph()
        self._resource = bool(use_resource)
        with g.name_scope(name or "Variable") as scope:
            var_name = scope[:-1]
            if callable(initial_value):
                initial_value = initial_value()
            if isinstance(initial_value, (graph_lib.Tensor, Variable)):
                init = constant_op.convert_to_tensor(initial_value, dtype)
            else:
                init = constant_op.constant(initial_value, dtype=dtype,
                                            name="initial_value")
            self.initial_value = init
            dtype = init.dtype.base_dtype
            if shape is None:
                shape = init.shape.dims if validate_shape else None
            shape = graph_lib.TensorShape(shape)
            if self._resource:
                self._handle = ops.var_handle_op(
                    dtype=dtype, shape=shape, shared_name=var_name,
                    name=scope)
                self._op = self._handle.op
                with g.colocate_with(self._op):
                    self.initializer = ops.assign_variable_op(
                        self._handle, init, name="Assign")
                    with g.name_scope("Read"):
                        self._value = ops.read_variable_op(self._handle,
                                                           dtype=dtype)
                self._graph_element = self._value
            else:
                self._variable = ops.variable_v2(shape=shape, dtype=dtype,
                                                 name=scope)
                self._op = self._variable.op
                with g.colocate_with(self._op):
                    self.initializer = ops.assign(
                        self._variable, init,
                        validate_shape=validate_shape, name="Assign").op
                    self._value = ops.identity(self._variable, name="read")
                self._graph_element = self._variable
        self._value._set_shape(shape.dims)
        self.trainable = trainable
        g.add_to_collection(GLOBAL_VARIABLES, self)
        if trainable:
            g.add_to_collection(TRAINABLE_VARIABLES, self)

    @property
    def op(self):
        return self._op

    @property
    def name(self):
        return self._op.name + ":0"

    @property
    def graph(self):
        return self._op.graph

    @property
    def dtype(self):
        """The value's dtype (a ref variable's ref is its `.ref` dtype)."""
        return self._value.dtype

    @property
    def shape(self):
        return self._value.shape

    @property
    def device(self):
        return self._op.device

    @property
    def handle(self):
        if not self._resource:
            raise TypeError("%s is a reference variable; make it with "
                            "use_resource=True for a handle" % self.name)
        return self._handle

    def _ref(self):
        if self._resource:
            raise TypeError("%s is a resource variable: it has no ref" %
                            self.name)
        return self._variable

    def value(self):
        """The variable's value as a tensor (w/read or the ReadVariableOp)."""
        return self._value

    read_value = value

    def assign(self, value, name=None):
        """An op setting the variable to `value`; its output is the new
        value (the Operation for a resource variable)."""
        return self._update("assign", value, name)

    def assign_add(self, delta, name=None):
        return self._update("assign_add", delta, name)

    def assign_sub(self, delta, name=None):
        return self._update("assign_sub", delta, name)

    def _update(self, kind, value, name):
        from rill import ops
        if self._resource:
            fn = {"assign": ops.assign_variable_op,
                  "assign_add": ops.assign_add_variable_op,
                  "assign_sub": ops.assign_sub_variable_op}[kind]
            return fn(self._handle, constant_op.convert_to_tensor(
                value, self.dtype), name=name)
        fn = {"assign": ops.assign, "assign_add": ops.assign_add,
              "assign_sub": ops.assign_sub}[kind]
        return fn(self._variable, value, name=name)

    def eval(self, session=None):
        return self._value.eval(session=session)

    def __repr__(self):
        return "<rill.Variable '%s' shape=%s dtype=%s>" % (
            self.name, self.shape.dims, self.dtype.name)

    # Python operators act on the value.
    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        raise AttributeError("rill.Variable has no attribute '%s'" % attr)


def _delegate(method):
    def op(self, *args):
        return getattr(self._value, method)(*args)
    op.__name__ = method
    return op


for _method in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__",
                "__rmul__", "__truediv__", "__rtruediv__", "__floordiv__",
                "__mod__", "__pow__", "__matmul__", "__neg__", "__abs__",
                "__lt__", "__le__", "__gt__", "__ge__", "__getitem__"):
    setattr(Variable, _method, _delegate(_method))


def global_variables(graph=None):
    return (graph or graph_lib.get_default_graph()).get_collection(
        GLOBAL_VARIABLES)


def trainable_variables(graph=None):
    return (graph or graph_lib.get_default_graph()).get_collection(
        TRAINABLE_VARIABLES)


def variables_initializer(var_list, name="init"):
    """A NoOp that runs the variables' initializers."""
    from rill import ops
    with graph_lib.control_dependencies([v.initializer for v in var_list]):
        return ops.no_op(name=name)


def global_variables_initializer(name="init"):
    """A NoOp running the initializer of every variable of the default
    graph and of every optimizer slot made for them."""
    from rill import ops
    g = graph_lib.get_default_graph()
    inits = [v.initializer for v in global_variables(g)]
    inits += g.get_collection(INITIALIZERS)
    with g.control_dependencies(inits):
        return ops.no_op(name=name)
