#!/bin/sh
# End-to-end test of `vggtop ctl`: a headless `vggtop train` controlled from another process through its run
# directory. Pause holds the step count still, lr changes the rate (the next history rows say so), resume goes
# on, stop ends the run with a checkpoint (exit 0, no signal). A run no process trains, a bad command and a bad
# rate are one line each and exit 2. Independent of the machine's speed: the run has far more epochs than
# the test lets it train.
. "$(dirname "$0")/lib/prologue.sh"
FAIL_FAST=1
trainer=
at_exit '[ -n "$trainer" ] && kill "$trainer" 2>/dev/null && wait "$trainer"'
at_exit '[ "$fails" -eq 0 ] || { [ -f "$TMP/train.log" ] && tail -5 "$TMP/train.log" >&2; }'
field() { sed -n "s/.*\"$1\":[[:space:]]*\\([^,]*\\),*\$/\\1/p" "$run/progress.json" | tr -d '"' | head -1; }

run="$TMP/run"
"$VGGTOP" train --model mlp --epochs 500 --limit-train 10000 --limit-test 200 --run-dir "$run" > "$TMP/train.log" 2>&1 &
trainer=$!
end=$(($(date +%s) + 60))
while [ "$(field state 2>/dev/null)" != training ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
[ "$(field state)" = training ] || fail "the run did not start training"

out=$("$VGGTOP" ctl "$run" pause) || fail "ctl pause exited $?: $out"
echo "$out" | grep -q "paused" || fail "ctl pause says: $out"
[ "$(field state)" = paused ] || fail "progress.json says $(field state) after ctl pause"
b1=$(field batch)
sleep 1.5
b2=$(field batch)
[ "$b1" = "$b2" ] || fail "the batch moved from $b1 to $b2 while paused"
[ "$(field command_ack)" -ge 1 ] || fail "no command_ack in progress.json"

out=$("$VGGTOP" ctl "$run" lr 0.037) || fail "ctl lr exited $?: $out"
echo "$out" | grep -q "0.037" || fail "ctl lr says: $out"
[ "$(field lr)" = 0.037 ] || fail "progress.json's lr is $(field lr), not 0.037"

# Bad commands: one line, exit 2, nothing sent.
ack=$(field command_ack)
"$VGGTOP" ctl "$run" lr 50 > "$TMP/out" 2>&1; rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l < "$TMP/out")" -eq 1 ] && grep -q "lr: '50'" "$TMP/out" || fail "ctl lr 50: exit $rc: $(cat "$TMP/out")"
"$VGGTOP" ctl "$run" jump > "$TMP/out" 2>&1; rc=$?
[ "$rc" -eq 2 ] && grep -q "unknown command 'jump'" "$TMP/out" || fail "ctl jump: exit $rc: $(cat "$TMP/out")"
"$VGGTOP" ctl "$run" > "$TMP/out" 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "ctl without a command exited $rc"
[ "$(field command_ack)" = "$ack" ] || fail "a refused command reached the run"

out=$("$VGGTOP" ctl "$run" resume) || fail "ctl resume exited $?: $out"
end=$(($(date +%s) + 30))
while [ "$(field batch)" = "$b2" ] && [ "$(field state)" = training ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
[ "$(field state)" != paused ] || fail "still paused after ctl resume"

out=$("$VGGTOP" ctl "$run" stop) || fail "ctl stop exited $?: $out"
echo "$out" | grep -q "vggtop train --resume $run" || fail "ctl stop does not say how to continue: $out"
wait "$trainer"; rc=$?
trainer=
[ "$rc" -eq 0 ] || fail "vggtop train exited $rc after ctl stop, not 0"
[ -s "$run/checkpoint.bin" ] || fail "no checkpoint after ctl stop"
[ "$(field state)" = stopped ] || fail "progress.json says $(field state) after ctl stop"

# The run has ended: refused, naming the directory and the way on.
"$VGGTOP" ctl "$run" pause > "$TMP/out" 2>&1; rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l < "$TMP/out")" -eq 1 ] && grep -q "no process is training" "$TMP/out" || fail "ctl on an ended run: exit $rc: $(cat "$TMP/out")"
"$VGGTOP" ctl "$TMP/nope" pause > "$TMP/out" 2>&1; rc=$?
[ "$rc" -eq 2 ] && grep -q "nope" "$TMP/out" || fail "ctl on a missing directory: exit $rc: $(cat "$TMP/out")"

# The channel against other senders and between sessions (issue 22). An earlier session's commands.json with
# the largest seq jams nothing; a command sent while a resume still loads its data is taken, not dropped.
printf '{"seq": 999999999999999, "command": "pause", "pid": 1}\n' > "$run/commands.json"
"$VGGTOP" train --resume "$run" --epochs 500 > "$TMP/train.log" 2>&1 &
trainer=$!
end=$(($(date +%s) + 30))
# Until the trainer holds run.lock, seen in /proc/locks (trying the lock here would race with the trainer's own
# non-blocking try and make it refuse the run as "in use").
held() { i=$(stat -c %i "$run/run.lock" 2>/dev/null) && grep -q ":$i " /proc/locks; }
while ! held && [ "$(date +%s)" -le "$end" ]; do sleep 0.01; done
out=$("$VGGTOP" ctl --wait 60 "$run" lr 0.021 2>&1) || fail "ctl lr while the resume loads exited $?: $out"
[ "$(field lr)" = 0.021 ] || fail "ctl lr while the resume loads: acknowledged, but the rate is $(field lr): $out"
# Not paused (training, or evaluating when an epoch just ended: this mlp run's epochs take about a second).
st=$(field state)
[ "$st" = training ] || [ "$st" = evaluating ] || fail "the stale pause was taken: $st"
# Two senders at once: each command is its own seq, and each one reported taken was taken.
ack=$(field command_ack)
"$VGGTOP" ctl "$run" lr 0.031 > "$TMP/out1" 2>&1 & p1=$!
"$VGGTOP" ctl "$run" lr 0.032 > "$TMP/out2" 2>&1 & p2=$!
wait $p1 || fail "ctl lr 0.031 beside another: exit $? $(cat "$TMP/out1")"
wait $p2 || fail "ctl lr 0.032 beside another: exit $? $(cat "$TMP/out2")"
[ "$(field command_ack)" -eq $((ack + 2)) ] || fail "two senders: ack went from $ack to $(field command_ack), not by 2"
"$VGGTOP" ctl "$run" stop > "$TMP/out" 2>&1 || fail "ctl stop after the resume: $(cat "$TMP/out")"
wait "$trainer"
trainer=
# A run held by evaluate is not controlled, and the refused command leaves nothing behind.
cp "$run/commands.json" "$TMP/commands.before"
printf '%d evaluated\n' $$ > "$run/run.lock"
flock "$run/run.lock" sleep 5 &
holder=$!
sleep 0.3
"$VGGTOP" ctl --wait 2 "$run" pause > "$TMP/out" 2>&1; rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
[ "$rc" -eq 2 ] && grep -q "being evaluated" "$TMP/out" || fail "ctl on a run held by evaluate: exit $rc: $(cat "$TMP/out")"
cmp -s "$run/commands.json" "$TMP/commands.before" || fail "a refused ctl changed commands.json"
finish
