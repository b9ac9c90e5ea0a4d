#!/bin/sh
# End-to-end: the readers on runs whose training process was killed (SIGKILL). `vggtop history` used to
# print "state: training" for a dead run, and for one killed before its first epoch "no history.csv yet
# (it appears after the first epoch)", which never happens; and --resume was suggested where there is no
# checkpoint to resume from. Now: stopped, with the command that resumes it when there is a checkpoint.
. "$(dirname "$0")/lib/prologue.sh"
FAIL_FAST=1
pid=
at_exit '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null'
cd "$TMP" || exit 1

# wait_for FILE PATTERN SECONDS
wait_for() {
    end=$(($(date +%s) + $3))
    while [ "$(date +%s)" -le "$end" ]; do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "waited $3 s for '$2' in $1"
}

# Killed during its first epoch: no checkpoint, so no --resume to offer.
"$VGGTOP" train --model cnn --limit-train 5000 --limit-test 50 --epochs 1 --threads 1 --run-dir first >/dev/null 2>&1 &
pid=$!
wait_for first/progress.json '"training"' 60
kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=
"$VGGTOP" history first >out 2>err && fail "history of a run without epochs exited 0"
grep -q "no epoch finished before the run stopped" err || fail "history: $(cat err)"
grep -q "is gone before writing a checkpoint" err || fail "history: $(cat err)"
grep -q -- "--resume" err && fail "history suggests --resume without a checkpoint: $(cat err)"

# Killed in its second epoch: history shows the first, the run as stopped, and how to resume it.
"$VGGTOP" train --model mlp --limit-train 20000 --limit-test 50 --epochs 3 --threads 1 --run-dir second >/dev/null 2>&1 &
pid=$!
wait_for second/history.csv '^1,' 120
kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=
"$VGGTOP" history second >out 2>err || fail "history exited $?: $(cat err)"
grep -q "^ *1 " out || fail "history lacks epoch 1: $(cat out)"
grep -q "^state: stopped: its process [0-9]* is gone: vggtop train --resume $(pwd -P)/second$" out || fail "history: $(cat out)"
grep -q "state: training" out && fail "a dead run shows as training"
"$VGGTOP" train --resume second --threads 1 >/dev/null 2>err || fail "resume exited $?: $(cat err)"
echo "qa_killed.sh: ok"
