#!/usr/bin/env bash
# rill train --scheme allreduce as a user runs it (SPEC 7): a model GraphDef
# built with the C++ API, .npy data, in-process and on local clusters of
# real `rill server` processes; the same accuracy on 1, 2 and 3 workers; a
# worker killed with SIGKILL mid-run and started again; bad input.
set -uo pipefail

RILL="$1"
DATA="examples/data"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
digits_mlp_train "$RILL" "$2"
TRAIN+=(--scheme allreduce)
train() { "${TRAIN[@]}" "$@"; }


# The same global batch on 1 (in-process and as a server), 2 and 3 workers
# reaches the same accuracy within noise; bytes_sent is the ring's volume.
for setup in "inprocess" "1" "2" "3"; do
  args=(--epochs 10 --format json)
  [ "$setup" = inprocess ] || args+=(--local-cluster "ps=0,worker=$setup")
  if ! train "${args[@]}" >"$TMP/$setup.json" 2>"$TMP/$setup.err"; then
    fail "$setup: exit $?: $(cat "$TMP/$setup.err")"
    continue
  fi
  [ "$(wc -l <"$TMP/$setup.json")" -eq 1 ] || fail "$setup: stdout is not one line"
  acc=$(json_field "$TMP/$setup.json" 'd["final"]["accuracy"]')
  python3 -c "import sys; sys.exit(0 if float('$acc') >= 0.93 else 1)" ||
    fail "$setup workers: accuracy $acc < 0.93"
  workers=$(json_field "$TMP/$setup.json" 'd["workers"]')
  want=${setup/inprocess/1}
  [ "$workers" = "$want" ] || fail "$setup: workers $workers"
  [ "$(json_field "$TMP/$setup.json" 'd["steps"]')" = 140 ] || fail "$setup: steps"
  [ "$(json_field "$TMP/$setup.json" 'd["epochs"]')" = 10 ] || fail "$setup: epochs"
  # 2410 float parameters, 140 steps: each rank sends 2 (N-1)/N of them.
  bytes=$(json_field "$TMP/$setup.json" 'd["bytes_sent"]')
  [ "$bytes" = $((2 * (want - 1) * 2410 * 4 * 140)) ] ||
    fail "$setup: bytes_sent $bytes"
  [ "$(grep -c '^epoch ' "$TMP/$setup.err")" = 10 ] ||
    fail "$setup: no progress line per epoch on stderr"
done
a1=$(json_field "$TMP/inprocess.json" 'd["final"]["accuracy"]')
for w in 2 3; do
  aw=$(json_field "$TMP/$w.json" 'd["final"]["accuracy"]')
  python3 -c "import sys; sys.exit(0 if abs($aw - $a1) <= 0.03 else 1)" ||
    fail "$w workers: accuracy $aw vs $a1 on one"
done

# Text output: a progress line per epoch and a summary.
train --epochs 2 >"$TMP/text.out" 2>"$TMP/text.err" ||
  fail "text: $(cat "$TMP/text.err")"
grep -q "^epoch 2  step 28  loss .* accuracy .* examples/s  (1 workers)$" \
  "$TMP/text.out" || fail "text: no progress line: $(cat "$TMP/text.out")"
grep -q "^done: 28 steps" "$TMP/text.out" || fail "text: no summary"
# --steps counts steps across epochs.
train --steps 20 --format json >"$TMP/steps.json" 2>/dev/null ||
  fail "--steps failed"
[ "$(json_field "$TMP/steps.json" 'd["steps"]')" = 20 ] || fail "--steps 20"

# Elastic: SIGKILL one of 3 workers mid-run; the others re-form the group
# and finish; the worker started again at its address joins again.
"${TRAIN[@]}" --epochs 400 --local-cluster ps=0,worker=3 --format json \
  >"$TMP/elastic.json" 2>"$TMP/elastic.err" &
driver=$!
# (Up to 2 minutes: a run whose collectives wait out a slow connection on
# a busy machine has been seen to take over 30 s to reach epoch 3.)
for _ in $(seq 1200); do
  grep -q "^epoch 3 " "$TMP/elastic.err" 2>/dev/null && break
  sleep 0.1
done
grep -q "^epoch 3 " "$TMP/elastic.err" ||
  echo "elastic: no epoch 3 after 2 minutes: $(head -c 2000 "$TMP/elastic.err")" >&2
servers=$(pgrep -P "$driver" | tr '\n' ' ')
[ "$(echo $servers | wc -w)" = 4 ] || fail "elastic: servers: $servers"
victim=$(pgrep -P "$driver" -f -- "--job worker --task 1( |$)" | head -1)
cluster=$(tr '\0' '\n' <"/proc/$victim/cmdline" | sed -n '4p')
kill -9 "$victim"
for _ in $(seq 600); do
  grep -q "continuing with 2 workers" "$TMP/elastic.err" && break
  sleep 0.1
done
grep -q "^lost worker 1 .*continuing with 2 workers$" "$TMP/elastic.err" ||
  fail "elastic: no re-formed group: $(head -c 2000 "$TMP/elastic.err")"
"$RILL" server --cluster "$cluster" --job worker --task 1 >/dev/null 2>&1 &
restarted=$!
for _ in $(seq 300); do
  grep -q "continuing with 3 workers" "$TMP/elastic.err" && break
  sleep 0.1
done
grep -q "back; continuing with 3 workers" "$TMP/elastic.err" ||
  fail "elastic: the restarted worker did not join"
if wait "$driver"; then
  acc=$(json_field "$TMP/elastic.json" 'd["final"]["accuracy"]')
  python3 -c "import sys; sys.exit(0 if $acc >= 0.93 else 1)" ||
    fail "elastic: accuracy $acc"
  [ "$(json_field "$TMP/elastic.json" 'd["workers_at_end"]')" = 3 ] ||
    fail "elastic: workers_at_end"
else
  fail "elastic: driver failed: $(tail -3 "$TMP/elastic.err")"
fi
kill "$restarted" 2>/dev/null
wait "$restarted" 2>/dev/null
# The driver stopped the servers it started.
for pid in $servers; do
  kill -0 "$pid" 2>/dev/null && fail "server $pid outlived the driver"
done

printf 'junk' >"$TMP/junk.npy"
X="$DATA/digits_train_x.npy"
Y="$DATA/digits_train_y.npy"
M="$TMP/mlp.pbtxt"
expect_error "unknown scheme" INVALID_ARGUMENT "unknown scheme 'ring'" \
  "$RILL" train "$M" --loss loss --data x="$X" --data y="$Y" --scheme ring
expect_error "no loss" INVALID_ARGUMENT "--loss" \
  "$RILL" train "$M" --data x="$X" --data y="$Y" --scheme allreduce
expect_error "missing loss node" NOT_FOUND "no tensor 'nope'" \
  "$RILL" train "$M" --loss nope --data x="$X" --data y="$Y" --scheme allreduce
expect_error "not a placeholder" INVALID_ARGUMENT "not a Placeholder" \
  "$RILL" train "$M" --loss loss --data loss="$X" --scheme allreduce
expect_error "bad npy" INVALID_ARGUMENT "junk.npy" \
  "$RILL" train "$M" --loss loss --data x="$TMP/junk.npy" --data y="$Y" --scheme allreduce
expect_error "missing file" NOT_FOUND "nothere.npy" \
  "$RILL" train "$M" --loss loss --data x="$TMP/nothere.npy" --scheme allreduce
expect_error "wrong dtype" INVALID_ARGUMENT "y=" \
  "$RILL" train "$M" --loss loss --data x="$X" --data y="$X" --scheme allreduce
expect_error "row mismatch" INVALID_ARGUMENT "rows" \
  "$RILL" train "$M" --loss loss --data x="$X" --data y="$DATA/digits_test_y.npy" --scheme allreduce
expect_error "batch vs workers" INVALID_ARGUMENT "multiple of the 2 workers" \
  "$RILL" train "$M" --loss loss --data x="$X" --data y="$Y" --scheme allreduce \
  --batch 15 --local-cluster ps=0,worker=2
expect_error "ps for allreduce" INVALID_ARGUMENT "ps=0" \
  "$RILL" train "$M" --loss loss --data x="$X" --data y="$Y" --scheme allreduce \
  --local-cluster ps=1,worker=2
expect_error "metric without eval" INVALID_ARGUMENT "--eval" \
  "$RILL" train "$M" --loss loss --data x="$X" --data y="$Y" --scheme allreduce --metric accuracy
# A model with a placeholder the loss does not need.
cp "$M" "$TMP/extra.pbtxt"
echo 'node { name: "extra" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }' \
  >>"$TMP/extra.pbtxt"
expect_error "eval of an unbound placeholder" INVALID_ARGUMENT "not bound by --data" \
  "$RILL" train "$TMP/extra.pbtxt" --loss loss --data x="$X" --data y="$Y" \
  --scheme allreduce --eval extra="$X"
expect_error "bad lr" INVALID_ARGUMENT "--lr" \
  "$RILL" train "$M" --loss loss --data x="$X" --data y="$Y" --scheme allreduce --lr -1
expect_error "missing feed" INVALID_ARGUMENT "y" \
  "$RILL" train "$M" --loss loss --data x="$X" --scheme allreduce
expect_error "no cluster answers" UNAVAILABLE "127.0.0.1:1" \
  "$RILL" train "$M" --loss loss --data x="$X" --data y="$Y" --scheme allreduce \
  --cluster '{"worker": ["127.0.0.1:1"]}'

finish train_test
