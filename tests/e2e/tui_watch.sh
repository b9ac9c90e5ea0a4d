#!/bin/sh
# End-to-end test of `vggtop watch` on a run that another process is training: the dashboard follows it
# live from the run directory (progress, then each epoch), the report appears once an epoch has been
# evaluated, and the end of the run shows as finished.
set -u
. "$(dirname "$0")/tui_lib.inc"
tui_setup

run="$TMP/run"
"$VGGTOP" train --model mlp --epochs 3 --limit-train 10000 --limit-test 200 --run-dir "$run" > "$TMP/train.log" 2>&1 &
trainer=$!
end=$(($(date +%s) + 30))
while [ ! -f "$run/config.json" ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
[ -f "$run/config.json" ] || { echo "FAIL: vggtop train wrote no config.json:" >&2; cat "$TMP/train.log" >&2; exit 1; }

tui_start w 100 30 watch "$run"
tui_wait w "watching training" 20
tui_expect w "Epoch 1/3"
tui_wait w "1/3 epochs done" 90
tui_keys w 3
tui_expect w "Report: 10 classes, 200 images"
tui_keys w 2
tui_wait w "watching finished" 120
tui_expect w "3/3 epochs done"
wait "$trainer" || { echo "FAIL: the headless run failed:" >&2; cat "$TMP/train.log" >&2; exit 1; }
# Pause and stop belong to the process that trains: the watcher says so instead of pretending.
tui_keys w p
tui_expect w "control the run from the vggtop that trains it"
tui_keys w q
end=$(($(date +%s) + 10))
while [ ! -s "$TMP/w.exit" ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
[ "$(cat "$TMP/w.exit" 2>/dev/null)" = 0 ] || tui_fail w "vggtop watch did not exit 0 after q"
echo "tui_watch: all passed"
