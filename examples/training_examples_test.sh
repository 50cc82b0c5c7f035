#!/usr/bin/env bash
# The training examples, run as a user runs them: each trains to its goal,
# prints a progress line per epoch, and resuming from a checkpoint gives
# the same result as training straight through. The logistic GraphDef
# under examples/ is what the example writes, and `rill run` trains it.
set -uo pipefail

LINREG="$1"
LOGREG="$2"
DIGITS="$3"
RILL="$4"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# 1. Linear regression reaches the least-squares solution within 1e-3.
out=$("$LINREG" --epochs=30) || fail "linear_regression: $out"
echo "$out" | tail -n 2
[[ $(echo "$out" | grep -c '^epoch ') -eq 30 ]] || fail "linreg: not 30 progress lines"
gap=$(echo "$out" | sed -n 's/^max |learned - least squares| = //p')
python3 -c "import sys; sys.exit(0 if float('$gap') < 1e-3 else 1)" ||
  fail "linear regression is $gap from least squares"

# 2. Stopping after 12 epochs and resuming for 30 ends exactly where 30
#    straight epochs end.
"$LINREG" --epochs=12 --checkpoint_dir="$TMP/lin" >/dev/null || fail "linreg 12"
resumed=$("$LINREG" --epochs=30 --checkpoint_dir="$TMP/lin" --resume) ||
  fail "linreg resume: $resumed"
echo "$resumed" | grep -q "^resumed from $TMP/lin/model-384 at step 384$" ||
  fail "linreg did not resume at step 384: $(echo "$resumed" | head -n 2)"
echo "$resumed" | head -n 2 | grep -q '^epoch 13/30 ' ||
  fail "linreg resumed at the wrong epoch"
[[ "$(echo "$resumed" | tail -n 2)" == "$(echo "$out" | tail -n 2)" ]] ||
  fail "resumed linreg differs: $(echo "$resumed" | tail -n 2)"
[[ $(ls "$TMP/lin" | grep -c '\.index$') -eq 5 ]] ||
  fail "linreg should keep the last 5 checkpoints: $(ls "$TMP/lin")"

# 3. Logistic regression: accuracy near the Bayes rate (0.87) of its data.
out=$("$LOGREG" --epochs=10 --checkpoint_dir="$TMP/log") || fail "logreg: $out"
echo "$out" | tail -n 1
acc=$(echo "$out" | sed -n 's/^final loss [0-9.]*, accuracy //p')
python3 -c "import sys; sys.exit(0 if float('$acc') > 0.8 else 1)" ||
  fail "logistic regression accuracy $acc"
again=$("$LOGREG" --epochs=10 --checkpoint_dir="$TMP/log" --resume)
echo "$again" | grep -q '^resumed from' || fail "logreg did not resume"
[[ "$(echo "$again" | tail -n 1)" == "$(echo "$out" | tail -n 1)" ]] ||
  fail "a resumed run with nothing left to do changed the model"

# 4. The committed GraphDef is the one the example writes, and rill trains it.
"$LOGREG" --samples=200 --write_graph="$TMP/logreg.pbtxt" >/dev/null ||
  fail "write_graph"
cmp -s "$TMP/logreg.pbtxt" examples/logistic_regression.pbtxt ||
  fail "examples/logistic_regression.pbtxt is stale: regenerate it"
json=$("$RILL" run examples/logistic_regression.pbtxt --init init \
  --target train --steps 200 --fetch loss --fetch accuracy --format json) ||
  fail "rill run logistic_regression.pbtxt: $json"
python3 - "$json" <<'PY' || fail "rill-trained logistic model: $json"
import json, sys
f = json.loads(sys.argv[1])["fetches"]
loss, acc = f["loss"]["values"][0], f["accuracy"]["values"][0]
print("rill run: loss %.4f accuracy %.3f" % (loss, acc))
sys.exit(0 if loss < 0.4 and acc > 0.8 else 1)
PY

# 5. The digits MLP reaches 95% test accuracy, and resumes.
out=$("$DIGITS" --data_dir=examples/data --epochs=15 --checkpoint_dir="$TMP/dig") ||
  fail "mlp_digits: $out"
echo "$out" | tail -n 1
[[ $(echo "$out" | grep -c '^epoch ') -eq 15 ]] || fail "digits: not 15 progress lines"
acc=$(echo "$out" | sed -n 's/^final test accuracy //p')
python3 -c "import sys; sys.exit(0 if float('$acc') >= 0.95 else 1)" ||
  fail "digits test accuracy $acc"
"$DIGITS" --data_dir=examples/data --epochs=8 --checkpoint_dir="$TMP/dig2" >/dev/null
resumed=$("$DIGITS" --data_dir=examples/data --epochs=15 --checkpoint_dir="$TMP/dig2" --resume)
[[ "$(echo "$resumed" | tail -n 1)" == "$(echo "$out" | tail -n 1)" ]] ||
  fail "resumed digits run differs: $(echo "$resumed" | tail -n 1)"

# 6. Bad input: one clear line, non-zero status.
if "$DIGITS" --data_dir="$TMP/nowhere" 2>"$TMP/err"; then
  fail "mlp_digits without data succeeded"
fi
grep -q "^mlp_digits: NOT_FOUND: .*nowhere/digits_train_x.npy" "$TMP/err" ||
  fail "missing data: $(cat "$TMP/err")"
if "$LINREG" --batch=0 2>"$TMP/err"; then fail "batch 0 accepted"; fi
grep -q "must be positive" "$TMP/err" || fail "batch 0: $(cat "$TMP/err")"
mkdir -p "$TMP/bad"
echo "garbage" >"$TMP/bad/model-1.index"
printf 'model_checkpoint_path: "model-1"\n' >"$TMP/bad/checkpoint"
if "$LINREG" --checkpoint_dir="$TMP/bad" --resume 2>"$TMP/err"; then
  fail "resuming from a corrupt checkpoint succeeded"
fi
grep -q "DATA_LOSS: none of the 1 checkpoints in .*bad restores (.*model-1.index is corrupt" "$TMP/err" ||
  fail "corrupt checkpoint: $(cat "$TMP/err")"

if [[ $failures -gt 0 ]]; then
  echo "$failures checks failed"
  exit 1
fi
echo "training examples test passed"
