#!/usr/bin/env bash
# rill train's model-averaging schemes as a user runs them (SPEC 7):
# local-sgd (SparkNet: --tau local steps, then the replicas averaged) and
# average (Zinkevich: local passes, one average at the end) on local
# clusters of `rill server` processes. local-sgd with tau 1 and plain SGD is
# allreduce (the mean of the updated replicas is the update by the mean
# gradient): the same loss; on one worker both are plain SGD; the bytes are
# the ring's volume per average; a worker killed mid-run; bad flags.
set -uo pipefail

RILL="$1"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
digits_mlp_train "$RILL" "$2"

# 2410 float parameters of 4 bytes; two ranks send 2 (N-1) of them per
# average.
P=$((2410 * 4))

train_json sgd_allreduce --scheme allreduce --optimizer sgd --lr 0.1 --epochs 3 \
  --local-cluster ps=0,worker=2
train_json sgd_tau1 --scheme local-sgd --tau 1 --optimizer sgd --lr 0.1 --epochs 3 \
  --local-cluster ps=0,worker=2
close_to "$(final_loss sgd_tau1)" "$(final_loss sgd_allreduce)" 1e-4 ||
  fail "tau 1: loss $(final_loss sgd_tau1), allreduce $(final_loss sgd_allreduce)"

train_json one_allreduce --scheme allreduce --epochs 2
train_json one_local --scheme local-sgd --tau 7 --epochs 2
close_to "$(final_loss one_local)" "$(final_loss one_allreduce)" 1e-6 ||
  fail "one worker: loss $(final_loss one_local), allreduce $(final_loss one_allreduce)"
train_json one_average --scheme average --epochs 2
close_to "$(final_loss one_average)" "$(final_loss one_allreduce)" 1e-6 ||
  fail "average on one worker: loss $(final_loss one_average), plain SGD $(final_loss one_allreduce)"

# local-sgd, tau 5: 112 steps, 23 averages (every 5th step and the last).
train_json tau5 --scheme local-sgd --tau 5 --epochs 8 --local-cluster ps=0,worker=2
at_least "$(json_field "$TMP/tau5.json" 'd["final"]["accuracy"]')" 0.9 ||
  fail "tau 5: accuracy"
[ "$(json_field "$TMP/tau5.json" 'd["bytes_sent"]')" = $((23 * 2 * P)) ] ||
  fail "tau 5: bytes_sent $(json_field "$TMP/tau5.json" 'd["bytes_sent"]')"
[ "$(grep -c '^epoch ' "$TMP/tau5.err")" = 8 ] || fail "tau 5: progress lines"

# average: one average after 8 local epochs on each of 3 workers.
train_json zinkevich --scheme average --epochs 8 --local-cluster ps=0,worker=3
at_least "$(json_field "$TMP/zinkevich.json" 'd["final"]["accuracy"]')" 0.85 ||
  fail "average: accuracy"
[ "$(json_field "$TMP/zinkevich.json" 'd["bytes_sent"]')" = $((2 * 2 * P)) ] ||
  fail "average: bytes_sent $(json_field "$TMP/zinkevich.json" 'd["bytes_sent"]')"

# A worker killed mid-run (SPEC 7): local-sgd re-forms the group among the
# survivors and goes on to the end.
"${TRAIN[@]}" --scheme local-sgd --tau 5 --epochs 300 \
  --local-cluster ps=0,worker=3 --format json >"$TMP/kill.json" \
  2>"$TMP/kill.err" &
driver=$!
for _ in $(seq 300); do
  grep -q "^epoch 3 " "$TMP/kill.err" 2>/dev/null && break
  sleep 0.1
done
victim=$(pgrep -P "$driver" -f -- "--job worker --task 1( |$)" | head -1)
[ -n "$victim" ] && kill -9 "$victim"
if wait "$driver"; then
  grep -q "^lost worker 1 .*continuing with 2 workers$" "$TMP/kill.err" ||
    fail "kill: no re-formed group: $(head -c 1000 "$TMP/kill.err")"
  [ "$(json_field "$TMP/kill.json" 'd["workers_at_end"]')" = 2 ] ||
    fail "kill: workers_at_end"
  at_least "$(json_field "$TMP/kill.json" 'd["final"]["accuracy"]')" 0.9 ||
    fail "kill: accuracy"
else
  fail "kill: the driver failed: $(tail -3 "$TMP/kill.err")"
fi

expect_error "tau for allreduce" INVALID_ARGUMENT "applies to --scheme local-sgd" \
  "${TRAIN[@]}" --scheme allreduce --tau 4
expect_error "tau 0" INVALID_ARGUMENT "--tau" \
  "${TRAIN[@]}" --scheme local-sgd --tau 0
expect_error "ps for local-sgd" INVALID_ARGUMENT "uses no ps tasks" \
  "${TRAIN[@]}" --scheme local-sgd --local-cluster ps=1,worker=2
# --logdir (tests/compat reads the files with TensorBoard): bad directories.
expect_error "logdir a file" INVALID_ARGUMENT "--logdir: '$TMP/tau5.json' is not a directory" \
  "${TRAIN[@]}" --scheme allreduce --epochs 1 --logdir "$TMP/tau5.json"
expect_error "logdir empty" INVALID_ARGUMENT "--logdir: needs a directory" \
  "${TRAIN[@]}" --scheme allreduce --epochs 1 --logdir=

finish train_average_test
