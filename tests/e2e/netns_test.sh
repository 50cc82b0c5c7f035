#!/usr/bin/env bash
# Three `rill server` tasks on three hosts: network namespaces joined by
# veth links to a bridge (iproute2), with real network faults (tc-netem):
#  1. 5 ms delay and 1% loss on every link (a token-bucket rate limit where
#     the kernel has no tc-netem): steps succeed and give the same results
#     as on a clean network.
#  2. A partition (one task's link to the bridge down: its packets silently
#     dropped): a step that needs
#     that task fails with UNAVAILABLE naming it, within the keepalive
#     time, never a hang; steps that do not need it still run.
#  3. The partition healed: new steps that need it succeed.
# Namespaces need root (CAP_NET_ADMIN) and no sandbox; without them the
# test says why and skips.
set -uo pipefail

RILL=$(realpath "$1")
# iproute2 lives in sbin, which a test's PATH leaves out.
export PATH="$PATH:/usr/sbin:/sbin"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

ID="rill$$"
HUB="${ID}h"
NS=("${ID}a" "${ID}b" "${ID}c")
IPS=(10.199.0.1 10.199.0.2 10.199.0.3)
cleanup() {
  kill_started
  for ns in "${NS[@]}" "$HUB"; do ip netns del "$ns" 2>/dev/null; done
}
trap cleanup EXIT

skip() {
  echo "netns_test: skipped: $*"
  exit 0
}
[ "$(id -u)" -eq 0 ] || skip "not root (network namespaces need CAP_NET_ADMIN)"
command -v ip >/dev/null || skip "no iproute2 (ip)"
command -v tc >/dev/null || skip "no tc (iproute2)"
ip netns add "$HUB" 2>"$TMP/netns.err" ||
  skip "cannot make a network namespace: $(cat "$TMP/netns.err")"
in_hub() { ip netns exec "$HUB" "$@"; }
in_hub ip link add br0 type bridge || skip "no bridge support"
in_hub ip link set br0 up
in_hub ip link set lo up
# tc-netem when the kernel has it; otherwise (some VM kernels lack
# sch_netem) the links are only slowed, by a token bucket.
if ip netns exec "$HUB" tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then
  in_hub tc qdisc del dev lo root
  IMPAIR=(netem delay 5ms loss 1%)
  IMPAIRED="5 ms delay, 1% loss"
else
  IMPAIR=(tbf rate 20mbit burst 32kb latency 200ms)
  IMPAIRED="links limited to 20 Mbit/s (this kernel has no tc-netem: no delay or loss)"
  echo "netns_test: no tc-netem in this kernel; $IMPAIRED"
fi
for i in 0 1 2; do
  ns=${NS[$i]}
  ip netns add "$ns" || skip "cannot make namespace $ns"
  ip link add "v$i" netns "$ns" type veth peer name "p$i" netns "$HUB" ||
    skip "no veth support"
  in_hub ip link set "p$i" master br0
  in_hub ip link set "p$i" up
  ip netns exec "$ns" ip addr add "${IPS[$i]}/24" dev "v$i"
  ip netns exec "$ns" ip link set "v$i" up
  ip netns exec "$ns" ip link set lo up
done

CLUSTER="{\"ps\": [\"${IPS[0]}:2222\"], \"worker\": [\"${IPS[1]}:2222\", \"${IPS[2]}:2222\"]}"
start() {  # namespace-index job task
  local log="$TMP/$2$3.log"
  ip netns exec "${NS[$1]}" "$RILL" server --cluster "$CLUSTER" --job "$2" \
    --task "$3" >"$log" 2>&1 &
  pids+=($!)
  wait_serving "$log" "$2/$3"
}
start 0 ps 0
start 1 worker 0
start 2 worker 1

# Every task takes part: a variable on the ps, a product on worker 1, the
# sum on worker 0; 4 MB cross each link per step.
cat >"$TMP/three.pbtxt" <<'PB'
node { name: "dims" op: "Const" attr { key: "dtype" value { type: DT_INT32 } }
  attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape { dim { size: 2 } } int_val: 1000 int_val: 1000 } } } }
node { name: "half" op: "Const" device: "/job:ps/task:0" attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: 0.5 } } } }
node { name: "a" op: "Fill" input: "dims" input: "half" device: "/job:ps/task:0"
  attr { key: "T" value { type: DT_FLOAT } } attr { key: "index_type" value { type: DT_INT32 } } }
node { name: "b" op: "Mul" input: "a" input: "a" device: "/job:worker/task:1"
  attr { key: "T" value { type: DT_FLOAT } } }
node { name: "c" op: "Add" input: "a" input: "b" device: "/job:worker/task:0"
  attr { key: "T" value { type: DT_FLOAT } } }
node { name: "axes" op: "Const" device: "/job:worker/task:0" attr { key: "dtype" value { type: DT_INT32 } }
  attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape { dim { size: 2 } } int_val: 0 int_val: 1 } } } }
node { name: "total" op: "Sum" input: "c" input: "axes" device: "/job:worker/task:0"
  attr { key: "T" value { type: DT_FLOAT } } attr { key: "Tidx" value { type: DT_INT32 } }
  attr { key: "keep_dims" value { b: false } } }
node { name: "near" op: "Sum" input: "a" input: "axes" device: "/job:worker/task:0"
  attr { key: "T" value { type: DT_FLOAT } } attr { key: "Tidx" value { type: DT_INT32 } }
  attr { key: "keep_dims" value { b: false } } }
PB
client() {  # the client on the ps's host, the master on worker 0
  ip netns exec "${NS[0]}" timeout 120 "$RILL" run "$TMP/three.pbtxt" \
    --master "grpc://${IPS[1]}:2222" "$@"
}
expect_ok "clean network" client --fetch total --steps 3
clean=$(cat "$TMP/out")
grep -q "total = float32 \[\] \[750000\]" "$TMP/out" || fail "clean: $clean"

# 1. Every host's link impaired.
for i in 0 1 2; do
  ip netns exec "${NS[$i]}" tc qdisc add dev "v$i" root "${IMPAIR[@]}"
done
expect_ok "$IMPAIRED" client --fetch total --steps 3
[ "$(cat "$TMP/out")" = "$clean" ] ||
  fail "results differ with $IMPAIRED: $(cat "$TMP/out") vs $clean"

# 2. Worker 1 partitioned: its port on the bridge goes down, and every
#    packet to or from its host is dropped without a word (no reset, no
#    unreachable), as when a switch or a cable fails.
#    First in the middle of a run of steps: the step in flight fails.
client --fetch total --steps 1000000 --every 1 >"$TMP/long.out" 2>"$TMP/long.err" &
long=$!
for _ in $(seq 1 200); do
  [ "$(grep -c '^step' "$TMP/long.out")" -ge 3 ] && break
  sleep 0.1
done
[ "$(grep -c '^step' "$TMP/long.out")" -ge 3 ] || fail "the long run did not start: $(cat "$TMP/long.err")"
in_hub ip link set p2 down
start_s=$SECONDS
wait "$long"
rc=$?
took=$((SECONDS - start_s))
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "the run across the partition: exit $rc"
[ "$(wc -l <"$TMP/long.err")" -eq 1 ] || fail "partition: $(cat "$TMP/long.err")"
grep -q "^rill: UNAVAILABLE: .*task:1" "$TMP/long.err" ||
  fail "partition, not UNAVAILABLE naming the task: $(cat "$TMP/long.err")"
# Keepalive pings every 5 s, 5 s to answer: found in about 10 s.
[ "$took" -le 30 ] || fail "the partition took $took s to be reported"
echo "partition in mid-run reported in $took s: $(cat "$TMP/long.err")"
#    Then a new session: the task that does not answer is named.
start_s=$SECONDS
expect_error "a new step needing the partitioned task" UNAVAILABLE "task:1" \
  client --fetch total
took=$((SECONDS - start_s))
[ "$took" -le 30 ] || fail "the partition took $took s to be reported to a new session"
expect_ok "a step without the partitioned task" client --fetch near
grep -q "near = float32 \[\] \[500000\]" "$TMP/out" || fail "near: $(cat "$TMP/out")"

# 3. Healed.
in_hub ip link set p2 up
healed=0
for _ in 1 2 3 4 5 6; do
  if client --fetch total --steps 3 >"$TMP/out" 2>"$TMP/err"; then
    healed=1
    break
  fi
  sleep 5
done
[ "$healed" -eq 1 ] || fail "steps fail after the partition healed: $(cat "$TMP/err")"
[ "$(cat "$TMP/out")" = "$clean" ] || fail "results after healing: $(cat "$TMP/out")"

finish netns_test
