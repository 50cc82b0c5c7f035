#!/usr/bin/env bash
# rill fit (Chu et al.'s exact algorithms) as a user runs it on the digits:
# k-means, Gaussian naive Bayes and PCA in this process and on a local
# cluster of 3 `rill server` workers give the same answer (the sums of the
# shards, added in another order); the text report; bad flags.
# tests/compat/exact_algorithms_vs_numpy.py checks the answers against
# NumPy.
set -uo pipefail

RILL="$1"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
X=examples/data/digits_train_x.npy
Y=examples/data/digits_train_y.npy

same() {  # NAME ARGS...: one worker and three agree to 1e-9.
  local name=$1
  shift
  "$RILL" fit "$@" --format json >"$TMP/$name.1" 2>"$TMP/err" ||
    { fail "$name: $(cat "$TMP/err")"; return; }
  "$RILL" fit "$@" --format json --local-cluster worker=3 >"$TMP/$name.3" \
    2>"$TMP/err" || { fail "$name on 3: $(cat "$TMP/err")"; return; }
  python3 - "$TMP/$name.1" "$TMP/$name.3" <<'PY' || fail "$name: 1 and 3 workers differ"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["workers"] == 1 and b["workers"] == 3 and b["bytes_sent"] > 0, (a, b)
def flat(v):
    return sum((flat(x) for x in v), []) if isinstance(v, list) else [v]
for key, value in a["result"].items():
    for p, q in zip(flat(value), flat(b["result"][key]), strict=True):
        assert abs(p - q) <= 1e-9 * max(1, abs(p)), (key, p, q)
PY
}

same kmeans kmeans --data "$X" --k 10
same bayes naive-bayes --data "$X" --labels "$Y"
same pca pca --data "$X" --components 4
at_least "$(json_field "$TMP/bayes.1" 'd["result"]["accuracy"]')" 0.8 ||
  fail "naive-bayes: accuracy"

expect_ok "text report" "$RILL" fit pca --data "$X" --components 2
grep -q "^pca on 1 worker: 2 iterations, 2 map-reduce passes" "$TMP/out" ||
  fail "text report: $(cat "$TMP/out")"
grep -q "^2 components explain 0\.[0-9]* of the variance of 1437 rows" \
  "$TMP/out" || fail "text report: $(cat "$TMP/out")"

expect_error "no algorithm" INVALID_ARGUMENT "usage: rill fit ALGORITHM" \
  "$RILL" fit --data "$X"
expect_error "unknown flag" INVALID_ARGUMENT "unknown flag '--epochs'" \
  "$RILL" fit pca --data "$X" --epochs 3
expect_error "no data" INVALID_ARGUMENT "--data: is required" "$RILL" fit pca
expect_error "k 0" INVALID_ARGUMENT "--k: expected a number of at least 1" \
  "$RILL" fit kmeans --data "$X" --k 0
expect_error "a vector" INVALID_ARGUMENT "must hold a matrix" \
  "$RILL" fit pca --data "$Y"
expect_error "labels of a matrix" INVALID_ARGUMENT "must hold one label per row" \
  "$RILL" fit naive-bayes --data "$X" --labels "$X"
expect_error "not 0 and 1" INVALID_ARGUMENT "logreg needs labels 0 and 1; row 0 has" \
  "$RILL" fit logreg --data "$X" --labels "$Y"
expect_error "eval labels alone" INVALID_ARGUMENT "needs --eval and --eval-labels together" \
  "$RILL" fit naive-bayes --data "$X" --labels "$Y" --eval "$X"
expect_error "both clusters" INVALID_ARGUMENT "not both" \
  "$RILL" fit pca --data "$X" --local-cluster worker=2 --cluster '{"worker": ["localhost:1"]}'

finish fit_test
