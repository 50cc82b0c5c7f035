#!/usr/bin/env bash
# rill train --checkpoint-dir and --resume (SPEC 7) as a user runs them:
# a checkpoint after every epoch, in TensorFlow's format under the model's
# variable names; a ps task killed with SIGKILL mid-run (sync-ps and
# async-ps on a local cluster) is restarted, the newest checkpoint restored
# and the run finishes; --resume continues a finished run's checkpoints from
# the epoch after them (allreduce), and falls back to an older checkpoint
# when the newest is damaged; bad input.
set -uo pipefail

RILL="$1"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
digits_mlp_train "$RILL" "$2"

# A ps killed after epoch 5's checkpoint: restarted, resumed, finished.
for scheme in sync-ps async-ps; do
  dir="$TMP/$scheme"
  "${TRAIN[@]}" --scheme "$scheme" --epochs 60 --local-cluster ps=1,worker=2 \
    --checkpoint-dir "$dir" --format json >"$TMP/$scheme.json" \
    2>"$TMP/$scheme.err" &
  driver=$!
  for _ in $(seq 600); do
    grep -q "^checkpoint .*model-" "$TMP/$scheme.err" 2>/dev/null &&
      [ "$(grep -c '^checkpoint ' "$TMP/$scheme.err")" -ge 5 ] && break
    sleep 0.05
  done
  victim=$(pgrep -P "$driver" -f -- "--job ps --task 0( |$)" | head -1)
  [ -n "$victim" ] || fail "$scheme: no ps among $(pgrep -P "$driver" -a)"
  kill -9 "$victim"
  if wait "$driver"; then
    grep -q "^ps task 0 is gone (.*); waiting for it to come back$" \
      "$TMP/$scheme.err" || fail "$scheme: no word of the lost ps"
    grep -q "^resumed from $dir/model-[0-9]* (after epoch [0-9]*)$" \
      "$TMP/$scheme.err" || fail "$scheme: not resumed from a checkpoint"
    grep -q "^ps task 0 is back; continuing after epoch [0-9]*$" \
      "$TMP/$scheme.err" || fail "$scheme: no word of the ps coming back"
    grep -q "^epoch 60 " "$TMP/$scheme.err" || fail "$scheme: did not finish"
    at_least "$(json_field "$TMP/$scheme.json" 'd["final"]["accuracy"]')" 0.9 ||
      fail "$scheme: accuracy"
  else
    fail "$scheme: the run failed: $(grep -v '^epoch\|^checkpoint' "$TMP/$scheme.err" | tail -5)"
  fi
  # Three kept, the newest the last epoch's.
  [ "$(ls "$dir"/*.index | wc -l)" -eq 3 ] || fail "$scheme: $(ls "$dir")"
  grep -q '^model_checkpoint_path: "model-[0-9]*"$' "$dir/checkpoint" ||
    fail "$scheme: checkpoint state: $(cat "$dir/checkpoint")"
done

# allreduce: 3 epochs, then --resume to 5 goes on from epoch 4.
dir="$TMP/allreduce"
expect_ok "allreduce 3 epochs" "${TRAIN[@]}" --scheme allreduce --epochs 3 \
  --local-cluster ps=0,worker=2 --checkpoint-dir "$dir"
expect_ok "allreduce resumed" "${TRAIN[@]}" --scheme allreduce --epochs 5 \
  --local-cluster ps=0,worker=2 --checkpoint-dir "$dir" --resume
grep -q "^resumed from $dir/model-42 (after epoch 3)$" "$TMP/out" ||
  fail "resume: $(head -3 "$TMP/out")"
[ "$(grep -c '^epoch ' "$TMP/out")" -eq 2 ] &&
  grep -q "^epoch 4  step 56 " "$TMP/out" ||
  fail "resume: epochs run: $(grep '^epoch' "$TMP/out")"

# The newest checkpoint damaged: --resume takes the one before it.
newest=$(sed -n 's/^model_checkpoint_path: "\(.*\)"$/\1/p' "$dir/checkpoint")
python3 - "$dir/$newest.data-00000-of-00001" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    b = bytearray(f.read())
    b[len(b) // 2] ^= 0x10
    f.seek(0)
    f.write(b)
PY
expect_ok "damaged newest" "${TRAIN[@]}" --scheme allreduce --epochs 6 \
  --local-cluster ps=0,worker=2 --checkpoint-dir "$dir" --resume
grep -q "^checkpoint $dir/$newest does not restore (.*checksum.*); trying an older one$" \
  "$TMP/out" || fail "damaged: $(head -3 "$TMP/out")"
grep -q "^resumed from $dir/model-56 (after epoch 4)$" "$TMP/out" ||
  fail "damaged: not the older one: $(head -3 "$TMP/out")"

# The list damaged or gone: the newest checkpoint on disk is found anyway.
echo "garbage {{{" >"$dir/checkpoint"
expect_ok "garbage list" "${TRAIN[@]}" --scheme allreduce --epochs 6 \
  --local-cluster ps=0,worker=2 --checkpoint-dir "$dir" --resume
grep -q "^resumed from $dir/model-84 (after epoch 6)$" "$TMP/out" ||
  fail "garbage list: $(head -3 "$TMP/out")"
rm -f "$dir/checkpoint"
expect_ok "no list" "${TRAIN[@]}" --scheme allreduce --epochs 6 \
  --local-cluster ps=0,worker=2 --checkpoint-dir "$dir" --resume
grep -q "^resumed from $dir/model-84 (after epoch 6)$" "$TMP/out" ||
  fail "no list: $(head -3 "$TMP/out")"

# Every checkpoint damaged: an error, never a fresh start over them.
cp -r "$dir" "$TMP/all_bad"
for f in "$TMP"/all_bad/*.data-*; do : >"$f"; done
expect_error "all damaged" DATA_LOSS "none of the .* checkpoints in $TMP/all_bad restores" \
  "${TRAIN[@]}" --scheme allreduce --epochs 7 --checkpoint-dir "$TMP/all_bad" --resume
[ -z "$(grep -l '^epoch' "$TMP/out" 2>/dev/null)" ] || fail "all damaged: trained anyway"

# Nothing to resume from: a fresh start, said so.
expect_ok "resume, empty dir" "${TRAIN[@]}" --scheme allreduce --epochs 1 \
  --checkpoint-dir "$TMP/empty" --resume
grep -q "^no checkpoint to resume from in $TMP/empty; starting afresh$" \
  "$TMP/out" || fail "empty: $(head -2 "$TMP/out")"

touch "$TMP/a_file"
expect_error "resume without a dir" INVALID_ARGUMENT "--resume: needs --checkpoint-dir" \
  "${TRAIN[@]}" --scheme allreduce --resume
expect_error "dir is a file" INVALID_ARGUMENT "is not a directory" \
  "${TRAIN[@]}" --scheme allreduce --checkpoint-dir "$TMP/a_file"
expect_error "no parent" INVALID_ARGUMENT "cannot create" \
  "${TRAIN[@]}" --scheme allreduce --checkpoint-dir "$TMP/no/such/dir"

finish train_checkpoint_test
