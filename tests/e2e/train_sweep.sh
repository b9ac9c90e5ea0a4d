#!/bin/sh
# End-to-end test of vggtop sweep: a 2x2 grid of mlp runs on the small fixture, its whole process group killed
# with SIGKILL mid-trial and resumed, ends with each trial exactly once, every history equal (all but the
# seconds) to the same trial run alone; --status's leaderboard; random sweeps repeat from the seed; median
# pruning and successive halving stop a trial made worse; --parallel 2 splits the cores; and the refusals: a
# list of 10,000 values, a hand-edited sweep.json, a second sweep in the same folder at once, more threads
# than cores.
. "$(dirname "$0")/lib/prologue.sh"
FAIL_FAST=1
cd "$TMP" || exit 1
COMMON="--model mlp --limit-train 6000 --limit-test 200 --batch-size 20 --epochs 4 --threads 1 --seed 5"

# The grid, in its own process group so the kill takes the sweep and its trial at once (a reboot).
setsid "$VGGTOP" sweep --runs sw $COMMON --lr 0.05,0.01 --momentum 0,0.5 >sweep1.log 2>&1 &
sweep=$!
end=$(($(date +%s) + 120))
until [ -s sw/trial-002/history.csv ] && [ "$(wc -l <sw/trial-002/history.csv)" -ge 2 ]; do
    [ "$(date +%s)" -le "$end" ] || fatal "trial 2 never finished an epoch: $(tail -3 sweep1.log)"
    sleep 0.05
done
kill -s KILL -- "-$sweep" # setsid made the sweep its group's leader
wait 2>/dev/null
grep -q '"running"' sw/sweep.json || fatal "sweep.json does not say trial 2 was running: $(cat sw/sweep.json)"
[ -e sw/trial-004 ] && fatal "the kill came too late: trial 4 had started"

"$VGGTOP" sweep --resume sw >sweep2.log 2>&1 || fatal "sweep --resume exited $? ($(tail -3 sweep2.log))"
grep -q '^Trial 2/4 (resumed): --lr 0.05 --momentum 0.5' sweep2.log || fail "trial 2 was not resumed: $(grep Trial sweep2.log)"
grep -q '^Trial 1/4' sweep2.log && fail "trial 1 ran again"
[ "$(grep -o '"done"' sw/sweep.json | wc -l)" -eq 4 ] || fail "not every trial is done: $(cat sw/sweep.json)"
[ "$(ls -d sw/trial-* | wc -l)" -eq 4 ] || fail "trial directories: $(ls sw)"
t=0
for lr in 0.05 0.01; do
    for m in 0 0.5; do
        t=$((t + 1))
        "$VGGTOP" train $COMMON --lr $lr --momentum $m --run-dir alone-$t >alone-$t.log 2>&1 || fatal "trial $t alone exited $?"
        cut -d, -f1-8 alone-$t/history.csv >a
        cut -d, -f1-8 "sw/trial-00$t/history.csv" >b
        cmp -s a b || fail "trial $t's history differs from the same run alone: $(diff a b | head -4)"
    done
done

# The leaderboard: best val_acc first, every trial done, the swept values in their columns.
"$VGGTOP" sweep --status sw >status || fail "sweep --status exited $?"
[ "$(grep -c ' done ' status)" -eq 4 ] || fail "status: $(cat status)"
best=$(for t in 1 2 3 4; do sed 1d alone-$t/history.csv | cut -d, -f6 | sort -g | tail -1; done | sort -g | tail -1)
sed -n 3p status | grep -q "$(printf '%.4f' "$best")" || fail "status: the first row is not the best ($best): $(cat status)"
grep -q '^trial  *lr  *momentum  *state' status || fail "status header: $(sed -n 2p status)"

# Random trials repeat from the seed.
for s in r1 r2; do
    "$VGGTOP" sweep --runs $s --method random --trials 3 --model mlp --limit-train 200 --limit-test 50 --epochs 1 \
        --threads 1 --seed 9 --lr log:1e-3:1e-1 --batch-size 16,32 >$s.log 2>&1 || fatal "random sweep $s exited $?"
done
grep '^Trial' r1.log | sed 's/ (r1[^)]*)$//' >a
grep '^Trial' r2.log | sed 's/ (r2[^)]*)$//' >b
[ "$(wc -l <a)" -eq 3 ] && cmp -s a b || fail "random sweeps of one seed differ: $(diff a b)"

# --prune median: a trial made worse (a tiny learning rate) is stopped at its first epoch below the median of
# the two finished ones; it is marked pruned and keeps its run directory and checkpoint.
"$VGGTOP" sweep --runs pr --prune median --model mlp --limit-train 2000 --limit-test 200 --batch-size 20 \
    --epochs 3 --threads 1 --lr 0.05,0.04,0.00001 >pr.log 2>&1 || fatal "pruned sweep exited $? ($(tail -3 pr.log))"
grep -q '^Trial 3 pruned at epoch 1: val_acc .* below the median of 2 finished trials$' pr.log ||
    fail "trial 3 was not pruned: $(grep -i prun pr.log)"
states=$(tr -d ' \t\n' <pr/sweep.json | sed 's/.*"states":\[\([^]]*\)\].*/\1/')
[ "$states" = '"done","done","pruned"' ] || fail "pruned sweep's states: $states"
[ -f pr/trial-003/checkpoint.bin ] && [ "$(sed 1d pr/trial-003/history.csv | wc -l)" -eq 1 ] ||
    fail "the pruned trial did not keep its files"
"$VGGTOP" sweep --status pr | grep -q '^ *3  *0.00001  *pruned ' || fail "status of the pruned trial: $("$VGGTOP" sweep --status pr)"

# --prune halving: at the rung of epoch 1 only the top third of the trials there go on (at least the best); the
# trial made worse is not the best of the two: pruned at epoch 1, marked, its files kept.
"$VGGTOP" sweep --runs hv --prune halving --model mlp --limit-train 2000 --limit-test 200 --batch-size 20 \
    --epochs 3 --threads 1 --lr 0.05,0.00001 >hv.log 2>&1 || fatal "halving sweep exited $? ($(tail -3 hv.log))"
grep -q '^Trial 2 pruned at rung epoch 1: val_acc .* is not among the top 1/3 of the 2 trials there$' hv.log ||
    fail "trial 2 was not pruned by halving: $(grep -i prun hv.log)"
states=$(tr -d ' \t\n' <hv/sweep.json | sed 's/.*"states":\[\([^]]*\)\].*/\1/')
[ "$states" = '"done","pruned"' ] || fail "halving sweep's states: $states"
grep -q '"prune":[[:space:]]*"halving"' hv/sweep.json || fail "sweep.json does not keep the pruner"
[ -f hv/trial-002/checkpoint.bin ] && [ "$(sed 1d hv/trial-002/history.csv | wc -l)" -eq 1 ] ||
    fail "the trial pruned by halving did not keep its files"
[ "$(sed 1d hv/trial-001/history.csv | wc -l)" -eq 3 ] || fail "the best trial did not run its 3 epochs"

# --parallel 2: two trials at once, the cores split between them (never more threads than cores).
cores=$(nproc)
if [ "$cores" -ge 2 ]; then
    "$VGGTOP" sweep --runs par --parallel 2 --model mlp --limit-train 500 --limit-test 50 --epochs 1 \
        --lr 0.05,0.01 >par.log 2>&1 || fatal "parallel sweep exited $? ($(tail -3 par.log))"
    for t in 1 2; do
        th=$(sed -n 's/.*"threads":[^0-9]*\([0-9]*\).*/\1/p' par/trial-00$t/config.json)
        [ "$th" -eq $((cores / 2)) ] || fail "trial $t of --parallel 2 trained with $th threads on $cores cores"
    done
fi
expect_usage_error "more trials at once than the $cores cores" "$VGGTOP" sweep --runs over --parallel $((cores + 1)) \
    --model mlp --lr 0.1,0.2
expect_usage_error "more threads than the $cores cores" "$VGGTOP" sweep --runs over --parallel 2 --model mlp \
    --threads "$cores" --lr 0.1,0.2
[ -e over ] && fail "a refused sweep left its folder"

# Refusals: exit 2, one line.
expect_usage_error "10000 values, more than the 1000" "$VGGTOP" sweep --runs big --model mlp \
    --lr "$(seq -s, 1 10000 | sed 's/[0-9]*/0.01/g')"
[ -e big ] && fail "a refused sweep left its folder"
expect_usage_error "already holds a sweep" "$VGGTOP" sweep --runs sw --model mlp --lr 0.1,0.2
sed 's/"done"/"maybe"/' sw/sweep.json >edited.json
mkdir ed && cp edited.json ed/sweep.json
expect_usage_error "ed/sweep.json" "$VGGTOP" sweep --resume ed
expect_usage_error "ed/sweep.json" "$VGGTOP" sweep --status ed
# Under mpirun (its environment, as mpirun sets it) each trial takes every rank: --parallel and --prune are
# refused before MPI starts, rank 0 saying why, the others silent (the sweep itself: tests/e2e/mpi_sweep.sh).
expect_usage_error "each trial takes every rank: --parallel" env OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 \
    "$VGGTOP" sweep --runs mp --parallel 2 --model mlp --lr 0.1,0.2
OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=1 "$VGGTOP" sweep --runs mp --prune median --model mlp --lr 0.1,0.2 \
    >mp.out 2>mp.err
[ $? -eq 2 ] && [ ! -s mp.err ] && [ ! -e mp ] || fail "rank 1 under mpirun: $(cat mp.err)"
# A second sweep in a folder another one runs in refuses, as a second resume of a run does.
"$VGGTOP" sweep --runs long $COMMON --epochs 50 --lr 0.05,0.01 >long.log 2>&1 &
long=$!
at_exit "kill $long 2>/dev/null"
until [ -s long/sweep.json ]; do sleep 0.05; done
expect_usage_error "long" "$VGGTOP" sweep --resume long
kill -TERM $long
wait $long; rc=$?
[ "$rc" -eq 143 ] || fail "a sweep stopped by SIGTERM exited $rc"
grep -q "vggtop sweep --resume long continues it" long.log || fail "the stopped sweep does not say how to go on"
grep -q '"running"' long/sweep.json || fail "the stopped trial is not marked running: $(cat long/sweep.json)"
# Ctrl-C at a terminal reaches the sweep and its trial at once (one process group): the trial still stops with
# its checkpoint (the sweep passes SIGTERM on, not a second SIGINT, which would make train quit at once).
setsid "$VGGTOP" sweep --resume long >ctrlc.log 2>&1 &
sweep=$!
until grep -q '^Epoch 1/' ctrlc.log 2>/dev/null; do sleep 0.05; done
kill -s INT -- "-$sweep"
wait $sweep; rc=$?
[ "$rc" -eq 130 ] || fail "a sweep stopped by Ctrl-C exited $rc"
grep -q 'stopped after .* continue with vggtop train --resume .*long/trial-001' ctrlc.log ||
    fail "the trial did not stop with its checkpoint on Ctrl-C: $(tail -3 ctrlc.log)"
finish
