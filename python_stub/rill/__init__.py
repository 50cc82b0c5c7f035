"""rill: the Python client of Rill. Builds TensorFlow-1.x-style graphs with
TensorFlow's op names, runs them on a Rill cluster, trains them; no
TensorFlow needed.

    import numpy as np, rill
    with rill.Graph().as_default() as g:
        x = rill.placeholder(rill.float32, [None, 3], name="x")
        w = rill.constant(np.ones((3, 2), np.float32), name="w")
        y = rill.ops.mat_mul(x, w, name="y")
    with rill.LocalCluster(worker=1) as cluster, \\
            rill.Session(cluster.target("worker", 0), graph=g) as s:
        print(s.run(y, {x: np.ones((4, 3), np.float32)}))
"""

from rill import errors
from rill import ops
from rill.cluster import LocalCluster
from rill.constant_op import constant
from rill.constant_op import convert_to_tensor
from rill.constant_op import placeholder
from rill.constant_op import placeholder_with_default
from rill.dtypes import *  # noqa: F401,F403 (rill.float32, ...)
from rill.dtypes import DType
from rill.dtypes import as_dtype
from rill.graph import Graph
from rill.graph import Operation
from rill.graph import Tensor
from rill.graph import TensorShape
from rill.graph import colocate_with
from rill.graph import control_dependencies
from rill.graph import device
from rill.graph import get_default_graph
from rill.graph import name_scope
from rill.graph import reset_default_graph
from rill.importer import import_graph_def
from rill.session import ConfigProto
from rill.session import RunMetadata
from rill.session import RunOptions
from rill.session import Session
from rill.session import get_default_session
from rill.tensor_util import make_ndarray
from rill.tensor_util import make_tensor_proto
from rill import training as _training
from rill.variables import Variable
from rill.variables import global_variables
from rill.variables import global_variables_initializer
from rill.variables import trainable_variables
from rill.variables import variables_initializer


def train(*args, **kwargs):
    return _training.train(*args, **kwargs)


train.__doc__ = _training.train.__doc__
# tf.compat.v1.train's names: rill.train.AdamOptimizer(0.01).minimize(loss).
for _name in ("GradientDescentOptimizer", "MomentumOptimizer",
              "AdagradOptimizer", "AdamOptimizer", "Optimizer",
              "get_or_create_global_step"):
    setattr(train, _name, getattr(_training, _name))
del _name

__version__ = "0.1.0"
