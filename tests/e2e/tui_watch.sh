#!/bin/sh
# End-to-end test of `vggtop watch` on a run that another process is training: the dashboard follows it
# live from the run directory (progress, then each epoch), the report appears once an epoch has been
# evaluated, and the end of the run (stopped by Ctrl-C) shows as stopped.
set -u
. "$(dirname "$0")/tui_lib.inc"
tui_setup

run="$TMP/run"
# Many epochs, so the run is still going whatever the machine's speed; the test ends it with SIGINT.
"$VGGTOP" train --model mlp --epochs 500 --limit-train 10000 --limit-test 200 --run-dir "$run" > "$TMP/train.log" 2>&1 &
trainer=$!
end=$(($(date +%s) + 30))
while [ ! -f "$run/config.json" ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
[ -f "$run/config.json" ] || { echo "FAIL: vggtop train wrote no config.json:" >&2; cat "$TMP/train.log" >&2; exit 1; }

tui_start w 100 30 watch "$run"
tui_wait w "/500 epochs done" 20
tui_expect w "watching "

# Pause and stop belong to the process that trains: the watcher says so instead of pretending.
tui_keys w p
tui_expect w "control the run from the vggtop that trains it"
tui_keys w 3
tui_wait w "Report: 10 classes, 200 images" 90
tui_keys w 2
# The training process stops (Ctrl-C): the watcher follows it to the end.
kill -INT "$trainer"
wait "$trainer"
rc=$?
[ "$rc" -eq 130 ] || { echo "FAIL: the headless run exited $rc after SIGINT, not 130:" >&2; cat "$TMP/train.log" >&2; exit 1; }
tui_wait w "watching stopped" 30
tui_keys w p
tui_expect w "the watched run has ended"
tui_keys w q
end=$(($(date +%s) + 10))
while [ ! -s "$TMP/w.exit" ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
[ "$(cat "$TMP/w.exit" 2>/dev/null)" = 0 ] || tui_fail w "vggtop watch did not exit 0 after q"
echo "tui_watch: all passed"
