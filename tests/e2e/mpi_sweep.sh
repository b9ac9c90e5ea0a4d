#!/bin/sh
# End-to-end: vggtop sweep under Open MPI (mpirun --oversubscribe -np 2): each trial is trained data-parallel
# by both ranks in-process (no child train), one trial after another; a trial's history is the same as the same
# run trained alone under mpirun -np 2 (a repeated 2-rank run has the same history to the last digit, mpi.sh);
# SIGINT to mpirun mid-trial stops the sweep with the trial's checkpoint, and a --resume under mpirun ends the
# sweep with every trial done; a plan that prunes is refused there. About 20 s on a 2-core machine. Runs the
# release binary (under ASan, Open MPI reports leaks of its own).
. "$(dirname "$0")/lib/prologue.sh"
FAIL_FAST=1
mp=
at_exit '[ -n "$mp" ] && kill -9 "$mp" 2>/dev/null'
cd "$TMP" || exit 1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN="mpirun --oversubscribe -np 2"
ARGS="--model mlp --limit-train 2000 --limit-test 200 --batch-size 32 --seed 5"

$MPIRUN "$VGGTOP" sweep --runs sw $ARGS --epochs 2 --lr 0.05,0.01 >sw.log 2>&1 || fatal "the sweep under mpirun exited $?"
[ "$(grep -c '^Ranks: 2 (global batch 32' sw.log)" -eq 2 ] || fail "not every trial ran on both ranks: $(grep Ranks sw.log)"
[ "$(grep -c '^Trial [12]/2' sw.log)" -eq 2 ] || fail "trial lines: $(grep Trial sw.log)"
[ "$(grep -o '"done"' sw/sweep.json | wc -l)" -eq 2 ] || fail "not every trial is done: $(cat sw/sweep.json)"
$MPIRUN "$VGGTOP" train $ARGS --epochs 2 --lr 0.01 --run-dir alone >alone.log 2>&1 || fatal "train under mpirun exited $?"
cut -d, -f1-8 alone/history.csv >a
cut -d, -f1-8 sw/trial-002/history.csv >b
cmp -s a b || fail "trial 2's history differs from the same run alone on 2 ranks: $(diff a b | head -4)"

# SIGINT to mpirun after the first trial's first epoch: the sweep stops, the trial keeps its checkpoint and stays
# running in sweep.json; --resume under mpirun continues it and runs the other.
# 12,000 images an epoch (about half a second on 2 idle cores): with 2,000, trial 1's six epochs could end
# before the signal landed, and the sweep rightly went on to trial 2.
$MPIRUN "$VGGTOP" sweep --runs int $(echo "$ARGS" | sed 's/--limit-train 2000/--limit-train 12000/') --epochs 6 \
    --lr 0.05,0.01 >int.log 2>&1 &
mp=$!
end=$(($(date +%s) + 60))
until [ -s int/trial-001/history.csv ] && [ "$(wc -l <int/trial-001/history.csv)" -ge 2 ]; do
    [ "$(date +%s)" -le "$end" ] || fatal "trial 1 never finished an epoch: $(tail -3 int.log)"
    sleep 0.1
done
kill -INT "$mp"
wait "$mp"
mp=
grep -q '"running"' int/sweep.json || fail "the stopped trial is not left running: $(cat int/sweep.json)"
[ -f int/trial-001/checkpoint.bin ] || fail "the stopped trial has no checkpoint"
[ -e int/trial-002 ] && fail "trial 2 started after the stop"
[ "$(sed 1d int/trial-001/history.csv | wc -l)" -lt 6 ] || fatal "the stop came after trial 1's last epoch"
$MPIRUN "$VGGTOP" sweep --resume int >int2.log 2>&1 || fatal "--resume under mpirun exited $? ($(tail -3 int2.log))"
grep -q '^Trial 1/2 (resumed)' int2.log || fail "trial 1 was not resumed: $(grep Trial int2.log)"
[ "$(sed 1d int/trial-001/history.csv | wc -l)" -eq 6 ] || fail "trial 1 did not end with its 6 epochs"
[ "$(grep -o '"done"' int/sweep.json | wc -l)" -eq 2 ] || fail "after --resume: $(cat int/sweep.json)"

# A plan that prunes is not resumed under mpirun (its trials would go unjudged): refused, saying so.
"$VGGTOP" sweep --runs pr --prune median $ARGS --epochs 1 --limit-train 200 --lr 0.05,0.01 >pr.log 2>&1 ||
    fatal "the pruned sweep exited $?"
$MPIRUN "$VGGTOP" sweep --resume pr >pr2.log 2>&1 && fail "a pruning plan was resumed under mpirun"
grep -q "pr: its plan prunes (--prune median), which a sweep under mpirun does not" pr2.log ||
    fail "no word on the pruning plan: $(cat pr2.log)"
finish
