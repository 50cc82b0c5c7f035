#!/usr/bin/env bash
# End-to-end tests of `rill run` (SPEC 3), run as a user runs it.
#
# The main check trains logreg_train.pb, a graph TensorFlow wrote, with the
# feeds in logreg_train_expected.json, and compares each step's loss with
# the losses TensorFlow computed for the same graph and feeds (written by
# tests/testdata/make_tf_graphs.py).
set -uo pipefail

RILL="$1"
DATA="tests/testdata"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

# Feeds from the expected-values file, as --feed NAME=JSON arguments.
read -r X Y W0 < <(python3 - "$DATA/logreg_train_expected.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps(d["x"], separators=(",", ":")), json.dumps(d["y"], separators=(",", ":")),
      json.dumps(d["w0"], separators=(",", ":")))
PY
)

# 1. Training a TensorFlow-written graph matches TensorFlow step by step.
if ! "$RILL" run "$DATA/logreg_train.pb" --init init --feed "zeros=$W0" \
    --feed "x=$X" --feed "y=$Y" --target train --fetch loss --steps 5 --every 1 \
    >"$TMP/steps" 2>"$TMP/err"; then
  fail "training run: $(cat "$TMP/err")"
fi
python3 - "$TMP/steps" "$DATA/logreg_train_expected.json" <<'PY' || fail "losses differ from TensorFlow's"
import json, re, sys
got = [float(m.group(1)) for m in re.finditer(r"loss = float32 \[\] \[([^\]]+)\]", open(sys.argv[1]).read())]
want = json.load(open(sys.argv[2]))["losses"]
assert len(got) == len(want), (got, want)
for g, w in zip(got, want):
    assert abs(g - w) <= 1e-4 * max(1.0, abs(w)), (got, want)
print("losses match TensorFlow:", got)
PY

# 1a. rill minimize adds Adam to the graph TensorFlow wrote (its own
# gradient-descent updates stay); with the slots' initializers run once,
# Adam's train op lowers the loss.
expect_ok "minimize" "$RILL" minimize "$DATA/logreg_train.pb" --loss loss \
  --optimizer adam --lr 0.1 --out "$TMP/adam.pb"
cp "$TMP/out" "$TMP/adam.json"
[ "$(json_field "$TMP/adam.json" 'd["train_op"]')" = Adam ] ||
  fail "minimize: train_op is not Adam: $(cat "$TMP/adam.json")"
[ "$(json_field "$TMP/adam.json" 'sorted(d["variables"])')" = "['b', 'w']" ] ||
  fail "minimize: variables: $(cat "$TMP/adam.json")"
inits=$(json_field "$TMP/adam.json" \
  '" ".join("--init " + n for n in d["initializers"])')
[ "$(echo "$inits" | wc -w)" -eq 12 ] || fail "minimize: initializers: $inits"
# shellcheck disable=SC2086
"$RILL" run "$TMP/adam.pb" --init init $inits --feed "zeros=$W0" \
  --feed "x=$X" --feed "y=$Y" --target Adam --fetch loss --steps 30 \
  --every 10 >"$TMP/adam_steps" 2>"$TMP/err" ||
  fail "adam run: $(cat "$TMP/err")"
python3 - "$TMP/adam_steps" "$TMP/steps" <<'PY' || fail "Adam did not train"
import re, sys
losses = lambda p: [float(m) for m in re.findall(r"loss = float32 \[\] \[([^\]]+)\]", open(p).read())]
adam, first = losses(sys.argv[1]), losses(sys.argv[2])[0]
assert len(adam) == 3 and adam[0] > adam[1] > adam[2] and adam[2] < 0.3 * first, (adam, first)
PY
expect_error "minimize: no such loss" NOT_FOUND "no node 'nope'" \
  "$RILL" minimize "$DATA/logreg_train.pb" --loss nope --out "$TMP/o.pb"
expect_error "minimize: not a variable" INVALID_ARGUMENT "not a variable" \
  "$RILL" minimize "$DATA/logreg_train.pb" --loss loss --var MatMul \
  --out "$TMP/o.pb"
expect_error "minimize: no variable reaches the loss" INVALID_ARGUMENT \
  "no floating-point variable" \
  "$RILL" minimize "$DATA/logreg_train.pb" --loss x --out "$TMP/o.pb"
expect_error "minimize: optimizer" INVALID_ARGUMENT "sgd, momentum" \
  "$RILL" minimize "$DATA/logreg_train.pb" --loss loss --optimizer lbfgs \
  --out "$TMP/o.pb"
expect_error "minimize: usage" INVALID_ARGUMENT "usage" \
  "$RILL" minimize "$DATA/logreg_train.pb" --loss loss

# 1b. --devices CPU=2 gives the same results (nothing pinned: one partition).
"$RILL" run "$DATA/logreg_train.pb" --devices CPU=2 --init init --feed "zeros=$W0" \
    --feed "x=$X" --feed "y=$Y" --target train --fetch loss --steps 5 --every 1 \
    >"$TMP/steps2" 2>"$TMP/err" || fail "two-device run: $(cat "$TMP/err")"
diff "$TMP/steps" "$TMP/steps2" >/dev/null || fail "two devices differ from one"

# 1c. A graph pinned across two CPU devices: tensors and a control edge
# cross via _Send/_Recv; with one device the requests for CPU:1 are softly
# placed on CPU:0 and the results must be the same.
cat >"$TMP/pinned.pbtxt" <<'PB'
node { name: "x" op: "Placeholder" device: "/device:CPU:0" attr { key: "dtype" value { type: DT_FLOAT } } }
node { name: "w" op: "VariableV2" device: "/device:CPU:1" attr { key: "dtype" value { type: DT_FLOAT } }
       attr { key: "shape" value { shape { dim { size: 2 } } } } }
node { name: "init" op: "Assign" input: "w" input: "x" device: "/device:CPU:1" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "sq" op: "Square" input: "x" device: "/device:CPU:0" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "prod" op: "Mul" input: "sq" input: "w" device: "/device:CPU:1" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "total" op: "Sum" input: "prod" input: "axis" device: "/device:CPU:0" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "axis" op: "Const" device: "/device:CPU:0" attr { key: "dtype" value { type: DT_INT32 } }
       attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape {} int_val: 0 } } } }
node { name: "done" op: "NoOp" input: "^init" device: "/device:CPU:0" }
PB
for devices in CPU=1 CPU=2; do
  "$RILL" run "$TMP/pinned.pbtxt" --devices "$devices" --init init --init done \
      --feed "x=[2, 3]" --fetch total --format json >"$TMP/pinned_$devices" 2>"$TMP/err" ||
    fail "pinned graph on $devices: $(cat "$TMP/err")"
done
grep -q '"values": \[35\]' "$TMP/pinned_CPU=2" || fail "pinned graph: $(cat "$TMP/pinned_CPU=2")"
diff "$TMP/pinned_CPU=1" "$TMP/pinned_CPU=2" >/dev/null || fail "pinned graph differs across device counts"
"$RILL" run "$TMP/pinned.pbtxt" --devices CPU=2 --feed "x=[2, 3]" --fetch total --trace "$TMP/t2.json" \
    --init init >/dev/null 2>"$TMP/err" || fail "pinned trace: $(cat "$TMP/err")"
grep -q '"_Send"' "$TMP/t2.json" && grep -q '"_Recv"' "$TMP/t2.json" || fail "no _Send/_Recv ran"

# 1d. Resource variables (TensorFlow 2's VarHandleOp/ReadVariableOp/
# AssignVariableOp/AssignAddVariableOp) in a graph TensorFlow wrote: with
# x the identity, y = x v^T reads v^T; each step adds ones to v.
"$RILL" run "$DATA/resource_vars.pb" --init init --feed 'x=[[1,0],[0,1]]' \
    --target AssignAddVariableOp --steps 3 >/dev/null 2>"$TMP/err" ||
  fail "resource variables: $(cat "$TMP/err")"
"$RILL" run "$DATA/resource_vars.pb" --init init --feed 'x=[[1,0],[0,1]]' \
    --fetch out --format json >"$TMP/res" 2>"$TMP/err" || fail "resource read: $(cat "$TMP/err")"
grep -q '"values": \[1, 3, 2, 4\]' "$TMP/res" || fail "resource read: $(cat "$TMP/res")"

# 1e. The convnet TensorFlow wrote (Conv2D SAME, MaxPool, AvgPool SAME,
# Reshape, Softmax) runs: 8 rows of probabilities that sum to 1. (By hand,
# against TensorFlow 2.21 on random images: max abs difference 1.1e-8.)
python3 - "$TMP/images.npy" <<'PY'
import random, struct, sys
random.seed(3)
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 28, 28, 1), }"
header += " " * (63 - (10 + len(header)) % 64) + "\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(struct.pack("<%df" % (8 * 28 * 28), *[random.random() for _ in range(8 * 28 * 28)]))
PY
"$RILL" run "$DATA/convnet.pb" --feed "images=@$TMP/images.npy" --fetch probs --format json \
    >"$TMP/conv" 2>"$TMP/err" || fail "convnet: $(cat "$TMP/err")"
python3 - "$TMP/conv" <<'PY' || fail "convnet output"
import json, sys
p = json.load(open(sys.argv[1]))["fetches"]["probs"]
assert p["shape"] == [8, 196], p["shape"]
v = p["values"]
for r in range(8):
    assert abs(sum(v[r * 196:(r + 1) * 196]) - 1.0) < 1e-4
PY

# 1f. A node outside what the fetches need never fails the step, even one
# no kernel can run (Selu on half floats): the step is pruned first; asked
# for, it is a clear error naming it.
cat >"$TMP/prune.pbtxt" <<'PB'
node { name: "x" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
       attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 2 } } float_val: 1 float_val: 2 } } } }
node { name: "h" op: "Cast" input: "x" attr { key: "SrcT" value { type: DT_FLOAT } }
       attr { key: "DstT" value { type: DT_HALF } } }
node { name: "s" op: "Selu" input: "h" attr { key: "T" value { type: DT_HALF } } }
node { name: "y" op: "Square" input: "x" attr { key: "T" value { type: DT_FLOAT } } }
PB
out=$("$RILL" run "$TMP/prune.pbtxt" --fetch y 2>&1) || fail "pruned run: $out"
[ "$out" = "y = float32 [2] [1, 4]" ] || fail "pruned run printed: $out"
expect_error "no kernel" INVALID_ARGUMENT "s (Selu)" \
  "$RILL" run "$TMP/prune.pbtxt" --fetch s

# Strings in --format json are valid JSON (a serialized Summary's bytes).
out=$("$RILL" run tests/testdata/tf_graphs/summaries.pb --fetch summary \
  --format json) || fail "summary fetch: $out"
python3 -c 'import json, sys; v = json.loads(sys.argv[1])["fetches"]["summary"]["values"][0]; assert "mean" in v, v' "$out" ||
  fail "summary JSON: $out"

# 2. --format json prints exactly one JSON object with the fetches.
"$RILL" run "$DATA/logreg_train.pb" --init init --feed "x=$X" --feed "y=$Y" \
  --fetch loss --fetch prediction --fetch logits:0 --format json >"$TMP/json" 2>"$TMP/err" ||
  fail "json run: $(cat "$TMP/err")"
python3 - "$TMP/json" <<'PY' || fail "json output"
import json, sys
text = open(sys.argv[1]).read()
d = json.loads(text)
f = d["fetches"]
assert set(f) == {"loss", "prediction", "logits:0"}, f
assert f["loss"]["dtype"] == "float32" and f["loss"]["shape"] == []
assert f["prediction"]["dtype"] == "int64" and f["prediction"]["shape"] == [8]
assert f["logits:0"]["shape"] == [8, 3] and len(f["logits:0"]["values"]) == 24
# Zero weights give uniform predictions: every logit is 0, loss is ln 3.
assert abs(f["loss"]["values"][0] - 1.0986123) < 1e-5, f["loss"]
PY

# 3. --trace writes a Chrome trace of the last step.
"$RILL" run "$DATA/logreg_train.pb" --init init --feed "x=$X" --feed "y=$Y" \
  --target train --steps 2 --trace "$TMP/trace.json" >/dev/null 2>"$TMP/err" ||
  fail "trace run: $(cat "$TMP/err")"
python3 - "$TMP/trace.json" <<'PY' || fail "trace file"
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
nodes = [e for e in events if e["ph"] == "X"]
names = {e["name"] for e in nodes}
assert "train/update_w/ApplyGradientDescent" in names, sorted(names)[:10]
assert all(e["dur"] >= 0 and e["pid"] == 0 for e in nodes)
# One process, named by the device the nodes ran on.
procs = [e for e in events if e["ph"] == "M"]
assert [p["args"]["name"] for p in procs] == [
    "/job:localhost/replica:0/task:0/device:CPU:0"], procs
PY

# 4. .npy feeds.
python3 - "$TMP" "$X" <<'PY'
import json, struct, sys
rows = json.loads(sys.argv[2])
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (len(rows), len(rows[0]))
header += " " * (63 - (10 + len(header)) % 64) + "\n"
with open(sys.argv[1] + "/x.npy", "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    for r in rows:
        f.write(struct.pack("<%df" % len(r), *r))
PY
"$RILL" run "$DATA/logreg_train.pb" --init init --feed "x=@$TMP/x.npy" --feed "y=$Y" \
  --fetch loss >"$TMP/npy" 2>"$TMP/err" || fail "npy feed: $(cat "$TMP/err")"
grep -q "^loss = float32 \[\] \[1.09861\]" "$TMP/npy" || fail "npy feed result: $(cat "$TMP/npy")"

# 4b. String feeds and fetches: JSON strings, .npy of bytes (|S) and of str (<U).
cat >"$TMP/strings.pbtxt" <<'PB'
node { name: "s" op: "Placeholder" attr { key: "dtype" value { type: DT_STRING } } }
node { name: "n" op: "StringLength" input: "s" attr { key: "unit" value { s: "UTF8_CHAR" } } }
node { name: "bang" op: "Const" attr { key: "dtype" value { type: DT_STRING } }
  attr { key: "value" value { tensor { dtype: DT_STRING tensor_shape {} string_val: "!" } } } }
node { name: "j" op: "StringJoin" input: "s" input: "bang" attr { key: "N" value { i: 2 } } }
PB
"$RILL" run "$TMP/strings.pbtxt" --feed 's=["h\u00e9", "a\"b"]' --fetch n --fetch j \
  --format json >"$TMP/sjson" 2>"$TMP/err" || fail "string JSON feed: $(cat "$TMP/err")"
python3 - "$TMP/sjson" <<'PY' || fail "string JSON feed result: $(cat "$TMP/sjson")"
import json, sys
got = json.load(open(sys.argv[1]))["fetches"]
assert got["n"]["values"] == [2, 3], got
assert got["j"]["values"] == ["h\u00e9!", 'a"b!'], got
PY
python3 - "$TMP" <<'PY'
import struct, sys
def npy(path, descr, n, data):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }" % (descr, n)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)
npy(sys.argv[1] + "/bytes.npy", "|S3", 2, b"ab\x00xyz")
npy(sys.argv[1] + "/text.npy", "<U2", 2, struct.pack("<4I", 0xe9, 0, 0x20ac, ord("a")))
PY
"$RILL" run "$TMP/strings.pbtxt" --feed "s=@$TMP/bytes.npy" --fetch n >"$TMP/snpy" 2>"$TMP/err" ||
  fail "bytes npy feed: $(cat "$TMP/err")"
grep -q "^n = int32 \[2\] \[2, 3\]" "$TMP/snpy" || fail "bytes npy result: $(cat "$TMP/snpy")"
"$RILL" run "$TMP/strings.pbtxt" --feed "s=@$TMP/text.npy" --fetch n >"$TMP/snpy" 2>"$TMP/err" ||
  fail "str npy feed: $(cat "$TMP/err")"
grep -q "^n = int32 \[2\] \[1, 2\]" "$TMP/snpy" || fail "str npy result: $(cat "$TMP/snpy")"
expect_error "string feed of a number" INVALID_ARGUMENT "expected a string" \
  "$RILL" run "$TMP/strings.pbtxt" --feed 's=[1]' --fetch n

# 5. Errors: one line, the right code, naming what is wrong.
G="$DATA/logreg_train.pb"
expect_error "missing feed" INVALID_ARGUMENT "must feed a value for placeholder" "$RILL" run "$G" --init init --fetch loss
expect_error "uninitialized" FAILED_PRECONDITION "uninitialized value [wb] in node" \
  "$RILL" run "$G" --feed "x=$X" --fetch logits
expect_error "unknown fetch" NOT_FOUND "nope" "$RILL" run "$G" --fetch nope
expect_error "bad feed json" INVALID_ARGUMENT "--feed x" "$RILL" run "$G" --feed "x=[[1,2" --fetch logits
expect_error "ragged feed" INVALID_ARGUMENT "ragged" "$RILL" run "$G" --feed "x=[[1,2],[3]]" --fetch logits
expect_error "wrong dtype feed" INVALID_ARGUMENT "integer" "$RILL" run "$G" --feed "y=[1.5]" --fetch loss
expect_error "shape mismatch" INVALID_ARGUMENT "MatMul" \
  "$RILL" run "$G" --init init --feed "x=[[1,2,3]]" --fetch logits
expect_error "unknown feed node" NOT_FOUND "ghost" "$RILL" run "$G" --feed "ghost=1" --fetch loss
expect_error "bad steps" INVALID_ARGUMENT "--steps" "$RILL" run "$G" --fetch loss --steps 0
expect_error "unknown flag" INVALID_ARGUMENT "--bogus" "$RILL" run "$G" --bogus 1
expect_error "nothing to run" INVALID_ARGUMENT "nothing to run" "$RILL" run "$G"
expect_error "missing npy" NOT_FOUND "missing.npy" "$RILL" run "$G" --feed "x=@/no/missing.npy" --fetch logits
expect_error "uninitialized resource" FAILED_PRECONDITION "uninitialized" \
  "$RILL" run "$DATA/resource_vars.pb" --feed 'x=[[1,0],[0,1]]' --fetch out
expect_error "zero devices" INVALID_ARGUMENT "--devices" "$RILL" run "$G" --fetch loss --devices CPU=0
expect_error "master" UNAVAILABLE "no master answered at localhost:1" "$RILL" run "$G" --fetch loss --master grpc://localhost:1

finish run_test
