"""rill.Session: runs a graph on a Rill cluster through its master (the
MasterService of TensorFlow's distributed runtime, over gRPC).

The session sends the graph when it first runs (CreateSession) and the ops
added since with each later run (ExtendSession). run() takes fetches as
TensorFlow's does: a Tensor, an Operation, a name ("y:0" a tensor, "init"
an op), a Variable, or lists, tuples, namedtuples and dicts of them, and
returns numpy values in the same structure (None for operations).
"""

import ctypes
import os
import threading

import grpc

from rill import errors
from rill import graph as graph_lib
from rill import tensor_util
from rill._proto.distributed.protos import config_pb2
from rill._proto.distributed.protos import master_pb2
from rill._proto.distributed.protos import master_service_pb2_grpc

RunOptions = config_pb2.RunOptions
RunMetadata = config_pb2.RunMetadata
ConfigProto = config_pb2.ConfigProto

_MAX_MESSAGE = 2**31 - 1
_default_sessions = threading.local()


_malloc_tuned = False


def _tune_malloc():
    """Keeps glibc's malloc from returning freed memory to the kernel after
    every step (mmap for blocks over 128 KiB, trimming the heap's top):
    each step's request and response bytes would then be fresh pages,
    faulted in one by one, which tripled the time of a 1 MiB feed. Blocks
    up to 32 MiB stay in the heap and up to 128 MiB of free heap is kept.
    Not done when MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ are set or
    RILL_KEEP_MALLOC=1, nor where there is no glibc."""
    global _malloc_tuned
    if _malloc_tuned:
        return
    _malloc_tuned = True
    if os.environ.get("RILL_KEEP_MALLOC") == "1" or any(
            k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_",
                                      "MALLOC_TRIM_THRESHOLD_")):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    mallopt(_M_TRIM_THRESHOLD, 128 << 20)


_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def _session_or_default(session):
    if session is not None:
        return session
    stack = getattr(_default_sessions, "stack", [])
    if not stack:
        raise ValueError("no session given and no default session: pass "
                         "session=, or run inside `with sess.as_default():`")
    return stack[-1]


def get_default_session():
    stack = getattr(_default_sessions, "stack", [])
    return stack[-1] if stack else None


class _Fetches:
    """A fetch structure flattened into unique tensor names and targets,
    and rebuilt from the fetched values."""

    def __init__(self, graph, fetches):
        self.graph = graph
        self.tensors = []   # Names, in first-seen order.
        self.targets = []
        self._index = {}
        self.structure = self._flatten(fetches)

    def _flatten(self, f):
        if f is None:
            raise TypeError("a fetch cannot be None")
        if isinstance(f, dict):
            return ("dict", type(f), [(k, self._flatten(v))
                                      for k, v in f.items()])
        if isinstance(f, tuple) and hasattr(f, "_fields"):
            return ("namedtuple", type(f), [self._flatten(v) for v in f])
        if isinstance(f, (list, tuple)):
            return ("seq", type(f), [self._flatten(v) for v in f])
        try:
            element = self.graph.as_graph_element(f)
        except (KeyError, ValueError) as e:
            raise ValueError("cannot fetch %r: %s" % (f, e)) from None
        if isinstance(element, graph_lib.Operation):
            if element.name not in self.targets:
                self.targets.append(element.name)
            return ("op", None, None)
        name = element.name
        if name not in self._index:
            self._index[name] = len(self.tensors)
            self.tensors.append(name)
        return ("tensor", element.dtype, self._index[name])

    def build(self, values, node=None):
        kind, kind_type, content = node if node is not None else \
            self.structure
        if kind == "op":
            return None
        if kind == "tensor":
            return values[content]
        if kind == "dict":
            return kind_type((k, self.build(values, v)) for k, v in content)
        if kind == "namedtuple":
            return kind_type(*[self.build(values, v) for v in content])
        items = [self.build(values, v) for v in content]
        return kind_type(items) if kind_type in (list, tuple) else items


class Session:
    """A session on the cluster whose master is at `target`
    ("grpc://host:port" or "host:port"), for `graph` (default: the default
    graph). `auth_token` and `root_certificates`/`private_key`/
    `certificate_chain` reach servers started with --auth_token_file and
    TLS. Use as a context manager, or close() it."""

    def __init__(self, target, graph=None, config=None, auth_token=None,
                 root_certificates=None, private_key=None,
                 certificate_chain=None, timeout=None):
        if not isinstance(target, str) or not target:
            raise ValueError("target must be \"grpc://host:port\", got %r" %
                             (target,))
        address = target[len("grpc://"):] if target.startswith("grpc://") \
            else target
        if ":" not in address:
            raise ValueError("target must be \"grpc://host:port\", got %r" %
                             target)
        self.target = target
        self.graph = graph or graph_lib.get_default_graph()
        self._config = config
        self._timeout = timeout
        self._metadata = (("authorization", "Bearer " + auth_token),) \
            if auth_token else None
        # Large tensors: a deep flow-control window and large frames, as
        # Rill's own channels have (distributed/worker_channels.cc).
        options = [("grpc.max_receive_message_length", _MAX_MESSAGE),
                   ("grpc.max_send_message_length", _MAX_MESSAGE),
                   ("grpc.http2.lookahead_bytes", 64 << 20),
                   ("grpc.http2.max_frame_size", (1 << 24) - 1)]
        if root_certificates is not None:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=root_certificates, private_key=private_key,
                certificate_chain=certificate_chain)
            self._channel = grpc.secure_channel(address, credentials, options)
        else:
            self._channel = grpc.insecure_channel(address, options)
        self._stub = master_service_pb2_grpc.MasterServiceStub(self._channel)
        _tune_malloc()
        self._handle = None
        self._sent = 0          # Ops of the graph the master has.
        self._graph_version = 0
        self._lock = threading.Lock()
        self._closed = False

    # Lifetime -------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def as_default(self):
        """A context in which Tensor.eval() and Operation.run() use this
        session."""
        session = self

        class _Default:
            def __enter__(self):
                stack = getattr(_default_sessions, "stack", None)
                if stack is None:
                    stack = _default_sessions.stack = []
                stack.append(session)
                return session

            def __exit__(self, *exc):
                _default_sessions.stack.pop()

        return _Default()

    def close(self):
        """Closes the session on the master (its variables are freed unless
        they live in a shared container) and the channel."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._handle is not None:
                self._call("CloseSession", master_pb2.CloseSessionRequest(
                    session_handle=self._handle), timeout=10)
        finally:
            self._channel.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # Best effort at interpreter exit.
            pass

    # Calls ----------------------------------------------------------------

    def _call(self, method, request, timeout=None):
        try:
            return getattr(self._stub, method)(
                request, timeout=timeout or self._timeout,
                metadata=self._metadata)
        except grpc.RpcError as e:
            raise errors.from_rpc_error(
                e, "master %s (%s)" % (self.target, method)) from None

    def _extend(self):
        """Sends the ops added since the last call."""
        count = len(self.graph._ops)
        if self._handle is None:
            request = master_pb2.CreateSessionRequest(
                graph_def=self.graph.as_graph_def())
            if self._config is not None:
                request.config.CopyFrom(self._config)
            response = self._call("CreateSession", request)
            self._handle = response.session_handle
            self._graph_version = response.graph_version
        elif count > self._sent:
            response = self._call("ExtendSession",
                                  master_pb2.ExtendSessionRequest(
                                      session_handle=self._handle,
                                      graph_def=self.graph.as_graph_def(
                                          from_version=self._sent),
                                      current_graph_version=self.
                                      _graph_version))
            self._graph_version = response.new_graph_version
        self._sent = count

    def list_devices(self):
        """The cluster's devices (DeviceAttributes protos)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the session is closed")
            self._extend()
            response = self._call("ListDevices", master_pb2.ListDevicesRequest(
                session_handle=self._handle))
        return list(response.local_device) + list(response.remote_device)

    def _feed_tensor(self, key, value, out):
        """Fills `out` (a request's NamedTensorProto) with the value fed to
        `key`, converted to that tensor's dtype and checked against its
        shape."""
        try:
            element = self.graph.as_graph_element(key, allow_operation=False)
        except (KeyError, ValueError, TypeError) as e:
            raise TypeError("cannot feed %r: %s" % (key, e)) from None
        if isinstance(value, graph_lib.Tensor):
            raise TypeError("the value fed to %s is a rill.Tensor; feed "
                            "numpy values" % element.name)
        out.name = element.name
        try:
            tensor_util.make_tensor_proto(value, element.dtype.base_dtype,
                                          out=out.tensor)
        except (TypeError, ValueError) as e:
            raise TypeError("cannot feed %s (%s): %s" % (
                element.name, element.dtype.base_dtype.name, e)) from None
        dims = element.shape.dims
        if dims is not None:
            got = [d.size for d in out.tensor.tensor_shape.dim]
            if len(got) != len(dims) or any(
                    d is not None and d != g for d, g in zip(dims, got)):
                raise ValueError("cannot feed a value of shape %s to %s, of "
                                 "shape %s" % (got, element.name, dims))

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Runs one step: the fetches' values as numpy (strings as arrays of
        bytes), in the fetches' structure. `options`: a RunOptions
        (timeout_in_ms, trace_level); `run_metadata`: a RunMetadata filled
        with the step's stats when traced. Errors raise rill.errors.*."""
        fetch = _Fetches(self.graph, fetches)
        request = master_pb2.RunStepRequest(fetch=fetch.tensors,
                                            target=fetch.targets)
        for key, value in (feed_dict or {}).items():
            self._feed_tensor(key, value, request.feed.add())
        if not fetch.tensors and not fetch.targets:
            return fetch.build([])  # Nothing to run: [] for [], {} for {}.
        timeout = None
        if options is not None:
            request.options.CopyFrom(options)
            if options.timeout_in_ms > 0:
                timeout = options.timeout_in_ms / 1000.0 + 5
        with self._lock:
            if self._closed:
                raise RuntimeError("the session is closed")
            self._extend()
            request.session_handle = self._handle
        # Steps of several threads run concurrently, as TensorFlow's do.
        response = self._call("RunStep", request, timeout=timeout)
        if response.status_code:
            raise errors.error_from_code(response.status_code,
                                         response.status_error_message)
        if run_metadata is not None:
            run_metadata.CopyFrom(response.metadata)
        by_name = {t.name: t.tensor for t in response.tensor}
        values = []
        for name in fetch.tensors:
            if name not in by_name:
                raise errors.InternalError("the master's answer lacks " +
                                           name)
            value = tensor_util.make_ndarray(by_name[name])
            # Scalars as numpy scalars (np.float32(2.0), bytes), as
            # TensorFlow's session gives them.
            values.append(value[()] if value.ndim == 0 else value)
        return fetch.build(values)

    def make_callable(self, fetches, feed_list=None):
        """A function of the values of `feed_list` (in order) that runs the
        step and returns the fetches' values."""
        feed_list = list(feed_list or [])

        def call(*values):
            if len(values) != len(feed_list):
                raise TypeError("expected %d values to feed, got %d" %
                                (len(feed_list), len(values)))
            return self.run(fetches, dict(zip(feed_list, values)))

        return call

    @staticmethod
    def reset(target, containers=None, auth_token=None):
        """Clears the named resource containers (all variables' default
        container when None) on every task of the cluster."""
        address = target[len("grpc://"):] if target.startswith("grpc://") \
            else target
        with grpc.insecure_channel(address) as channel:
            stub = master_service_pb2_grpc.MasterServiceStub(channel)
            metadata = (("authorization", "Bearer " + auth_token),) \
                if auth_token else None
            try:
                stub.Reset(master_pb2.ResetRequest(
                    container=list(containers or [])), metadata=metadata)
            except grpc.RpcError as e:
                raise errors.from_rpc_error(e, "master " + target) from None

