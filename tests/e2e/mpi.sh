#!/bin/sh
# End-to-end: data-parallel training under Open MPI (mpirun --oversubscribe -np 2 on this one machine).
# - one step on 2 ranks gives the one-process gradient and weights (tests/mpi_step.c states the bounds);
# - 16 steps of mlp on 2 ranks end with the history of the 1-process run within 1e-3 in every metric, and a
#   3-epoch run on 2 ranks learns alike (losses within 5%, accuracy within 0.03): over hundreds of steps a
#   rounding difference of the BLAS kernel can part the runs like two seeds (seen on Zen 5's Cooperlake
#   kernel), so exact agreement there would test the CPU; a repeated 2-rank run has the same history to the
#   last digit;
# - a rank killed (SIGKILL) early in epoch 2 makes the other say so in one line and mpirun exit non-zero within
#   30 s; --resume then finishes the run with the history of the uninterrupted one;
# - Ctrl-C (SIGINT) to mpirun during a run: Open MPI sends the ranks SIGTERM, they stop after the batch with a checkpoint
#   (mpirun itself exits 1, its own status: Open MPI gives no way to pass 130 on), and a resume with another
#   rank count (one process) finishes it, its first 3 epochs learning alike with the 2-rank run's;
# - Adam resumed on 2 ranks has the history of the uninterrupted 2-rank run (the second moment and the step
#   count reach every rank).
# - both ranks stopped (Ctrl-Z) for longer than their timeout and continued finish the run;
# - a stop (vggtop ctl) during the test-set evaluation is taken there by both ranks.
# About 60 s on a 2-core machine.
# Runs the release binary: under ASan, Open MPI reports leaks of its own.
. "$(dirname "$0")/lib/prologue.sh"
. "$(dirname "$0")/lib/mpi.sh"
FAIL_FAST=1
MPI_STEP="${MPI_STEP:-build/release/tests/mpi_step}"
case "$MPI_STEP" in /*) ;; *) MPI_STEP="$TOP/$MPI_STEP" ;; esac
pids=""
at_exit 'for p in $pids; do kill -9 $p 2>/dev/null; done'
cd "$TMP" || exit 1
# CI runs as root, which mpirun refuses unless told; 2 ranks on 2 (or fewer) cores need --oversubscribe.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN="mpirun --oversubscribe -np 2"

$MPIRUN "$MPI_STEP" >step.out 2>&1 || { cat step.out >&2; fail "mpi_step: one step on 2 ranks is not the one-process step"; }
[ "$(grep -c 'gradient relative error' step.out)" -eq 8 ] || fail "mpi_step: not every rank checked every model"
# The ranks all on this host add their gradients up in a shared window (the default, above); 3 ranks split
# it into uneven parts, and VGGTOP_DIST_SHM=0 takes Open MPI's allreduce instead: each is the one-process step.
mpirun --oversubscribe -np 3 "$MPI_STEP" >step3.out 2>&1 || { cat step3.out >&2; fail "mpi_step: one step on 3 ranks is not the one-process step"; }
[ "$(grep -c 'gradient relative error' step3.out)" -eq 12 ] || fail "mpi_step: not every one of 3 ranks checked every model"
VGGTOP_DIST_SHM=0 $MPIRUN -x VGGTOP_DIST_SHM "$MPI_STEP" >stepmpi.out 2>&1 ||
    { cat stepmpi.out >&2; fail "mpi_step: one step through MPI's allreduce is not the one-process step"; }
[ "$(grep -c 'gradient relative error' stepmpi.out)" -eq 8 ] || fail "mpi_step (VGGTOP_DIST_SHM=0): not every rank checked every model"

# Fashion-MNIST's mlp: 4,096 images, about half a second per epoch on 2 ranks.
ARGS="--model mlp --limit-train 4096 --limit-test 200 --epochs 3 --batch-size 32 --seed 7 --augment --momentum 0.9"

# Whether two histories of several epochs learned alike: the losses within 5% of each other and the training
# accuracy within 0.03 (4,096 images). Over hundreds of steps with momentum a rounding difference of 1e-7 can
# flip a ReLU and the two runs then part like two seeds (seen on an AVX-512 OpenBLAS kernel: val_loss 0.864
# against 0.883 after 2 epochs), so exact agreement there would test the CPU, not vggtop; a wrong slice, a
# gradient not averaged or a learning rate off by the rank count moves these numbers far more.
alike() {
    [ "$(wc -l <"$1/history.csv")" -eq "$(wc -l <"$2/history.csv")" ] || return 1
    paste -d, "$1/history.csv" "$2/history.csv" | awk -F, 'NR == 1 { h = NF / 2; for (i = 1; i <= h; i++) col[$i] = i; next }
        { for (k = 1; k <= 2; k++) { n = k == 1 ? "loss" : "val_loss"; a = $col[n]; b = $(col[n] + h);
              if (a - b > 0.05 * b || b - a > 0.05 * b) bad = 1 }
          a = $col["acc"]; b = $(col["acc"] + h); if (a - b > 0.03 || b - a > 0.03) bad = 1 }
        END { exit bad }'
}
# The pid of rank $2 among mpirun $1's children.
rank_pid() {
    for c in $(pgrep -P "$1"); do
        if tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

# 2 ranks follow one process: 16 steps agree to rounding, 3 epochs learn alike.
SHORT="--model mlp --limit-train 512 --limit-test 200 --epochs 1 --batch-size 32 --seed 7 --augment --momentum 0.9"
"$VGGTOP" train $SHORT --threads 1 --run-dir one16 >one16.out 2>&1 || fail "1-process run of 16 steps exited $?"
$MPIRUN "$VGGTOP" train $SHORT --run-dir two16 >two16.out 2>&1 || { cat two16.out >&2; fail "2-rank run of 16 steps exited $?"; }
close one16 two16 || { strip one16 >&2; strip two16 >&2; fail "2 ranks end 16 steps away from the 1-process history"; }
# Two gradients added up are the same float whichever way they travel: the shared window and Open MPI's
# allreduce give the same history to the last digit.
VGGTOP_DIST_SHM=0 $MPIRUN -x VGGTOP_DIST_SHM "$VGGTOP" train $SHORT --run-dir mpi16 >mpi16.out 2>&1 ||
    { cat mpi16.out >&2; fail "2-rank run through MPI's allreduce exited $?"; }
[ "$(strip two16)" = "$(strip mpi16)" ] || { strip two16 >&2; strip mpi16 >&2; fail "the shared window and MPI's allreduce trained apart"; }
grep -q '^Ranks: 2; waiting for the gradient sums (shared memory)' two16.out || fail "the ranks on one host did not use shared memory: $(grep '^Ranks' two16.out)"
grep -q '^Ranks: 2; waiting for the gradient allreduce' mpi16.out || fail "VGGTOP_DIST_SHM=0: $(grep '^Ranks' mpi16.out)"
# No room for the window (here: its folder is missing): every rank goes back to the allreduce, no crash.
OMPI_MCA_osc_sm_backing_directory=$TMP/none $MPIRUN -x OMPI_MCA_osc_sm_backing_directory "$VGGTOP" train $SHORT \
    --run-dir noroom16 >noroom16.out 2>&1 || { cat noroom16.out >&2; fail "2 ranks without room for the window exited $?"; }
[ "$(strip two16)" = "$(strip noroom16)" ] && grep -q '^Ranks: 2; waiting for the gradient allreduce' noroom16.out ||
    { cat noroom16.out >&2; fail "without room for the window the ranks did not fall back to the allreduce"; }
VGGTOP_DIST_SHM=yes $MPIRUN -x VGGTOP_DIST_SHM "$VGGTOP" train $SHORT --run-dir badshm >badshm.out 2>&1
status=$?
[ "$status" -eq 2 ] && [ "$(grep -c "VGGTOP_DIST_SHM: 'yes' is not 0" badshm.out)" -eq 1 ] ||
    { cat badshm.out >&2; fail "VGGTOP_DIST_SHM=yes: status $status, not one line and status 2"; }
"$VGGTOP" train $ARGS --threads 1 --run-dir one >one.out 2>&1 || fail "1-process run exited $?"
$MPIRUN "$VGGTOP" train $ARGS --run-dir two >two.out 2>&1 || { cat two.out >&2; fail "2-rank run exited $?"; }
[ "$(wc -l <two/history.csv)" -eq 4 ] || fail "2-rank run: $(wc -l <two/history.csv) history lines"
alike one two || { strip one >&2; strip two >&2; fail "2 ranks learn unlike 1 process over 3 epochs"; }
grep -q '"ranks":[[:space:]]*2' two/config.json || fail "config.json does not record the ranks"
# By default the ranks on a machine share its cores (one each on a 2-core machine).
per=$(($(getconf _NPROCESSORS_ONLN) / 2)); [ "$per" -gt 0 ] || per=1
grep -q "\"threads_per_rank\":[[:space:]]*\\[$per, $per\\]" two/config.json ||
    fail "config.json: not $per thread(s) per rank by default on this $(getconf _NPROCESSORS_ONLN)-core machine ($(grep threads_per two/config.json))"
grep -q '"ranks":[[:space:]]*2,' two/progress.json || fail "progress.json does not say the run has 2 ranks"
grep -q "^Ranks: 2" two.out || fail "rank 0 does not say it runs with 2 ranks"
[ "$(grep -c '^Epoch 1/3' two.out)" -eq 1 ] || fail "more than rank 0 printed the run"
$MPIRUN "$VGGTOP" train $ARGS --run-dir again >again.out 2>&1 || fail "repeated 2-rank run exited $?"
[ "$(strip two)" = "$(strip again)" ] || fail "a repeated 2-rank run has another history"

# SIGKILL of rank 1 early in epoch 2.
$MPIRUN "$VGGTOP" train $ARGS --run-dir killed >killed.out 2>&1 &
mp=$!
pids="$pids $mp"
wait_epoch_1 killed
victim=$(rank_pid $mp 1) || fail "no rank 1 under mpirun"
kill -9 "$victim"
start=$(date +%s)
wait $mp
status=$?
[ "$status" -ne 0 ] || fail "mpirun exited 0 after a rank was killed"
[ $(($(date +%s) - start)) -le 30 ] || fail "the other rank took over 30 s to end"
grep -q "rank 0 of 2: rank 1 (process $victim on this host) is gone" killed.out ||
    { cat killed.out >&2; fail "rank 0 did not say that rank 1 is gone"; }
$MPIRUN "$VGGTOP" train --resume killed >resumed.out 2>&1 || fail "--resume after the kill exited $?"
[ "$(strip two)" = "$(strip killed)" ] || { strip killed >&2; fail "the resumed run has another history"; }

# Adam resumed on 2 ranks goes on as if never stopped: rank 0 shares the checkpoint's second moment and step
# count (Adam's bias correction) with its weights; without them rank 1 stepped otherwise and the ranks parted.
ADAM="--model mlp --limit-train 512 --limit-test 200 --batch-size 32 --seed 7 --optimizer adam --lr 0.001"
$MPIRUN "$VGGTOP" train $ADAM --epochs 2 --run-dir adam2 >adam2.out 2>&1 || fail "2-rank Adam run exited $?"
$MPIRUN "$VGGTOP" train $ADAM --epochs 1 --run-dir adam1 >adam1.out 2>&1 || fail "1-epoch 2-rank Adam run exited $?"
$MPIRUN "$VGGTOP" train --resume adam1 --epochs 2 >adam1r.out 2>&1 || { cat adam1r.out >&2; fail "--resume of the Adam run exited $?"; }
[ "$(strip adam2)" = "$(strip adam1)" ] || { strip adam2 >&2; strip adam1 >&2; fail "2 ranks resumed with Adam learn otherwise than uninterrupted"; }
# Adam's two moments in the one shared copy step as each rank's own copy does under MPI's allreduce.
VGGTOP_DIST_SHM=0 $MPIRUN -x VGGTOP_DIST_SHM "$VGGTOP" train $ADAM --epochs 2 --run-dir adam2mpi >adam2mpi.out 2>&1 ||
    fail "2-rank Adam run through MPI's allreduce exited $?"
[ "$(strip adam2)" = "$(strip adam2mpi)" ] || { strip adam2 >&2; strip adam2mpi >&2; fail "Adam in shared memory learns otherwise than through the allreduce"; }

# SIGINT to mpirun after the first epoch, then resumed by one process. Open MPI passes the signal on a
# second later, so this run has 8 epochs (its first 3 are the 3-epoch run's).
$MPIRUN "$VGGTOP" train $ARGS --epochs 8 --run-dir int >int.out 2>&1 &
mp=$!
pids="$pids $mp"
wait_epoch_1 int
kill -INT $mp
wait $mp
status=$?
[ "$status" -ne 0 ] || fail "mpirun exited 0 after SIGINT"
grep -q '"state":[[:space:]]*"stopped"' int/progress.json || fail "after SIGINT: $(grep '"state"' int/progress.json)"
grep -q "stopped after [1-7] epochs* and [0-9]* steps*" int.out || { cat int.out >&2; fail "no stop line after SIGINT"; }
[ -f int/checkpoint.bin ] || fail "no checkpoint after SIGINT"
"$VGGTOP" train --resume int --threads 1 >int-resumed.out 2>&1 || fail "1-process --resume of a 2-rank run exited $?"
[ "$(wc -l <int/history.csv)" -eq 9 ] || fail "the resumed run has $(wc -l <int/history.csv) history lines"
head -4 int/history.csv >int3.csv && mkdir -p int3 && mv int3.csv int3/history.csv
alike two int3 || { strip int >&2; fail "the run resumed by one process learns unlike the 2-rank run"; }
# Ctrl-Z: both ranks stopped (SIGSTOP) for longer than their wait for each other (VGGTOP_DIST_TIMEOUT=3),
# then continued, go on as if nothing happened: stopped time is no rank's silence.
VGGTOP_DIST_TIMEOUT=3 $MPIRUN -x VGGTOP_DIST_TIMEOUT "$VGGTOP" train $ARGS --run-dir stopped >stopped.out 2>&1 &
mp=$!
pids="$pids $mp"
wait_epoch_1 stopped
r0=$(rank_pid $mp 0) && r1=$(rank_pid $mp 1) || fail "no ranks under mpirun"
kill -STOP "$r0" "$r1"
sleep 5
kill -CONT "$r0" "$r1"
wait $mp
status=$?
[ "$status" -eq 0 ] || { cat stopped.out >&2; fail "2 ranks stopped for 5 s and continued: mpirun exited $status"; }
[ "$(strip two)" = "$(strip stopped)" ] || fail "the run stopped and continued has another history"
# A bad setting is a usage error, status 2 (mpirun passes the ranks' status on), as every other one.
VGGTOP_DIST_TIMEOUT=0 $MPIRUN -x VGGTOP_DIST_TIMEOUT "$VGGTOP" train $ARGS --run-dir badenv >badenv.out 2>&1
status=$?
[ "$status" -eq 2 ] || fail "VGGTOP_DIST_TIMEOUT=0: mpirun exited $status, expected 2"
grep -q "VGGTOP_DIST_TIMEOUT: '0' is not a number of seconds" badenv.out || { cat badenv.out >&2; fail "no line on a bad VGGTOP_DIST_TIMEOUT"; }

# A stop asked for (vggtop ctl) during the test-set evaluation is taken there by both ranks, not after it:
# 10,000 test images at 96x96 through cnn take 2 ranks tens of seconds; the run ends with its checkpoint,
# no epoch in history.csv and no predictions.csv, as in one process.
$MPIRUN "$VGGTOP" train --model cnn --resize 96 --limit-train 64 --limit-test 10000 --epochs 1 --run-dir ev \
    >ev.out 2>&1 &
mp=$!
pids="$pids $mp"
i=0
while ! grep -q '"state":[[:space:]]*"evaluating"' ev/progress.json 2>/dev/null && [ $i -lt 600 ]; do
    sleep 0.05
    i=$((i + 1))
done
grep -q '"state":[[:space:]]*"evaluating"' ev/progress.json || { cat ev.out >&2; fail "the 2-rank run never evaluated"; }
"$VGGTOP" ctl ev stop >ctl.out 2>&1 || fail "vggtop ctl stop exited $?: $(cat ctl.out)"
start=$(date +%s)
wait $mp
status=$?
[ "$status" -eq 0 ] || { cat ev.out >&2; fail "a stop during the evaluation: mpirun exited $status, not 0"; }
[ $(($(date +%s) - start)) -le 15 ] || fail "the ranks took over 15 s to stop during the evaluation"
grep -q '"state":[[:space:]]*"stopped"' ev/progress.json || fail "after the stop: $(grep '"state"' ev/progress.json)"
[ -f ev/checkpoint.bin ] || fail "no checkpoint after a stop during the evaluation"
[ ! -f ev/predictions.csv ] || fail "the evaluation went on to its end after the stop"
[ ! -f ev/history.csv ] || [ "$(wc -l <ev/history.csv)" -eq 1 ] || fail "history.csv has an epoch after a stop during its evaluation"
finish
