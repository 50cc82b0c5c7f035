#!/usr/bin/env bash
# Server security and limits as users run them (SPEC 10), with `rill
# server` processes on loopback:
#  1. --auth_token_file: calls without the token, or with another, are
#     UNAUTHENTICATED (clients, raw gRPC calls, `rill health`); the tasks'
#     own calls to each other carry it, so a step across tasks runs.
#  2. TLS with mutual authentication (a CA and certificates made here with
#     openssl): clients with the certificates run steps, plaintext clients
#     and clients with a certificate from another CA do not.
#  3. --file_root: SaveV2/RestoreV2 inside it work; outside it, `..` and a
#     link out included, PERMISSION_DENIED naming the path.
#  4. --max_sessions, --memory_limit, --bind, and `rill health`.
set -uo pipefail

RILL=$(realpath "$1")
RAW=$(realpath "$2")
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
trap kill_started EXIT

# start LOG ARGS...: a server in the background; waits until it serves.
start() {
  local log=$1
  shift
  "$RILL" server "$@" >"$log" 2>&1 &
  pids+=($!)
  wait_serving "$log" "a server ($*)"
}

# A step across two tasks: a constant on the ps, the sum on the worker.
cat >"$TMP/across.pbtxt" <<'PB'
node { name: "a" op: "Const" device: "/job:ps/task:0"
  attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: 2 } } } }
node { name: "b" op: "Add" input: "a" input: "a" device: "/job:worker/task:0"
  attr { key: "T" value { type: DT_FLOAT } } }
PB
echo "s3cret-token-1" >"$TMP/token"
echo "another-token" >"$TMP/other"

# 1. Auth tokens.
read -r P0 P1 < <(free_ports 2)
C1="{\"ps\": [\"localhost:$P0\"], \"worker\": [\"localhost:$P1\"]}"
start "$TMP/t0.log" --cluster "$C1" --job ps --task 0 --auth_token_file "$TMP/token"
start "$TMP/t1.log" --cluster "$C1" --job worker --task 0 --auth_token_file "$TMP/token"
expect_ok "step with the token" "$RILL" run "$TMP/across.pbtxt" --fetch b \
  --master "grpc://localhost:$P1" --auth_token_file "$TMP/token"
grep -q "b = float32 \[\] \[4\]" "$TMP/out" || fail "step with the token: $(cat "$TMP/out")"
expect_error "step without a token" UNAUTHENTICATED "auth token" \
  "$RILL" run "$TMP/across.pbtxt" --fetch b --master "grpc://localhost:$P1"
expect_error "step with another token" UNAUTHENTICATED "auth token" \
  "$RILL" run "$TMP/across.pbtxt" --fetch b --master "grpc://localhost:$P0" \
  --auth_token_file "$TMP/other"
for method in MasterService/CreateSession MasterService/Reset \
  WorkerService/GetStatus WorkerService/CleanupAll WorkerService/RecvTensor; do
  got=$("$RAW" "localhost:$P0" "/tensorflow.$method" empty)
  [[ "$got" == UNAUTHENTICATED:* ]] || fail "raw $method without a token: $got"
done
expect_ok "health with the token" "$RILL" health "grpc://localhost:$P0" \
  --auth_token_file "$TMP/token"
grep -q "^ok: " "$TMP/out" || fail "health: $(cat "$TMP/out")"
expect_error "health without a token" UNAUTHENTICATED "auth token" \
  "$RILL" health "grpc://localhost:$P0"
expect_error "missing token file" INVALID_ARGUMENT "--auth_token_file" \
  "$RILL" health "grpc://localhost:$P0" --auth_token_file "$TMP/nope"

# 2. TLS, mutual: one CA signs the tasks' and the clients' certificates.
openssl_quiet() { openssl "$@" >/dev/null 2>&1; }
make_ca() {  # DIR
  mkdir -p "$1"
  openssl_quiet req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Rill test CA" \
    -keyout "$1/ca.key" -out "$1/ca.pem"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$1/san.ext"
  openssl_quiet req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$1/node.key" -out "$1/node.csr"
  openssl_quiet x509 -req -in "$1/node.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" \
    -CAcreateserial -days 2 -extfile "$1/san.ext" -out "$1/node.pem"
  [ -s "$1/node.pem" ] || fail "openssl could not make certificates in $1"
}
make_ca "$TMP/pki"
make_ca "$TMP/rogue"
TLS=(--tls_cert "$TMP/pki/node.pem" --tls_key "$TMP/pki/node.key" --tls_ca "$TMP/pki/ca.pem")
ROGUE=(--tls_cert "$TMP/rogue/node.pem" --tls_key "$TMP/rogue/node.key" --tls_ca "$TMP/pki/ca.pem")
read -r P2 P3 < <(free_ports 2)
C2="{\"ps\": [\"localhost:$P2\"], \"worker\": [\"localhost:$P3\"]}"
start "$TMP/s0.log" --cluster "$C2" --job ps --task 0 "${TLS[@]}" --auth_token_file "$TMP/token"
start "$TMP/s1.log" --cluster "$C2" --job worker --task 0 "${TLS[@]}" --auth_token_file "$TMP/token"
grep -q "TLS, auth token" "$TMP/s0.log" || fail "TLS server banner: $(cat "$TMP/s0.log")"
expect_ok "step over TLS" "$RILL" run "$TMP/across.pbtxt" --fetch b \
  --master "grpc://localhost:$P3" "${TLS[@]}" --auth_token_file "$TMP/token"
grep -q "b = float32 \[\] \[4\]" "$TMP/out" || fail "step over TLS: $(cat "$TMP/out")"
expect_ok "health over TLS" "$RILL" health "grpc://localhost:$P2" "${TLS[@]}" \
  --auth_token_file "$TMP/token"
expect_error "plaintext client of a TLS server" UNAVAILABLE "localhost:$P2" \
  "$RILL" health "grpc://localhost:$P2" --auth_token_file "$TMP/token" --timeout 3
expect_error "client certificate from another CA" UNAVAILABLE "localhost:$P2" \
  "$RILL" health "grpc://localhost:$P2" "${ROGUE[@]}" --auth_token_file "$TMP/token" \
  --timeout 3
expect_error "TLS needs all three files" INVALID_ARGUMENT "--tls_ca" \
  "$RILL" health "grpc://localhost:$P2" --tls_cert "$TMP/pki/node.pem"
expect_error "a certificate that is not PEM" INVALID_ARGUMENT "not PEM" \
  "$RILL" health "grpc://localhost:$P2" --tls_cert "$TMP/token" \
  --tls_key "$TMP/pki/node.key" --tls_ca "$TMP/pki/ca.pem"

# 3. --file_root: checkpoints inside it, nothing outside it.
mkdir -p "$TMP/root/ckpt" "$TMP/outside"
ln -sfn "$TMP/outside" "$TMP/root/escape"
save_graph() {  # PREFIX
  cat <<PB
node { name: "prefix" op: "Const" attr { key: "dtype" value { type: DT_STRING } }
  attr { key: "value" value { tensor { dtype: DT_STRING tensor_shape {} string_val: "$1" } } } }
node { name: "names" op: "Const" attr { key: "dtype" value { type: DT_STRING } }
  attr { key: "value" value { tensor { dtype: DT_STRING tensor_shape { dim { size: 1 } } string_val: "v" } } } }
node { name: "slices" op: "Const" attr { key: "dtype" value { type: DT_STRING } }
  attr { key: "value" value { tensor { dtype: DT_STRING tensor_shape { dim { size: 1 } } string_val: "" } } } }
node { name: "v" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 2 } } float_val: 1 float_val: 2 } } } }
node { name: "save" op: "SaveV2" input: "prefix" input: "names" input: "slices" input: "v"
  attr { key: "dtypes" value { list { type: DT_FLOAT } } } }
node { name: "restore" op: "RestoreV2" input: "prefix" input: "names" input: "slices"
  attr { key: "dtypes" value { list { type: DT_FLOAT } } } }
PB
}
read -r P4 < <(free_ports 1)
C3="{\"worker\": [\"localhost:$P4\"]}"
start "$TMP/f0.log" --cluster "$C3" --job worker --task 0 \
  --file_root "$TMP/root" --max_sessions 2 --memory_limit 64M --bind 127.0.0.1
grep -q "files under $TMP/root" "$TMP/f0.log" || fail "file root banner: $(cat "$TMP/f0.log")"
save_graph "$TMP/root/ckpt/model" >"$TMP/save_in.pbtxt"
expect_ok "save inside the root" "$RILL" run "$TMP/save_in.pbtxt" --target save \
  --master "grpc://localhost:$P4"
[ -s "$TMP/root/ckpt/model.index" ] || fail "no checkpoint written inside the root"
expect_ok "restore inside the root" "$RILL" run "$TMP/save_in.pbtxt" --fetch restore \
  --master "grpc://localhost:$P4"
grep -q "\[1, 2\]" "$TMP/out" || fail "restore inside the root: $(cat "$TMP/out")"
for bad in "$TMP/outside/model" "$TMP/root/ckpt/../../outside/model" \
  "$TMP/root/escape/model" "/etc/passwd" "../../../../../../etc/x"; do
  save_graph "$bad" >"$TMP/save_out.pbtxt"
  expect_error "save to $bad" PERMISSION_DENIED "outside this server's file root" \
    "$RILL" run "$TMP/save_out.pbtxt" --target save --master "grpc://localhost:$P4"
  expect_error "restore from $bad" PERMISSION_DENIED "--file_root" \
    "$RILL" run "$TMP/save_out.pbtxt" --fetch restore --master "grpc://localhost:$P4"
done
[ -z "$(ls -A "$TMP/outside")" ] || fail "files written outside the root: $(ls "$TMP/outside")"
expect_error "a file root that does not exist" INVALID_ARGUMENT "--file_root" \
  "$RILL" server --cluster "$C3" --job worker --task 0 --file_root "$TMP/nowhere"

# 4. Limits. Memory: a 400 MB Fill on a server limited to 64 MiB fails
#    naming the node.
cat >"$TMP/fill.pbtxt" <<'PB'
node { name: "dims" op: "Const" attr { key: "dtype" value { type: DT_INT32 } }
  attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape { dim { size: 2 } } int_val: 10000 int_val: 10000 } } } }
node { name: "one" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: 1 } } } }
node { name: "big" op: "Fill" input: "dims" input: "one"
  attr { key: "T" value { type: DT_FLOAT } } attr { key: "index_type" value { type: DT_INT32 } } }
node { name: "axes" op: "Const" attr { key: "dtype" value { type: DT_INT32 } }
  attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape { dim { size: 2 } } int_val: 0 int_val: 1 } } } }
node { name: "total" op: "Max" input: "big" input: "axes"
  attr { key: "T" value { type: DT_FLOAT } } attr { key: "Tidx" value { type: DT_INT32 } }
  attr { key: "keep_dims" value { b: false } } }
PB
expect_error "a tensor past the server's memory limit" RESOURCE_EXHAUSTED "node 'big'" \
  "$RILL" run "$TMP/fill.pbtxt" --fetch total --master "grpc://localhost:$P4"
grep -q "memory limit 67108864" "$TMP/err" || fail "the limit is not named: $(cat "$TMP/err")"
expect_error "the same in-process with --memory_limit" RESOURCE_EXHAUSTED "node 'big'" \
  "$RILL" run "$TMP/fill.pbtxt" --fetch total --memory_limit 100M
expect_ok "in-process under the default limit" "$RILL" run "$TMP/fill.pbtxt" --fetch total
grep -q "total = float32 \[\] \[1\]" "$TMP/out" || fail "max: $(cat "$TMP/out")"
expect_error "a bad --memory_limit" INVALID_ARGUMENT "--memory_limit" \
  "$RILL" run "$TMP/fill.pbtxt" --fetch total --memory_limit lots
# Sessions: two may be open; the third is refused, and the server still
#    serves.
got1=$("$RAW" "localhost:$P4" /tensorflow.MasterService/CreateSession empty)
got2=$("$RAW" "localhost:$P4" /tensorflow.MasterService/CreateSession empty)
got3=$("$RAW" "localhost:$P4" /tensorflow.MasterService/CreateSession empty)
[[ "$got1" == OK:* && "$got2" == OK:* ]] || fail "sessions under the limit: $got1 / $got2"
[[ "$got3" == RESOURCE_EXHAUSTED:*--max_sessions* ]] || fail "session past the limit: $got3"
expect_ok "health with sessions at the limit" "$RILL" health "grpc://localhost:$P4"
# --bind 127.0.0.1: not reachable on the host's other addresses.
other_ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -v '^127\.' | grep -v ':' | head -1)
if [ -n "$other_ip" ]; then
  if python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)' \
    "$other_ip" "$P4" 2>/dev/null; then
    fail "--bind 127.0.0.1 still accepts connections on $other_ip"
  fi
else
  echo "(no non-loopback address: the --bind check is skipped)"
fi
expect_error "health of nothing" UNAVAILABLE "localhost:1" \
  "$RILL" health grpc://localhost:1 --timeout 1

finish security_test
