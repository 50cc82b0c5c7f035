#!/usr/bin/env bash
# rill train --scheme model-parallel as a user runs it: the digits MLP
# split over 2 `rill server` workers by layers, the batch in micro-batches.
# The same losses as training on one task (allreduce on one worker: the
# mean of the micro-batches' mean losses is the batch's), whatever the
# number of micro-batches; the bytes that cross the cut; a checkpoint
# resumed to the same end; a worker killed mid-run ends the run with a
# clear error; bad flags.
set -uo pipefail

RILL="$1"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
digits_mlp_train "$RILL" "$2"

train_json one --scheme allreduce --epochs 5
train_json mp4 --scheme model-parallel --epochs 5 --local-cluster ps=0,worker=2
train_json mp1 --scheme model-parallel --epochs 5 --micro-batches 1 \
  --local-cluster ps=0,worker=2
train_json mp_local --scheme model-parallel --epochs 5 --micro-batches 3
for name in mp4 mp1 mp_local; do
  close_to "$(final_loss $name)" "$(final_loss one)" 1e-5 ||
    fail "$name: loss $(final_loss $name), one task $(final_loss one)"
done
at_least "$(json_field "$TMP/mp4.json" 'd["final"]["accuracy"]')" 0.9 ||
  fail "mp4: accuracy"
# The cut is the first layer's product (its bias lives on worker 1, with
# the second layer): 4 micro-batches of 24 rows x 32 floats forward, and
# their gradient back, in each of the 70 steps.
[ "$(json_field "$TMP/mp4.json" 'd["bytes_sent"]')" = $((70 * 4 * 24 * 32 * 4 * 2)) ] ||
  fail "mp4: bytes_sent $(json_field "$TMP/mp4.json" 'd["bytes_sent"]')"
[ "$(json_field "$TMP/mp_local.json" 'd["bytes_sent"]')" = 0 ] ||
  fail "mp_local: bytes_sent"
[ "$(grep -c '^epoch .* (2 workers)$' "$TMP/mp4.err")" = 5 ] ||
  fail "mp4: progress lines: $(cat "$TMP/mp4.err")"

# A checkpoint after 2 epochs, resumed to 5: the same end as straight on.
train_json first --scheme model-parallel --epochs 2 --local-cluster ps=0,worker=2 \
  --checkpoint-dir "$TMP/ckpt"
train_json resumed --scheme model-parallel --epochs 5 --local-cluster ps=0,worker=2 \
  --checkpoint-dir "$TMP/ckpt" --resume
close_to "$(final_loss resumed)" "$(final_loss mp4)" 1e-6 ||
  fail "resumed: loss $(final_loss resumed), straight $(final_loss mp4)"

# A worker killed mid-run: its layers are gone, the run ends and says so.
"${TRAIN[@]}" --scheme model-parallel --epochs 2000 \
  --local-cluster ps=0,worker=2 >"$TMP/kill.out" 2>"$TMP/kill.err" &
driver=$!
for _ in $(seq 300); do
  grep -q "^epoch 2 " "$TMP/kill.out" 2>/dev/null && break
  sleep 0.1
done
victim=$(pgrep -P "$driver" -f -- "--job worker --task 1( |$)" | head -1)
[ -n "$victim" ] || fail "kill: no worker 1 under the driver"
kill -9 "$victim"
for _ in $(seq 300); do
  kill -0 "$driver" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$driver" 2>/dev/null; then
  fail "kill: the driver still runs 30 s after its worker died"
  kill -9 "$driver"
fi
wait "$driver"
[ $? -ne 0 ] || fail "kill: exited 0"
grep -q "^rill: [A-Z_]*: model-parallel: lost worker 1 and the layers it held" \
  "$TMP/kill.err" || fail "kill: $(cat "$TMP/kill.err")"

expect_error "micro-batches for allreduce" INVALID_ARGUMENT \
  "applies to --scheme model-parallel" \
  "${TRAIN[@]}" --scheme allreduce --micro-batches 4
expect_error "micro-batches 0" INVALID_ARGUMENT "--micro-batches" \
  "${TRAIN[@]}" --scheme model-parallel --micro-batches 0
expect_error "batch not a multiple" INVALID_ARGUMENT \
  "the batch 96 must be a multiple of the 5 micro-batches" \
  "${TRAIN[@]}" --scheme model-parallel --micro-batches 5
expect_error "ps for model-parallel" INVALID_ARGUMENT "uses no ps tasks" \
  "${TRAIN[@]}" --scheme model-parallel --local-cluster ps=1,worker=2

finish train_mp_test
