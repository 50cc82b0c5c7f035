#!/usr/bin/env bash
# The cluster as users run it (SPEC 4): three `rill server` processes (one
# ps, two workers) on loopback, driven by `rill run --master`.
#  1. A parameter-server graph that TensorFlow wrote (variables on the ps,
#     work on both workers) trains with the losses TensorFlow computed.
#  2. Every server is a master.
#  3. A worker that hangs (SIGSTOP) or is killed (`kill -9`) in the middle
#     of a step: the client gets an error naming the task in bounded time;
#     the other servers still serve.
#  4. Bad input: clear one-line errors, no hang; malformed and oversized
#     calls from a raw gRPC client are refused and the server survives.
#  5. SIGTERM stops each server cleanly.
set -uo pipefail

RILL="$1"
LOGREG="$2"
RAW="$3"
DATA="tests/testdata"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
trap kill_started EXIT

read -r P0 P1 P2 P3 < <(free_ports 4)
CLUSTER="{\"ps\": [\"localhost:$P0\"], \"worker\": [\"localhost:$P1\", \"localhost:$P2\"]}"
start() {  # job task log
  "$RILL" server --cluster "$CLUSTER" --job "$1" --task "$2" >"$3" 2>&1 &
  pids+=($!)
}
start ps 0 "$TMP/ps0.log"; PS=${pids[-1]}
start worker 0 "$TMP/w0.log"; W0=${pids[-1]}
start worker 1 "$TMP/w1.log"; W1=${pids[-1]}
for log in "$TMP/ps0.log" "$TMP/w0.log" "$TMP/w1.log"; do
  wait_serving "$log" "$(basename "$log" .log)"
done

read -r X Y W0V < <(python3 - "$DATA/logreg_train_expected.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps(d["x"], separators=(",", ":")), json.dumps(d["y"], separators=(",", ":")),
      json.dumps(d["w0"], separators=(",", ":")))
PY
)

# 1 and 2: train on the cluster through each master; compare with TensorFlow.
for port in "$P1" "$P0"; do
  if ! out=$("$RILL" run "$DATA/ps_logreg.pb" --master "grpc://localhost:$port" \
      --init init --feed "zeros=$W0V" --feed "x=$X" --feed "y=$Y" \
      --target train --fetch loss --steps 5 --every 1 --format text 2>&1); then
    fail "training through the master at port $port: $out"
    continue
  fi
  python3 - "$DATA/logreg_train_expected.json" "$out" <<'PY' || fail "losses through port $port: $out"
import json, re, sys
want = json.load(open(sys.argv[1]))["losses"]
got = [float(v) for v in re.findall(r"loss = float32 \[\] \[([-0-9.e]+)\]", sys.argv[2])]
assert len(got) == len(want), got
assert all(abs(a - b) < 1e-5 for a, b in zip(got, want)), (got, want)
print("cluster losses match TensorFlow's:", got)
PY
done

# 2a. TensorFlow 2's functional control flow through the master: the
# function library travels with the partitions (a While over a library
# function; nested calls of tf.functions).
out=$("$RILL" run tests/testdata/tf_graphs/while_v2.pb --master "grpc://localhost:$P0" \
  --feed n=5 --fetch total 2>&1) || fail "while_v2 on the cluster: $out"
[ "$out" = "total = int32 [] [10]" ] || fail "while_v2 on the cluster: $out"
out=$("$RILL" run tests/testdata/tf_graphs/function_call.pb --master "grpc://localhost:$P0" \
  --feed 'x=[1,2,3]' --fetch y 2>&1) || fail "function_call on the cluster: $out"
[ "$out" = "y = float32 [3] [2, 3, 4]" ] || fail "function_call on the cluster: $out"

# 2b. --trace through the master: the last step's nodes on every task, one
# trace process per device, the update on the ps.
"$RILL" run "$DATA/ps_logreg.pb" --master "grpc://localhost:$P0" --init init \
    --feed "zeros=$W0V" --feed "x=$X" --feed "y=$Y" --target train --steps 2 \
    --trace "$TMP/cluster_trace.json" >/dev/null 2>"$TMP/err" ||
  fail "trace through the master: $(cat "$TMP/err")"
python3 - "$TMP/cluster_trace.json" <<'PY' || fail "cluster trace"
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
procs = {e["pid"]: e["args"]["name"] for e in events if e["ph"] == "M"}
assert sorted(procs.values()) == [
    "/job:ps/replica:0/task:0/device:CPU:0",
    "/job:worker/replica:0/task:0/device:CPU:0",
    "/job:worker/replica:0/task:1/device:CPU:0"], procs
nodes = [e for e in events if e["ph"] == "X"]
assert {procs[e["pid"]] for e in nodes} == set(procs.values()), "a device ran nothing"
update = [e for e in nodes if e["name"] == "train/update_w/ApplyGradientDescent"]
assert len(update) == 1 and procs[update[0]["pid"]].startswith("/job:ps/"), update
assert update[0]["cat"] == "ApplyGradientDescent" and update[0]["dur"] >= 0
assert {"_Send", "_Recv"} <= {e["cat"] for e in nodes}
PY

# The parameter-server scheme from the C++ example: variables on the ps,
# each worker the gradients of half of every batch, averaged on the ps.
# Synchronous and averaged, it ends exactly where one process ends.
if ! ps_out=$("$LOGREG" --master "grpc://localhost:$P1" --workers 2 --epochs 4 2>&1); then
  fail "parameter-server logistic regression: $ps_out"
fi
local_out=$("$LOGREG" --epochs 4)
[[ "$(echo "$ps_out" | tail -n 1)" == "$(echo "$local_out" | tail -n 1)" ]] ||
  fail "ps training ended at '$(echo "$ps_out" | tail -n 1)', one process at '$(echo "$local_out" | tail -n 1)'"
[[ $(echo "$ps_out" | grep -c '^epoch ') -eq 4 ]] || fail "ps training progress: $ps_out"

# 3a. Worker 1 hangs (SIGSTOP: its sockets stay open, nothing answers) in
# the middle of a long step: keepalive pings find it within about ten
# seconds, although neither the step nor RunGraph has a deadline.
start_time=$(date +%s)
"$RILL" run "$DATA/slow_step.pbtxt" --master "grpc://localhost:$P1" \
  --fetch total >"$TMP/hung.out" 2>"$TMP/hung.err" &
client=$!
sleep 1
kill -STOP "$W1"
wait "$client"
status=$?
elapsed=$(( $(date +%s) - start_time ))
kill -CONT "$W1"
[[ $status -ne 0 ]] || fail "the step survived a hung worker 1: $(cat "$TMP/hung.out")"
grep -Eq "^rill: UNAVAILABLE: .*/job:worker/replica:0/task:1" "$TMP/hung.err" ||
  fail "the error does not name the hung worker 1: $(cat "$TMP/hung.err")"
[[ $elapsed -le 25 ]] || fail "the step with a hung worker took $elapsed s"
echo "hung worker 1 mid-step: '$(cat "$TMP/hung.err")' after ${elapsed}s"

# 3b. Kill worker 1 in the middle of a long step it computes.
start_time=$(date +%s)
"$RILL" run "$DATA/slow_step.pbtxt" --master "grpc://localhost:$P1" \
  --fetch total >"$TMP/slow.out" 2>"$TMP/slow.err" &
client=$!
sleep 1
kill -9 "$W1"
wait "$client"
status=$?
elapsed=$(( $(date +%s) - start_time ))
if [[ $status -eq 0 ]]; then
  fail "the step survived the death of worker 1: $(cat "$TMP/slow.out")"
fi
grep -Eq "^rill: (UNAVAILABLE|ABORTED): .*/job:worker/replica:0/task:1" "$TMP/slow.err" ||
  fail "the error does not name worker 1: $(cat "$TMP/slow.err")"
[[ $elapsed -le 30 ]] || fail "the failed step took $elapsed s"
echo "killed worker 1 mid-step: '$(cat "$TMP/slow.err")' after ${elapsed}s"
# The survivors serve a new session that does not need worker 1.
cat >"$TMP/survivor.pbtxt" <<'PB'
node { name: "a" op: "Const" device: "/job:ps/task:0"
  attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: 2 } } } }
node { name: "b" op: "Square" input: "a" device: "/job:worker/task:0"
  attr { key: "T" value { type: DT_FLOAT } } }
PB
out=$("$RILL" run "$TMP/survivor.pbtxt" --master "grpc://localhost:$P1" --fetch b 2>&1) ||
  fail "the surviving servers do not serve: $out"
[[ "$out" == "b = float32 [] [4]" ]] || fail "survivor result: $out"

# 4. Bad input.
if "$RILL" run "$TMP/survivor.pbtxt" --master grpc://localhost:1 --fetch b 2>"$TMP/err"; then
  fail "a master that does not exist answered"
fi
grep -q "^rill: UNAVAILABLE: .*localhost:1" "$TMP/err" || fail "no master: $(cat "$TMP/err")"
if timeout 10 "$RILL" server --cluster '{"ps": ["nonsense"]}' --job ps --task 0 2>"$TMP/err"; then
  fail "a malformed cluster started"
fi
grep -q "^rill: INVALID_ARGUMENT: --cluster: task 0 of job 'ps': address 'nonsense' is not host:port" "$TMP/err" ||
  fail "bad cluster: $(cat "$TMP/err")"
if timeout 10 "$RILL" server --cluster "$CLUSTER" --job ps --task 0 2>"$TMP/err"; then
  fail "two servers bound one port"
fi
grep -q "^rill: UNAVAILABLE: .*cannot listen on localhost:$P0 " "$TMP/err" || fail "port in use: $(cat "$TMP/err")"
if timeout 10 "$RILL" server --cluster "$CLUSTER" --job chief --task 0 2>"$TMP/err"; then
  fail "a task outside the cluster started"
fi
grep -q "^rill: NOT_FOUND: the cluster has no task /job:chief/replica:0/task:0" "$TMP/err" ||
  fail "unknown task: $(cat "$TMP/err")"

# Raw gRPC calls: a request that does not parse is INVALID_ARGUMENT naming
# the message, for every method that takes one.
for method in MasterService/CreateSession MasterService/RunStep \
    WorkerService/RegisterGraph WorkerService/RunGraph WorkerService/RecvTensor; do
  got=$("$RAW" "localhost:$P0" "/tensorflow.$method" garbage)
  [[ "$got" == "INVALID_ARGUMENT: malformed tensorflow."* ]] ||
    fail "garbage to $method: $got"
done
# A server with a 64 KiB message limit refuses a larger request with
# RESOURCE_EXHAUSTED, and serves on.
"$RILL" server --cluster "{\"lim\": [\"localhost:$P3\"]}" --job lim --task 0 \
  --max_message_bytes 65536 >"$TMP/lim.log" 2>&1 &
pids+=($!); LIM=$!
wait_serving "$TMP/lim.log" "the server with --max_message_bytes"
got=$("$RAW" "localhost:$P3" /tensorflow.MasterService/RunStep zeros:100000)
[[ "$got" == "RESOURCE_EXHAUSTED: "* ]] || fail "oversized RunStep: $got"
got=$("$RAW" "localhost:$P3" /tensorflow.WorkerService/GetStatus empty)
[[ "$got" == "OK: " ]] || fail "the limited server after an oversized call: $got"
out=$("$RILL" run "$TMP/survivor.pbtxt" --master "grpc://localhost:$P0" --fetch b 2>&1) ||
  fail "the ps after the raw calls: $out"
kill -TERM "$LIM"; wait "$LIM"
if "$RILL" server --cluster "{\"lim\": [\"localhost:$P3\"]}" --job lim --task 0 \
    --max_message_bytes 10 2>"$TMP/err"; then
  fail "a server with a 10-byte message limit started"
fi
grep -q "^rill: INVALID_ARGUMENT: --max_message_bytes must be a byte count from 4096" "$TMP/err" ||
  fail "tiny message limit: $(cat "$TMP/err")"

# 5. SIGTERM: each server stops and exits 0.
for p in "$PS" "$W0"; do
  kill -TERM "$p"
  wait "$p" || fail "a server exited with status $? on SIGTERM"
done
grep -q "stopping on SIGTERM" "$TMP/ps0.log" || fail "ps did not say it stopped"

finish cluster_test
