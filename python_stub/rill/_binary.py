"""Finding and running the `rill` program (LocalCluster, rill.ops when the
package has no op list, minimize, train)."""

import os
import shutil
import subprocess
import tempfile

from rill import errors


def find_binary(binary=None):
    """`binary`, else $RILL_BINARY, else `rill` on PATH, else the binary the
    package was built against; NotFoundError when none is there."""
    for given, what in ((binary, ""),
                        (os.environ.get("RILL_BINARY"), " (RILL_BINARY)")):
        if given:
            if os.path.isfile(given) and os.access(given, os.X_OK):
                return os.path.abspath(given)
            raise errors.NotFoundError("no executable rill at %s%s" %
                                       (given, what))
    candidates = [shutil.which("rill")]
    try:
        from rill import _build_info
        candidates.append(_build_info.BINARY)
    except ImportError:
        pass
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.abspath(path)
    raise errors.NotFoundError(
        "cannot find the rill program: set RILL_BINARY or put rill on PATH "
        "(bazel build //tools:rill makes bazel-bin/tools/rill)")


def run_command(args, binary=None, stderr=None):
    """Runs `rill ARGS...`; its stdout as text. A failure raises the
    rill.errors exception of its error line. `stderr`: a stream the
    command's other stderr lines (progress) are copied to as they come
    (None: dropped)."""
    path = find_binary(binary)
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([path] + list(args), stdout=out,
                                stderr=subprocess.PIPE, text=True)
        errors_seen = []
        for line in proc.stderr:
            if line.startswith("rill: "):
                errors_seen.append(line)
            elif stderr is not None:
                stderr.write(line)
                stderr.flush()
        proc.wait()
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    if proc.returncode != 0:
        raise errors.from_command_error("".join(errors_seen),
                                        proc.returncode)
    return text
