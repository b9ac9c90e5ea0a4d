#!/bin/sh
# End-to-end test of `vggtop watch` on a run that another process is training: the dashboard follows it
# live from the run directory (the trainer's CPU, memory, threads and img/s on its system line), its fixed header names the run (folder, state, process), it controls the run
# through commands.json (pause, learning rate, resume, stop after asking), the footer offers only what works,
# messages expire, the per-step curve of the epoch is in curve.csv for a later reattach, and a stopped run
# resumes from the watcher's Dashboard (Enter). Independent of the machine's speed: the run has far more
# epochs than the test lets it train, and it is paused before anything is compared.
. "$(dirname "$0")/lib/tui.sh"
trainer=
at_exit '[ -n "$trainer" ] && kill "$trainer" 2>/dev/null && wait "$trainer"'

run="$TMP/run"
"$VGGTOP" train --model mlp --epochs 500 --limit-train 10000 --limit-test 200 --run-dir "$run" > "$TMP/train.log" 2>&1 &
trainer=$!
end=$(($(date +%s) + 30))
while [ ! -f "$run/config.json" ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
[ -f "$run/config.json" ] || { cat "$TMP/train.log" >&2; fail "vggtop train wrote no config.json (its log above)"; }

tui_start w 100 30 watch "$run"
tui_wait w "/500 epochs done" 20
tui_expect w "watching training"
tui_expect w "$run · watching"
tui_expect w "pid $trainer"
tui_wait w "left · done ≈ " 20
tui_expect w "p Pause"
# The trainer's process beside it, from /proc: its CPU per core, memory, threads and throughput.
tui_wait w "img/s over the last minute" 10
tui_expect w "system: cpu "
tui_expect w " threads - "

# Pause through the run directory: acknowledged, the footer now offers Resume, the clock says it stopped.
tui_keys w p
tui_wait w "the run took pause" 30
tui_expect w "p Resume"
tui_expect w "paused: no time passes"
grep -q '"paused"' "$run/progress.json" || tui_fail w "progress.json does not say paused"
# The process shown is the holder of run.lock, not whatever pid progress.json claims (a copied directory's).
sed 's/"pid":[[:space:]]*[0-9]*/"pid": 4000000/' "$run/progress.json" > "$TMP/forged" && mv "$TMP/forged" "$run/progress.json"
grep -q '"pid": 4000000' "$run/progress.json" || tui_fail w "could not forge progress.json's pid"
sleep 2
grep -q '"pid": 4000000' "$run/progress.json" || tui_fail w "the paused trainer rewrote progress.json"
tui_reject w "pid 4000000"
tui_expect w "pid $trainer"
# The epoch's whole curve so far is in curve.csv, from its first step (none when the pause came first).
at=$(sed -n 's/^[[:space:]]*"batch":[[:space:]]*\([0-9]*\),$/\1/p' "$run/progress.json")
case "$at" in
'') tui_fail w "progress.json has no batch: $(cat "$run/progress.json")" ;;
0) [ "$(wc -l < "$run/curve.csv")" -le 1 ] || tui_fail w "curve.csv has steps before the epoch's first: $(head -3 "$run/curve.csv")" ;;
*) [ "$(sed -n 2p "$run/curve.csv" | cut -d, -f2)" = 1 ] || tui_fail w "curve.csv does not start at step 1: $(head -3 "$run/curve.csv")" ;;
esac
# A message expires (it used to stay for good).
sleep 6
tui_reject w "the run took pause"
tui_keys w +
tui_wait w "the run took lr" 30
tui_expect w "lr: 0.02"
# Another sender's turn (a vggtop ctl waiting for its acknowledgement holds it): the front end does not wait
# it out with a frozen screen (it did, for up to 10 s), it says so at once and sends nothing.
flock -o "$run" sleep 8 &
holder=$!
sleep 0.5
tui_keys w -
tui_wait w "another vggtop is sending it a command" 3
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
tui_expect w "lr: 0.02"
tui_keys w p
tui_wait w "the run took resume" 30
tui_keys w 3
tui_wait w "Report: 10 classes, 200 images" 90
tui_keys w 2
tui_wait w "best val_acc" 10

# Stop asks first; n keeps the run going.
tui_keys w S
tui_expect w "Stop the run after this step and save a checkpoint? y/n"
tui_keys w n
tui_expect w "not stopping"
kill -0 "$trainer" || tui_fail w "the run ended after n"
tui_keys w S
tui_keys w y
wait "$trainer"
rc=$?
trainer=
[ "$rc" -eq 0 ] || { cat "$TMP/train.log" >&2; fail "the headless run exited $rc after a stop from watch, not 0 (its log above)"; }
tui_wait w "watching stopped" 30
tui_reject w "p Pause"
tui_reject w "ETA"
tui_keys w p
tui_expect w "the run has ended: Enter resumes it"

# Enter resumes the stopped run in this front end; q asks, y stops it again with a checkpoint.
tui_keys w Enter
tui_wait w "live training" 60
tui_keys w q
tui_expect w "Quit and stop it"
tui_keys w y
[ "$(tui_exited w 60)" = 0 ] || tui_fail w "vggtop watch did not exit 0 after q"
grep -q '"stopped"' "$run/progress.json" || { cat "$run/progress.json" >&2; fail "the resumed run did not stop with q (its progress.json above)"; }
finish
