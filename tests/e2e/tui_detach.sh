#!/bin/sh
# End-to-end test of the detach key: a run started in the front end goes on after d in a background
# `vggtop train --resume` (the front end exits 0 and prints the `vggtop watch` line to come back with), and
# `vggtop watch` on it shows the epoch's running curve from the start of the epoch (curve.csv), then stops
# it. Independent of the machine's speed: the run has far more epochs than the test lets it train.
. "$(dirname "$0")/lib/tui.sh"
bg=
at_exit '[ -n "$bg" ] && kill "$bg" 2>/dev/null'

runs="$TMP/runs"
tui_start ui 100 30 --runs "$runs"
tui_wait ui "Model and settings" 10
tui_keys ui Right
tui_expect ui "mlp ▸"
tui_field ui 4 500
tui_field ui 11 10000
tui_field ui 12 200
tui_keys ui Enter
tui_wait ui "live training" 30
tui_expect ui "D Detach"
dir=$(ls -d "$runs"/*-mlp 2>/dev/null | head -1)
[ -n "$dir" ] || tui_fail ui "no run directory in $runs"
tui_keys ui D
[ "$(tui_exited ui 60)" = 0 ] || tui_fail ui "the front end did not exit 0 after d"
grep -q "come back with:" "$TMP/ui.err" || tui_fail ui "no line to come back with"
grep -q "vggtop watch $dir" "$TMP/ui.err" || tui_fail ui "the watch line does not name $dir"
bg=$(sed -n 's/.*the run goes on in process \([0-9]*\).*/\1/p' "$TMP/ui.err")
[ -n "$bg" ] && kill -0 "$bg" 2>/dev/null || tui_fail ui "no background process goes on with the run"
end=$(($(date +%s) + 60))
while ! grep -q '"training"' "$dir/progress.json" && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
grep -q '"training"' "$dir/progress.json" || { cat "$dir/train.log" >&2; fail "the background run does not train (its log above)"; }
grep "\"pid\":" "$dir/progress.json" | grep -q "$bg" || fail "progress.json names another process"

# Reattach: the watcher controls it, and ctl from a script works on it too.
tui_start w 100 30 watch "$dir"
tui_wait w "watching training" 20
tui_expect w "pid $bg"
"$VGGTOP" ctl "$dir" pause > "$TMP/ctl.out" 2>&1 || fail "ctl pause: $(cat "$TMP/ctl.out")"
tui_wait w "watching paused" 20
tui_keys w D
[ "$(tui_exited w 20)" = 0 ] || tui_fail w "vggtop watch did not exit 0 after d"
grep -q "vggtop watch $dir" "$TMP/w.err" || tui_fail w "watch's D does not print the line to come back with"
kill -0 "$bg" 2>/dev/null || fail "the run ended when the watcher detached"
"$VGGTOP" ctl "$dir" stop > "$TMP/ctl.out" 2>&1 || fail "ctl stop: $(cat "$TMP/ctl.out")"
end=$(($(date +%s) + 30))
while kill -0 "$bg" 2>/dev/null && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
kill -0 "$bg" 2>/dev/null && fail "the background run did not stop"
bg=

# A FIFO in train.log's place: the background process cannot start (its output would block it, and the
# spawn with it: the front end hung), so the front end says how to go on, with the run's checkpoint kept.
runs2="$TMP/runs2"
tui_start f 100 30 --runs "$runs2"
tui_wait f "Model and settings" 10
tui_keys f Right
tui_field f 4 500
tui_field f 11 10000
tui_field f 12 200
tui_keys f Enter
tui_wait f "live training" 30
dir2=$(ls -d "$runs2"/*-mlp 2>/dev/null | head -1)
mkfifo "$dir2/train.log"
tui_keys f D
[ -n "$(tui_exited f 30)" ] || tui_fail f "the front end hung detaching onto a FIFO train.log"
grep -q "could not start the background process; continue the run with vggtop train --resume $dir2" \
    "$TMP/f.err" || tui_fail f "no line saying how to go on: $(cat "$TMP/f.err")"
[ -e "$dir2/checkpoint.bin" ] || tui_fail f "no checkpoint to go on from"
finish
