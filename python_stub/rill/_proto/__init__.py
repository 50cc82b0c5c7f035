"""Rill's protobuf and gRPC modules, generated when the package is built.

Their messages live in POOL, a descriptor pool of the package's own: the
wire protocol is TensorFlow's (message names tensorflow.*), and keeping them
out of protobuf's default pool lets rill and TensorFlow be imported in one
process.
"""

from google.protobuf import descriptor_pool

POOL = descriptor_pool.DescriptorPool()
