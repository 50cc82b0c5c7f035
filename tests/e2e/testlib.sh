# Helpers the end-to-end scripts source, after setting TMP (a scratch
# folder):
#   source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
# Each check that fails is counted; `finish NAME` ends the script with the
# count (exit 1 when any failed).
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_ok NAME CMD...: exit 0.
expect_ok() {
  local name=$1
  shift
  if ! "$@" >"$TMP/out" 2>"$TMP/err"; then
    fail "$name: exit $?, stderr: $(cat "$TMP/err")"
  fi
}

# expect_error NAME CODE PATTERN CMD...: a non-zero exit and exactly one
# stderr line "rill: CODE: ..." matching PATTERN (SPEC 6), never a crash.
expect_error() {
  local name=$1 code=$2 pattern=$3
  shift 3
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [ "$rc" -eq 0 ]; then
    fail "$name: exited 0"
    return
  fi
  [ "$rc" -lt 128 ] || fail "$name: killed by signal $((rc - 128))"
  local lines
  lines=$(wc -l <"$TMP/err")
  [ "$lines" -eq 1 ] || fail "$name: $lines stderr lines: $(cat "$TMP/err")"
  grep -q "^rill: $code: " "$TMP/err" || fail "$name: wrong code: $(cat "$TMP/err")"
  grep -q -- "$pattern" "$TMP/err" || fail "$name: no '$pattern' in: $(cat "$TMP/err")"
}

# json_field FILE EXPR: a value of the one JSON object in FILE, as the
# Python expression EXPR over it (`d`) prints it.
json_field() {
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# at_least A B: A >= B as numbers.
at_least() {
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)" "$1" "$2"
}

# train_json NAME ARGS...: "${TRAIN[@]}" ARGS --format json, the JSON in
# $TMP/NAME.json and the progress in $TMP/NAME.err; a failure is counted.
train_json() {
  local name=$1
  shift
  "${TRAIN[@]}" "$@" --format json >"$TMP/$name.json" 2>"$TMP/$name.err" ||
    fail "$name: $(tail -3 "$TMP/$name.err")"
}
# final_loss NAME: the final loss of the run train_json NAME made.
final_loss() { json_field "$TMP/$1.json" 'd["final"]["loss"]'; }
# close_to A B TOLERANCE: |A - B| <= TOLERANCE * max(1, |B|).
close_to() {
  python3 -c "import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<=t*max(1,abs(b)) else 1)" "$@"
}

# free_ports N: N TCP ports free on loopback now, space-separated.
free_ports() {
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# The background processes a script started (servers): kill_started kills
# them all, as the scripts' EXIT traps do.
pids=()
kill_started() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
}

# wait_serving LOG WHAT: until the server writing LOG says "serving on"
# (5 s at most); a failed check naming WHAT, with the log, otherwise.
wait_serving() {
  for _ in $(seq 1 100); do
    grep -q "serving on" "$1" && return 0
    sleep 0.05
  done
  fail "$2 did not start: $(cat "$1")"
  return 1
}

finish() {
  if [ "$failures" -gt 0 ]; then
    echo "$1: $failures check(s) failed" >&2
    exit 1
  fi
  echo "$1: all checks passed"
}

# digits_mlp_train RILL BUILD_MLP: builds the digits MLP (64-32-10, with
# build_mlp_graph) into $TMP/mlp.pbtxt and sets TRAIN to the `rill train`
# command line for it on examples/data: held-out accuracy as the metric,
# Adam, a global batch of 96; a scheme and a cluster are for the caller.
digits_mlp_train() {
  local data="examples/data"
  "$2" --out="$TMP/mlp.pbtxt" --inputs=64 --hidden=32 --labels=int32 \
    >/dev/null || { echo "FAIL: build_mlp_graph"; exit 1; }
  TRAIN=("$1" train "$TMP/mlp.pbtxt" --loss loss
    --data x="$data/digits_train_x.npy" --data y="$data/digits_train_y.npy"
    --eval x="$data/digits_test_x.npy" --eval y="$data/digits_test_y.npy"
    --metric accuracy --batch 96 --optimizer adam --lr 0.01)
}
