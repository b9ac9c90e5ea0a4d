#!/bin/sh
# End-to-end test of a suspended run (Ctrl-Z, here SIGSTOP/SIGCONT as a shell's job control sends them to a
# background `vggtop train`): the 5 s it spends stopped count neither as elapsed nor as step time. Independent
# of the machine's speed: elapsed is compared with the wall time the test measures itself, less the stop.
. "$(dirname "$0")/lib/prologue.sh"
FAIL_FAST=1
trainer=
at_exit '[ -n "$trainer" ] && kill -CONT "$trainer" 2>/dev/null && kill "$trainer" 2>/dev/null && wait "$trainer"'
field() { sed -n "s/.*\"$1\":[[:space:]]*\\([^,]*\\),*\$/\\1/p" "$run/progress.json" | tr -d '"' | head -1; }

run="$TMP/run"
start=$(date +%s.%N)
"$VGGTOP" train --model mlp --epochs 500 --limit-train 10000 --limit-test 200 --run-dir "$run" > "$TMP/train.log" 2>&1 &
trainer=$!
end=$(($(date +%s) + 60))
while [ "$(field state 2>/dev/null)" != training ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
[ "$(field state)" = training ] || fail "the run did not start training"
kill -STOP "$trainer"
sleep 5
kill -CONT "$trainer"
sleep 1
"$VGGTOP" ctl "$run" pause > /dev/null || fail "ctl pause failed"
now=$(date +%s.%N)
elapsed=$(field elapsed)
# Without the fix elapsed is the wall time since the engine started (at least wall - 2 s of start-up);
# with it, the 5 s stopped are not in it.
awk -v e="$elapsed" -v s="$start" -v n="$now" 'BEGIN { exit !(e + 3.5 < n - s) }' ||
    fail "elapsed $elapsed s includes the 5 s the process was stopped (wall $(awk -v s="$start" -v n="$now" 'BEGIN { print n - s }') s)"
"$VGGTOP" ctl "$run" stop > /dev/null || fail "ctl stop failed"
wait "$trainer"
trainer=
finish
