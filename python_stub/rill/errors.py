"""rill.errors: the exceptions a graph, a session or a command raises, one
class per status code, as tf.errors has them.

Every class derives from OpError, which carries the code (an int, the same
numbers as absl's and gRPC's status codes), the message, and the node the
error names when the server said so.
"""

import re

OK = 0
CANCELLED = 1
UNKNOWN = 2
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
NOT_FOUND = 5
ALREADY_EXISTS = 6
PERMISSION_DENIED = 7
RESOURCE_EXHAUSTED = 8
FAILED_PRECONDITION = 9
ABORTED = 10
OUT_OF_RANGE = 11
UNIMPLEMENTED = 12
INTERNAL = 13
UNAVAILABLE = 14
DATA_LOSS = 15
UNAUTHENTICATED = 16


class OpError(Exception):
    """A failed operation: `code` (an int of this module), `message`, and
    `node_name` (the node the message names, or None)."""

    code = UNKNOWN

    def __init__(self, message, code=None, node_name=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if node_name is None:
            found = re.search(r"node '([^']+)'", message or "")
            node_name = found.group(1) if found else None
        self.node_name = node_name

    @property
    def error_code(self):
        return self.code


def _error_class(name, code, doc):
    return type(name, (OpError,), {"code": code, "__doc__": doc})


CancelledError = _error_class("CancelledError", CANCELLED,
                              "The operation or step was cancelled.")
UnknownError = _error_class("UnknownError", UNKNOWN, "An unknown error.")
InvalidArgumentError = _error_class(
    "InvalidArgumentError", INVALID_ARGUMENT,
    "An argument, input, attr or graph is not valid.")
DeadlineExceededError = _error_class("DeadlineExceededError",
                                     DEADLINE_EXCEEDED,
                                     "The deadline passed first.")
NotFoundError = _error_class("NotFoundError", NOT_FOUND,
                             "A node, file or resource does not exist.")
AlreadyExistsError = _error_class("AlreadyExistsError", ALREADY_EXISTS,
                                  "What was to be made exists already.")
PermissionDeniedError = _error_class("PermissionDeniedError",
                                     PERMISSION_DENIED,
                                     "Not allowed (e.g. outside --file_root).")
ResourceExhaustedError = _error_class(
    "ResourceExhaustedError", RESOURCE_EXHAUSTED,
    "Out of memory or another limit (--memory_limit, --max_sessions).")
FailedPreconditionError = _error_class(
    "FailedPreconditionError", FAILED_PRECONDITION,
    "The system is not in a state to do it (e.g. an uninitialized variable).")
AbortedError = _error_class("AbortedError", ABORTED,
                            "Aborted, e.g. by a concurrent action.")
OutOfRangeError = _error_class("OutOfRangeError", OUT_OF_RANGE,
                               "Past the end (e.g. a closed queue).")
UnimplementedError = _error_class("UnimplementedError", UNIMPLEMENTED,
                                  "Not implemented or not supported.")
InternalError = _error_class("InternalError", INTERNAL,
                             "An internal invariant broke.")
UnavailableError = _error_class("UnavailableError", UNAVAILABLE,
                                "A server or task cannot be reached.")
DataLossError = _error_class("DataLossError", DATA_LOSS,
                             "Data is lost or corrupt (e.g. a checkpoint).")
UnauthenticatedError = _error_class(
    "UnauthenticatedError", UNAUTHENTICATED,
    "The call carried no valid credentials (--auth_token_file).")

# Derived from the definitions above: every OpError subclass by its code,
# and the codes' names ("INVALID_ARGUMENT") both ways.
_BY_CODE = {c.code: c for c in OpError.__subclasses__()}
_CODES = {name: value for name, value in list(globals().items())
          if name.isupper() and isinstance(value, int)}
_NAMES = {value: name for name, value in _CODES.items()}


def code_name(code):
    """"INVALID_ARGUMENT" for 3."""
    return _NAMES.get(code, "UNKNOWN")


def exception_type_from_error_code(code):
    return _BY_CODE.get(code, UnknownError)


def error_from_code(code, message, node_name=None):
    """The exception of `code` (an int or a name such as "NOT_FOUND")."""
    if isinstance(code, str):
        code = _CODES.get(code, UNKNOWN)
    return exception_type_from_error_code(code)(message, code, node_name)


def from_rpc_error(error, what=None):
    """The exception for a grpc.RpcError; `what` says what was being done
    when the server could not be reached."""
    try:
        code = error.code().value[0]
        message = error.details() or ""
    except Exception:  # A failure that is not a call's (e.g. a channel's).
        return UnknownError(str(error))
    if code == UNAVAILABLE and what:
        message = "%s: %s" % (what, message)
    return error_from_code(code, message)


_CLI_ERROR = re.compile(r"^rill: ([A-Z_]+): (.*)$")


def from_command_error(stderr, returncode):
    """The exception a failed `rill` command's one-line error names."""
    lines = [l for l in (stderr or "").splitlines() if l.strip()]
    for line in reversed(lines):
        found = _CLI_ERROR.match(line)
        if found:
            return error_from_code(found.group(1), found.group(2))
    tail = lines[-1] if lines else "no message"
    return UnknownError("rill exited with status %d: %s" % (returncode, tail))
