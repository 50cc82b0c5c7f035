#!/usr/bin/env bash
# End-to-end tests of the `rill` program, run as a user runs it: real files,
# real exit codes, the one-line error on stderr (SPEC 3 and 6).
set -uo pipefail

RILL="$1"
DATA="tests/testdata"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"



# Every command answers --help with its own flags, exit 0.
for c in "inspect:GRAPH" "dot:GRAPH" "convert:IN OUT" "run:--feed" \
  "server:--cluster" "train:--scheme" "fit:--labels" "minimize:--loss"; do
  cmd="${c%%:*}"
  want="${c#*:}"
  expect_ok "$cmd --help" "$RILL" "$cmd" --help
  head -1 "$TMP/out" | grep -q "^usage: rill $cmd " ||
    fail "$cmd --help: no usage line"
  grep -q -- "$want" "$TMP/out" || fail "$cmd --help: no '$want'"
done
expect_ok "run GRAPH -h" "$RILL" run "$DATA/mlp_train.pb" -h
grep -q -- "--fetch NAME" "$TMP/out" || fail "run -h: no flags"

# inspect: every TensorFlow fixture validates.
for g in mlp_train.pb mlp_train.pbtxt resource_vars.pb convnet.pbtxt array_ops.pb; do
  expect_ok "inspect $g" "$RILL" inspect "$DATA/$g"
  grep -q "validation: ok" "$TMP/out" || fail "inspect $g: not validated"
done
"$RILL" inspect "$DATA/mlp_train.pb" >"$TMP/out"
grep -q "^nodes: 88$" "$TMP/out" || fail "inspect: node count"
grep -Eq "^  ApplyGradientDescent +4$" "$TMP/out" || fail "inspect: histogram"

# convert: .pb -> .pbtxt -> .pb is lossless, and the text form is readable.
expect_ok "convert to text" "$RILL" convert "$DATA/convnet.pb" "$TMP/c.pbtxt"
grep -q 'op: "Conv2D"' "$TMP/c.pbtxt" || fail "convert: text lacks Conv2D"
expect_ok "convert back" "$RILL" convert "$TMP/c.pbtxt" "$TMP/c.pb"
# Written GraphDefs are deterministic: a second round trip, and a second
# conversion of the same file, give the same bytes.
"$RILL" convert "$TMP/c.pb" "$TMP/c2.pbtxt" >/dev/null &&
  "$RILL" convert "$TMP/c2.pbtxt" "$TMP/c2.pb" >/dev/null ||
  fail "convert: second round trip"
cmp -s "$TMP/c.pb" "$TMP/c2.pb" || fail "convert round trip: other bytes"
"$RILL" convert "$DATA/tf_graphs/dynamic_rnn_lstm.pb" "$TMP/d1.pb" >/dev/null
"$RILL" convert "$DATA/tf_graphs/dynamic_rnn_lstm.pb" "$TMP/d2.pb" >/dev/null
cmp -s "$TMP/d1.pb" "$TMP/d2.pb" || fail "convert: bytes differ run to run"
"$RILL" inspect "$TMP/c.pb" >"$TMP/a"
"$RILL" inspect "$DATA/convnet.pb" >"$TMP/b"
diff <(tail -n +2 "$TMP/a") <(tail -n +2 "$TMP/b") >/dev/null ||
  fail "convert round trip changed the graph"

# dot: Graphviz text with the graph's edges.
expect_ok "dot" "$RILL" dot "$DATA/mlp_train.pbtxt"
head -1 "$TMP/out" | grep -q "^digraph rill {" || fail "dot: header"
[ "$(grep -c -- ' -> ' "$TMP/out")" -gt 80 ] || fail "dot: too few edges"

# Bad input: clear one-line errors, never a crash.
expect_error "no command" INVALID_ARGUMENT "missing command" "$RILL"
expect_error "unknown command" INVALID_ARGUMENT "frobnicate" "$RILL" frobnicate
expect_error "missing file" NOT_FOUND "/no/such.pb" "$RILL" inspect /no/such.pb
head -c 200 "$DATA/mlp_train.pb" >"$TMP/truncated.pb"
expect_error "truncated" INVALID_ARGUMENT "truncated.pb" "$RILL" inspect "$TMP/truncated.pb"
printf 'node { name: "a" op: "NoOp" \n  color: red }\n' >"$TMP/bad.pbtxt"
expect_error "bad text" INVALID_ARGUMENT "line 2" "$RILL" inspect "$TMP/bad.pbtxt"
printf 'node { name: "a" op: "Frobnicate" }\n' >"$TMP/unknown.pbtxt"
expect_error "unknown op" INVALID_ARGUMENT "Frobnicate" "$RILL" inspect "$TMP/unknown.pbtxt"
grep -q "validation: FAILED" "$TMP/out" || fail "unknown op: report lacks FAILED"
cat >"$TMP/cycle.pbtxt" <<'PB'
node { name: "a" op: "Identity" input: "b" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "b" op: "Identity" input: "a" attr { key: "T" value { type: DT_FLOAT } } }
PB
expect_error "cycle" INVALID_ARGUMENT "cycle" "$RILL" inspect "$TMP/cycle.pbtxt"
cat >"$TMP/shape.pbtxt" <<'PB'
node { name: "a" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
       attr { key: "shape" value { shape { dim { size: 2 } dim { size: 3 } } } } }
node { name: "mm" op: "MatMul" input: "a" input: "a" attr { key: "T" value { type: DT_FLOAT } } }
PB
expect_error "shape" INVALID_ARGUMENT "'mm' (MatMul)" "$RILL" inspect "$TMP/shape.pbtxt"
expect_error "convert usage" INVALID_ARGUMENT "usage" "$RILL" convert only-one.pb
expect_error "convert unwritable" PERMISSION_DENIED "cannot write" \
  "$RILL" convert "$DATA/convnet.pb" /no/such/dir/out.pb

finish cli_test
