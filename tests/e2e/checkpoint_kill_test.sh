#!/usr/bin/env bash
# A process killed with SIGKILL while it writes a checkpoint leaves the
# previous checkpoint restorable (issue 4). checkpoint_writer saves a 64 MiB
# variable in a loop; it is killed at several points after its first saves,
# and each time a fresh process restores the latest checkpoint and checks
# every element.
set -uo pipefail

WRITER="$1"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
mid_write=0

for delay in 0.01 0.05 0.1 0.2 0.35; do
  dir="$TMP/kill_$delay"
  mkdir -p "$dir"
  log="$dir/log"
  "$WRITER" --dir="$dir" --mib=64 >"$log" 2>&1 &
  pid=$!
  # Wait for two completed saves, then kill at a point inside a later one.
  for _ in $(seq 1 600); do
    grep -q '^saved 2$' "$log" && break
    sleep 0.05
  done
  if ! grep -q '^saved 2$' "$log"; then
    fail "delay $delay: the writer never saved twice: $(cat "$log")"
    kill -9 "$pid" 2>/dev/null
    continue
  fi
  sleep "$delay"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  last=$(grep '^saved' "$log" | tail -n 1 | cut -d' ' -f2)
  if ls "$dir" | grep -q '\.tmp\.'; then
    mid_write=$((mid_write + 1))
  fi
  if ! out=$("$WRITER" --dir="$dir" --check 2>&1); then
    fail "delay $delay: restore after kill failed: $out"
    continue
  fi
  echo "delay $delay: killed after 'saved $last'; $out"
  step=$(echo "$out" | sed -n 's/^restored step \([0-9]*\) intact$/\1/p')
  # The latest listed checkpoint is the last one reported, or the one
  # whose rename landed just before the kill.
  if [[ -z "$step" || "$step" -lt "$last" ]]; then
    fail "delay $delay: restored step '$step' is older than the last saved $last"
  fi
  # Only the kept checkpoints (at most 2) and perhaps one partial temporary
  # file remain.
  count=$(ls "$dir" | grep -c '\.index$')
  if [[ "$count" -gt 3 ]]; then
    fail "delay $delay: $count checkpoint files left: $(ls "$dir")"
  fi
done

# The point: at least one kill landed inside a write.
if [[ $mid_write -eq 0 ]]; then
  fail "no kill landed while a checkpoint was being written"
fi
# A later save in the directory removes the dead writer's temporary file.
dir="$TMP/kill_0.01"
"$WRITER" --dir="$dir" --mib=1 >"$dir/log2" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  grep -q '^saved 1$' "$dir/log2" && break
  sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
if ls "$dir" | grep -q '\.tmp\.[0-9]*\.[0-9]*$' &&
   [[ $(ls "$dir" | grep -c '\.tmp\.') -gt 1 ]]; then
  fail "abandoned temporary files were not removed: $(ls "$dir")"
fi
echo "kills inside a write: $mid_write of 5"

finish checkpoint_kill_test
