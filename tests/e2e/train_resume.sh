#!/bin/sh
# End-to-end: resume and signals. A run killed with SIGKILL mid-epoch and resumed ends with the same
# history.csv (every column but seconds) as the same run left alone; SIGINT stops after the batch with a
# whole checkpoint and exit 130 (SIGTERM: 143), and the stopped run resumes to the same history too; a
# second SIGINT exits at once without half-written files; SIGHUP does not end a run.
. "$(dirname "$0")/lib/prologue.sh"
FAIL_FAST=1
pids=""
at_exit 'for p in $pids; do kill -9 $p 2>/dev/null; done'
cd "$TMP" || exit 1

# A small mlp on Fashion-MNIST: 20,000 images, about a second per epoch since nn got faster (4,000 took
# 0.2 s, and the run could end before progress.json, written twice a second, ever showed epoch 2).
ARGS="--model mlp --limit-train 20000 --limit-test 500 --epochs 3 --batch-size 32 --seed 7 --threads 1 --augment --momentum 0.9"

# Waits (at most 60 s) until progress.json shows the run training inside epoch $2 with at least one batch.
wait_mid_epoch() { # dir epoch
    i=0
    while [ $i -lt 600 ]; do
        if [ -f "$1/progress.json" ] && grep -q '"state":.*"training"' "$1/progress.json" &&
            grep -q "\"epoch\":.*$2," "$1/progress.json" && ! grep -q '"batch":[[:space:]]*0,' "$1/progress.json"; then
            return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
    fail "$1 never reached epoch $2"
}
# history.csv without its seconds column
strip() { cut -d, -f1-8 "$1/history.csv"; }

# The uninterrupted run trains beside the first interrupted one (one thread each, on two cores).
"$VGGTOP" train $ARGS --run-dir whole >/dev/null 2>&1 &
whole=$!; pids="$pids $whole"

# SIGKILL mid-epoch 2, then --resume.
"$VGGTOP" train $ARGS --run-dir killed >killed.out 2>&1 &
pid=$!; pids="$pids $pid"
wait_mid_epoch killed 2
kill -9 $pid
wait $pid 2>/dev/null
# Killed inside epoch 2 (or 3 on a slow machine), never after the last one.
[ "$(wc -l <killed/history.csv)" -lt 4 ] || fail "the run finished before it was killed"
"$VGGTOP" train --resume killed >resumed.out 2>&1 || fail "resume exited $?: $(tail -1 resumed.out)"
wait $whole || fail "uninterrupted run exited $?"
[ "$(wc -l <whole/history.csv)" -eq 4 ] || fail "uninterrupted run: $(wc -l <whole/history.csv) history lines"
grep -q 'Resuming after epoch [12]' resumed.out || fail "resume does not say where it continues"
strip whole >a; strip killed >b
diff -u a b || fail "killed + resumed history differs from the uninterrupted run"
cmp -s whole/predictions.csv killed/predictions.csv || fail "killed + resumed predictions differ"
ls killed | grep -q '\.tmp\.' && fail "temporary files left after resume"

# SIGINT mid-epoch: exit 130 after the batch, a whole checkpoint (resumable from that batch), same history.
"$VGGTOP" train $ARGS --run-dir int >int.out 2>int.err &
pid=$!; pids="$pids $pid"
wait_mid_epoch int 2
"$VGGTOP" train --resume int >/dev/null 2>live.err; rc=$?
[ $rc -eq 2 ] && grep -q 'being trained by process' live.err || fail "resume of a live run: exit $rc, $(cat live.err)"
"$VGGTOP" evaluate int >/dev/null 2>live.err; rc=$?
[ $rc -eq 2 ] && grep -q 'being trained by process' live.err || fail "evaluate of a live run: exit $rc, $(cat live.err)"
kill -INT $pid
wait $pid; rc=$?
[ $rc -eq 130 ] || fail "SIGINT: exit $rc, expected 130 ($(cat int.err))"
grep -q 'resume' int.err || fail "SIGINT: no hint to resume: $(cat int.err)"
grep -q '"state":.*"stopped"' int/progress.json || fail "SIGINT: progress.json does not say stopped"
"$VGGTOP" train --resume int >/dev/null 2>&1 || fail "resume after SIGINT exited $?"
strip int >c
diff -u a c || fail "SIGINT + resumed history differs from the uninterrupted run"

# SIGTERM: exit 143.
"$VGGTOP" train $ARGS --run-dir term >/dev/null 2>term.err &
pid=$!; pids="$pids $pid"
wait_mid_epoch term 1
kill -TERM $pid
wait $pid; rc=$?
[ $rc -eq 143 ] || fail "SIGTERM: exit $rc, expected 143 ($(cat term.err))"
[ -s term/checkpoint.bin ] || fail "SIGTERM: no checkpoint"

# SIGHUP (a dropped SSH session) does not end the run: it finishes with exit 0 and a full history. It trains
# beside the two-SIGINT run below.
setsid "$VGGTOP" train $ARGS --run-dir hup >hup.out 2>&1 &
hup=$!; pids="$pids $hup"
wait_mid_epoch hup 1
kill -HUP $hup

# Two SIGINTs: the second exits at once (130); every file that exists is whole.
"$VGGTOP" train $ARGS --run-dir twice >/dev/null 2>&1 &
pid=$!; pids="$pids $pid"
wait_mid_epoch twice 2
kill -INT $pid; kill -INT $pid
wait $pid; rc=$?
[ $rc -eq 130 ] || fail "two SIGINTs: exit $rc, expected 130"
"$VGGTOP" history twice >/dev/null 2>&1 || fail "two SIGINTs: history.csv unreadable"
"$VGGTOP" report twice >/dev/null 2>&1 || fail "two SIGINTs: predictions.csv unreadable"
"$VGGTOP" train --resume twice >/dev/null 2>&1 || fail "two SIGINTs: the run does not resume"
strip twice >d
diff -u a d || fail "two SIGINTs + resumed history differs"

wait $hup; rc=$?
[ $rc -eq 0 ] || fail "SIGHUP: exit $rc, expected 0"
[ "$(wc -l <hup/history.csv)" -eq 4 ] || fail "SIGHUP: the run did not finish its epochs"

# Adam's and RMSprop's state (moments, step count) goes through the checkpoint: 2 epochs and a resume to 3 end
# as 3 straight; config.json names the optimizer as Keras does.
OPT="--model mlp --limit-train 2000 --limit-test 200 --batch-size 32 --seed 5 --threads 1 --lr 0.001"
for o in "adam --beta2 0.99" "RMSprop --momentum 0.5"; do
    "$VGGTOP" train $OPT --optimizer $o --epochs 3 --run-dir o3 >/dev/null 2>&1 || fail "--optimizer $o: exit $?"
    "$VGGTOP" train $OPT --optimizer $o --epochs 2 --run-dir o2 >/dev/null 2>&1 || fail "--optimizer $o: exit $?"
    "$VGGTOP" train --resume o2 --epochs 3 >/dev/null 2>&1 || fail "--optimizer $o: resume exited $?"
    strip o3 >a; strip o2 >b
    diff -u a b || fail "--optimizer $o: 2 epochs + resume differ from 3 straight"
    rm -rf o2 o3
done
"$VGGTOP" train $OPT --optimizer adam --epochs 1 --run-dir o1 >/dev/null 2>&1 || fail "--optimizer adam: exit $?"
grep -q '"name":[[:space:]]*"Adam"' o1/config.json || fail "config.json does not name Adam"
grep -q '"beta_2":[[:space:]]*0.999' o1/config.json || fail "config.json lacks Adam's beta_2"
finish
