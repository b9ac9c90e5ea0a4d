#!/bin/sh
# End-to-end test of a dropped SSH session: start a run in the front end inside tmux, kill the tmux server
# mid-run (the process gets SIGHUP as it would from sshd), check that the run goes on to its last epoch with
# its run directory kept current and the process exits 0, then that `vggtop watch RUN_DIR` shows it.
. "$(dirname "$0")/lib/tui.sh"

runs="$TMP/runs"
TUI_EXEC=1 tui_start ui 100 30 --runs "$runs"
tui_wait ui "Model and settings" 10
tui_keys ui Right
tui_expect ui "mlp ▸"
tui_field ui 4 20
tui_field ui 11 10000
tui_field ui 12 200
tui_expect ui "Epochs          20"
tui_keys ui Enter
tui_wait ui "/20 " 30
pid=$(cat "$TMP/ui.pid")
kill -0 "$pid" 2>/dev/null || tui_fail ui "no vggtop process"
dir=$(ls -d "$runs"/*-mlp 2>/dev/null | head -1)
[ -n "$dir" ] || fail "no run directory in $runs"
# The run must still be on its way when the terminal goes.
[ ! -f "$dir/history.csv" ] || [ "$(wc -l < "$dir/history.csv")" -lt 21 ] || tui_fail ui "the run ended before the hang-up: make it longer"

# The connection drops.
tmux -L "$SOCK" kill-server
sleep 1
kill -0 "$pid" 2>/dev/null || fail "vggtop died with its terminal"
end=$(($(date +%s) + 180))
while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -le "$end" ]; do sleep 0.5; done
kill -0 "$pid" 2>/dev/null && { kill "$pid"; fail "the run did not finish within 180 s after SIGHUP"; }
[ "$(wc -l < "$dir/history.csv")" -eq 21 ] || { cat "$dir/history.csv" >&2; fail "history.csv should hold 20 epochs (it is above)"; }
grep -q '"finished"' "$dir/progress.json" || { cat "$dir/progress.json" >&2; fail "progress.json does not say finished (it is above)"; }
[ -s "$dir/predictions.csv" ] || fail "no predictions.csv"

# vggtop watch shows the finished run on its screens.
tui_start w 100 30 watch "$dir"
tui_wait w "20/20 epochs done" 15
tui_expect w "watching finished"
tui_keys w 3
tui_expect w "Report: 10 classes, 200 images"
tui_keys w 4
tui_expect w "Most confused"
tui_keys w 7
tui_expect w "Test image 1 of 200"
tui_keys w 1
tui_expect w "The run's settings (read-only)"
tui_keys w q
[ "$(tui_exited w 10)" = 0 ] || tui_fail w "vggtop watch did not exit 0 after q"

# After the hang-up, SIGTERM still stops the headless run the clean way: after the batch, with a checkpoint.
runs2="$TMP/runs2"
TUI_EXEC=1 tui_start ui2 100 30 --runs "$runs2"
tui_wait ui2 "Model and settings" 10
tui_keys ui2 Right
tui_field ui2 4 50
tui_field ui2 11 10000
tui_field ui2 12 200
tui_keys ui2 Enter
tui_wait ui2 "Epoch 1/50" 30
pid2=$(cat "$TMP/ui2.pid")
dir2=$(ls -d "$runs2"/*-mlp 2>/dev/null | head -1)
tmux -L "$SOCK" kill-server
sleep 1
kill -0 "$pid2" 2>/dev/null || fail "vggtop died with its terminal (second run)"
kill -TERM "$pid2"
end=$(($(date +%s) + 60))
while kill -0 "$pid2" 2>/dev/null && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
kill -0 "$pid2" 2>/dev/null && { kill -9 "$pid2"; fail "SIGTERM after a hang-up did not stop the run within 60 s"; }
grep -q '"stopped"' "$dir2/progress.json" || { cat "$dir2/progress.json" >&2; fail "progress.json does not say stopped (it is above)"; }
[ -s "$dir2/checkpoint.bin" ] || fail "no checkpoint after SIGTERM"

# A bad run directory is one clear line and exit status 2.
out=$("$VGGTOP" watch "$TMP/nope" 2>&1 </dev/null)
rc=$?
[ "$rc" -eq 2 ] || fail "vggtop watch on a missing directory exited $rc, not 2"
echo "$out" | grep -q "nope" || fail "the error does not name the directory: $out"
finish
