#!/usr/bin/env bash
# rill train's model-averaging schemes as a user runs them (SPEC 7):
# local-sgd (SparkNet: --tau local steps, then the replicas averaged) and
# average (Zinkevich: local passes, one average at the end) on local
# clusters of `rill server` processes. local-sgd with tau 1 and plain SGD is
# allreduce (the mean of the updated replicas is the update by the mean
# gradient): the same loss; on one worker both are plain SGD; the bytes are
# the ring's volume per average; bad flags.
set -uo pipefail

RILL="$1"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
digits_mlp_train "$RILL" "$2"

# 2410 float parameters of 4 bytes; two ranks send 2 (N-1) of them per
# average.
P=$((2410 * 4))

run() {  # NAME ARGS...: trains, the JSON in $TMP/NAME.json
  local name=$1
  shift
  "${TRAIN[@]}" "$@" --format json >"$TMP/$name.json" 2>"$TMP/$name.err" ||
    fail "$name: $(tail -3 "$TMP/$name.err")"
}
loss() { json_field "$TMP/$1.json" 'd["final"]["loss"]'; }
close_to() {  # A B TOLERANCE
  python3 -c "import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<=t*max(1,abs(b)) else 1)" "$@"
}

run sgd_allreduce --scheme allreduce --optimizer sgd --lr 0.1 --epochs 3 \
  --local-cluster ps=0,worker=2
run sgd_tau1 --scheme local-sgd --tau 1 --optimizer sgd --lr 0.1 --epochs 3 \
  --local-cluster ps=0,worker=2
close_to "$(loss sgd_tau1)" "$(loss sgd_allreduce)" 1e-4 ||
  fail "tau 1: loss $(loss sgd_tau1), allreduce $(loss sgd_allreduce)"

run one_allreduce --scheme allreduce --epochs 2
run one_local --scheme local-sgd --tau 7 --epochs 2
close_to "$(loss one_local)" "$(loss one_allreduce)" 1e-6 ||
  fail "one worker: loss $(loss one_local), allreduce $(loss one_allreduce)"

# local-sgd, tau 5: 112 steps, 23 averages (every 5th step and the last).
run tau5 --scheme local-sgd --tau 5 --epochs 8 --local-cluster ps=0,worker=2
at_least "$(json_field "$TMP/tau5.json" 'd["final"]["accuracy"]')" 0.9 ||
  fail "tau 5: accuracy"
[ "$(json_field "$TMP/tau5.json" 'd["bytes_sent"]')" = $((23 * 2 * P)) ] ||
  fail "tau 5: bytes_sent $(json_field "$TMP/tau5.json" 'd["bytes_sent"]')"
[ "$(grep -c '^epoch ' "$TMP/tau5.err")" = 8 ] || fail "tau 5: progress lines"

# average: one average after 8 local epochs on each of 3 workers.
run zinkevich --scheme average --epochs 8 --local-cluster ps=0,worker=3
at_least "$(json_field "$TMP/zinkevich.json" 'd["final"]["accuracy"]')" 0.85 ||
  fail "average: accuracy"
[ "$(json_field "$TMP/zinkevich.json" 'd["bytes_sent"]')" = $((2 * 2 * P)) ] ||
  fail "average: bytes_sent $(json_field "$TMP/zinkevich.json" 'd["bytes_sent"]')"

expect_error "tau for allreduce" INVALID_ARGUMENT "applies to --scheme local-sgd" \
  "${TRAIN[@]}" --scheme allreduce --tau 4
expect_error "tau 0" INVALID_ARGUMENT "--tau" \
  "${TRAIN[@]}" --scheme local-sgd --tau 0
expect_error "ps for local-sgd" INVALID_ARGUMENT "uses no ps tasks" \
  "${TRAIN[@]}" --scheme local-sgd --local-cluster ps=1,worker=2

finish train_average_test
