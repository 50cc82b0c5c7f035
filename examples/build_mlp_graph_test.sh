#!/usr/bin/env bash
# The example builds a graph that the rill CLI validates, in both formats.
set -euo pipefail
BUILD="$1"
RILL="$2"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"

"$BUILD" --out="$TMP/mlp.pbtxt" --hidden=32 | grep -q "wrote"
"$BUILD" --out="$TMP/mlp.pb" --hidden=32 >/dev/null
"$RILL" inspect "$TMP/mlp.pbtxt" >"$TMP/report"
grep -q "validation: ok" "$TMP/report"
grep -Eq "^  VariableV2 +4$" "$TMP/report"
"$RILL" inspect "$TMP/mlp.pb" | grep -q "validation: ok"
grep -q 'name: "hidden/w"' "$TMP/mlp.pbtxt"
grep -q 'loc:@logits/b' "$TMP/mlp.pbtxt"
if "$BUILD" --out=/no/such/dir/x.pb 2>"$TMP/err"; then
  echo "writing to a missing directory succeeded" >&2
  exit 1
fi
grep -q "cannot write" "$TMP/err"
echo "build_mlp_graph_test: ok"
