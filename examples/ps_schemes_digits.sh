#!/usr/bin/env bash
# Parameter-server training, as a user runs it: the same MLP (built with the
# C++ API) and data trained with each of rill train's parameter-server
# schemes on `rill server` processes (1 ps and 2 workers; 3 workers for
# backup workers): synchronous, synchronous with a backup worker, Downpour
# (fetching and pushing every step, then every 4th and 2nd step), and
# stale-synchronous. The accuracies agree within noise; examples/s and the
# bytes sent per step show what each scheme costs.
#
#   bazel build //tools:rill //examples:build_mlp_graph
#   examples/ps_schemes_digits.sh [EPOCHS [RILL BUILD_MLP_GRAPH]]
#
# Exits 1 when a scheme's accuracy is more than 0.08 below sync-ps's.
set -euo pipefail
EPOCHS=${1:-12}
RILL=$(realpath "${2:-bazel-bin/tools/rill}")
BUILD_MLP=$(realpath "${3:-bazel-bin/examples/build_mlp_graph}")
cd "$(dirname "$0")/.."
DATA=examples/data
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

"$BUILD_MLP" --out="$TMP/mlp.pbtxt" --inputs=64 --hidden=32 --labels=int32 >/dev/null
printf '%-34s %10s %10s %14s %12s\n' scheme accuracy loss examples/s "bytes/step"
while IFS='|' read -r name cluster flags; do
  # shellcheck disable=SC2086
  "$RILL" train "$TMP/mlp.pbtxt" --loss loss $flags --local-cluster "$cluster" \
    --optimizer adam --lr 0.01 --batch 96 --epochs "$EPOCHS" --seed 1 \
    --format json \
    --data x="$DATA/digits_train_x.npy" --data y="$DATA/digits_train_y.npy" \
    --eval x="$DATA/digits_test_x.npy" --eval y="$DATA/digits_test_y.npy" \
    --metric accuracy 2>/dev/null >"$TMP/out.json"
  python3 - "$name" "$TMP/out.json" "$TMP/sync.json" <<'PY'
import json, os, sys
name, out, sync = sys.argv[1:]
d = json.load(open(out))
print("%-34s %10.4f %10.4f %14.0f %12.0f" % (
    name, d["final"]["accuracy"], d["final"]["loss"],
    d["examples_per_second"], d["bytes_sent"] / max(d["steps"], 1)))
if name == "sync-ps":
    os.replace(out, sync)
else:
    base = json.load(open(sync))["final"]["accuracy"]
    if d["final"]["accuracy"] < base - 0.08:
        sys.exit("%s: accuracy %.4f, sync-ps %.4f" % (name, d["final"]["accuracy"], base))
PY
done <<'RUNS'
sync-ps|ps=1,worker=2|--scheme sync-ps
sync-ps, 2 of 3 workers|ps=1,worker=3|--scheme sync-ps --replicas-to-aggregate 2
async-ps (Downpour)|ps=1,worker=2|--scheme async-ps
async-ps, n_fetch 4, n_push 2|ps=1,worker=2|--scheme async-ps --n-fetch 4 --n-push 2
ssp, staleness 2|ps=1,worker=2|--scheme ssp --staleness 2
RUNS
