#!/usr/bin/env bash
# Data-parallel training with ring allreduce, as a user runs it: the same
# MLP (built with the C++ API) trained on 1, 2 and 3 `rill server` worker
# processes with the same global batch, one `rill train` command each; the
# accuracies agree within noise, and the examples/s and bytes sent per step
# show what the extra workers cost on this machine.
#
#   bazel build //tools:rill //examples:build_mlp_graph
#   examples/allreduce_digits.sh [EPOCHS [RILL BUILD_MLP_GRAPH]]
#
# Exits 1 when an accuracy differs from one worker's by more than 0.05.
set -euo pipefail
EPOCHS=${1:-10}
RILL=$(realpath "${2:-bazel-bin/tools/rill}")
BUILD_MLP=$(realpath "${3:-bazel-bin/examples/build_mlp_graph}")
cd "$(dirname "$0")/.."
DATA=examples/data
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

"$BUILD_MLP" --out="$TMP/mlp.pbtxt" --inputs=64 --hidden=32 --labels=int32 >/dev/null
printf '%-8s %10s %10s %14s %16s\n' workers accuracy loss examples/s "bytes/step"
for workers in 1 2 3; do
  "$RILL" train "$TMP/mlp.pbtxt" --loss loss --scheme allreduce \
    --local-cluster "ps=0,worker=$workers" --optimizer adam --lr 0.01 \
    --batch 96 --epochs "$EPOCHS" --seed 1 --format json \
    --data x="$DATA/digits_train_x.npy" --data y="$DATA/digits_train_y.npy" \
    --eval x="$DATA/digits_test_x.npy" --eval y="$DATA/digits_test_y.npy" \
    --metric accuracy 2>/dev/null >"$TMP/out.json"
  python3 - "$TMP/out.json" "$TMP/one.json" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
print("%-8d %10.4f %10.4f %14.0f %16.0f" % (
    d["workers"], d["final"]["accuracy"], d["final"]["loss"],
    d["examples_per_second"], d["bytes_sent"] / max(d["steps"], 1)))
if d["workers"] == 1:
    os.replace(sys.argv[1], sys.argv[2])
else:
    one = json.load(open(sys.argv[2]))["final"]["accuracy"]
    if abs(d["final"]["accuracy"] - one) > 0.05:
        sys.exit("accuracy %.4f on %d workers, %.4f on one"
                 % (d["final"]["accuracy"], d["workers"], one))
PY
done
