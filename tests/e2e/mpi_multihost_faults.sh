#!/bin/sh
# End-to-end: what breaks across hosts (emulated as in mpi_multihost.sh: tests/e2e/lib/netns.sh), each case
# ending cleanly:
# - rank 1 killed (SIGKILL) on h2 early in epoch 2: no pid on h1 to watch, so mpirun ends the job (SIGTERM,
#   and SIGKILL 1 s later); rank 0 says so in one line before the SIGKILL, and mpirun exits non-zero within 30 s; --resume on both hosts ends with the history of the
#   uninterrupted run;
# - h2's cable pulled out early in epoch 2 (a link down: no netem on the test kernel for a 100% loss): rank 0
#   gives up after its timeout (VGGTOP_DIST_TIMEOUT=3 plus 10 of the slowest steps) with one line, mpirun
#   notices the lost host (TCP keepalive) and exits within 30 s; the run directory on h1 holds the checkpoint
#   of epoch 1, and --resume with the cable back ends with the uninterrupted history;
# - the data set missing on h2 only (an empty tmpfs over it in h2's mount namespace): one line naming rank 1,
#   host h2 and the path, status 2, before any training, and no run directory left;
# - a host of another CPU kind: h2 runs OpenBLAS's Haswell kernels and asks for other convolutions
#   (VGGTOP_CONV=gemm); every rank takes rank 0's plan, config.json records it, and the weight check at step
#   200 finds the ranks in step (each applies the same summed gradient with the same code).
# About 45 s on a 2-core machine. Needs root (as CI runs); elsewhere it says so in one line and is skipped.
. "$(dirname "$0")/lib/prologue.sh"
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/mpi.sh"
FAIL_FAST=1
netns_require
netns_up 2
cd "$TMP" || exit 1
pids=""
at_exit 'for p in $pids; do kill -9 $p 2>/dev/null; done'

# Waits (at most $2 s) for process $1 to end.
gone_within() {
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do
        sleep 0.1
        i=$((i + 1))
    done
    ! kill -0 "$1" 2>/dev/null
}

ARGS="--model mlp --limit-train 4096 --limit-test 200 --epochs 3 --batch-size 32 --seed 7 --augment --momentum 0.9 --threads 1"
netns_mpirun 2 h1,h2 "$VGGTOP" train $ARGS --run-dir two >two.out 2>&1 || { cat two.out >&2; fail "2-host run exited $?"; }

# A rank killed on another host.
netns_mpirun 2 h1,h2 "$VGGTOP" train $ARGS --run-dir killed >killed.out 2>&1 &
mp=$!
pids="$pids $mp"
wait_epoch_1 killed
victim=$(netns_rank_pid 1) || fail "no rank 1 on h2"
kill -9 "$victim"
gone_within $mp 30 || fail "mpirun still runs 30 s after rank 1 on h2 was killed"
wait $mp && fail "mpirun exited 0 after a rank was killed"
# Rank 0 says why: that rank 1 stopped answering, or, when mpirun's SIGTERM (sent as soon as it sees rank 1
# die) comes first on a loaded machine, that it stops with a checkpoint (then perhaps also the first);
# mpirun names the dead rank.
n=$(grep -c '^vggtop train: ' killed.out)
[ "$n" -ge 1 ] && [ "$n" -le 2 ] &&
    grep -q '^vggtop train: \(.*rank 0 of 2: no answer for [0-9]* s during\|stopping after this step and saving a checkpoint\)' killed.out ||
    { cat killed.out >&2; fail "rank 0 did not say why it ended"; }
grep -q 'process rank 1 .* on node h2 exited on signal 9' killed.out || { cat killed.out >&2; fail "mpirun did not name the dead rank"; }
netns_mpirun 2 h1,h2 "$VGGTOP" train --resume killed >resumed.out 2>&1 || { cat resumed.out >&2; fail "--resume after the kill exited $?"; }
[ "$(strip two)" = "$(strip killed)" ] || { strip killed >&2; fail "the resumed run has another history"; }

# A cable pulled out mid-run, then plugged in again.
VGGTOP_DIST_TIMEOUT=3 netns_mpirun 2 h1,h2 -x VGGTOP_DIST_TIMEOUT "$VGGTOP" train $ARGS --run-dir cut >cut.out 2>&1 &
mp=$!
pids="$pids $mp"
wait_epoch_1 cut
r0=$(netns_rank_pid 0) || fail "no rank 0 on h1"
netns_link h2 down
gone_within "$r0" 30 || fail "rank 0 still runs 30 s after h2 was cut off"
gone_within $mp 30 || fail "mpirun still runs 30 s after h2 was cut off"
wait $mp && fail "mpirun exited 0 after h2 was cut off"
[ "$(grep -c '^vggtop train: .*rank 0 of 2: no answer for [0-9]* s during' cut.out)" -eq 1 ] ||
    { cat cut.out >&2; fail "rank 0 did not say in one line that it lost rank 1"; }
grep -q '"state":[[:space:]]*"failed"' cut/progress.json || fail "after the cut: $(grep '"state"' cut/progress.json)"
[ "$(wc -l <cut/history.csv)" -eq 2 ] || fail "after the cut: $(wc -l <cut/history.csv) history lines, not epoch 1's"
netns_link h2 up
netns_mpirun 2 h1,h2 "$VGGTOP" train --resume cut >cut-resumed.out 2>&1 ||
    { cat cut-resumed.out >&2; fail "--resume after the cut exited $?"; }
[ "$(strip two)" = "$(strip cut)" ] || { strip cut >&2; fail "the run resumed after the cut has another history"; }

# The data set on h1 and not on h2.
cp -r "$TOP/tests/fixtures/data/cifar-100-python" data
VGGTOP_NETNS_HIDE_h2=$TMP/data netns_mpirun 2 h1,h2 "$VGGTOP" train --model mlp --data "$TMP/data" --epochs 1 \
    --run-dir nodata >nodata.out 2>&1
status=$?
[ "$status" -eq 2 ] || { cat nodata.out >&2; fail "data missing on h2: mpirun exited $status, not 2"; }
[ "$(grep -c '^vggtop train:' nodata.out)" -eq 1 ] &&
    grep -q "^vggtop train: rank 1 of 2 on host h2: $TMP/data (from --data): " nodata.out ||
    { cat nodata.out >&2; fail "data missing on h2: not one line naming rank 1, h2 and the path"; }
grep -q '^Epoch' nodata.out && fail "data missing on h2: the training started"
[ ! -e nodata ] || fail "data missing on h2: a run directory was left"

# Another CPU kind on h2: 202 steps of 8 images, past the weight check at step 200.
VGGTOP_NETNS_ENV_h2="OPENBLAS_CORETYPE=Haswell VGGTOP_CONV=gemm" netns_mpirun 2 h1,h2 "$VGGTOP" train --model cnn \
    --limit-train 1616 --limit-test 100 --batch-size 8 --epochs 1 --threads 1 --run-dir cpu >cpu.out 2>&1 ||
    { cat cpu.out >&2; fail "ranks on two CPU kinds: mpirun exited $?"; }
plan=$(sed -n 's/^Convolutions: //p' cpu.out)
[ -n "$plan" ] && grep -q "\"conv\":[[:space:]]*\"$plan\"" cpu/config.json ||
    fail "config.json does not record rank 0's plan '$plan': $(grep '"conv"' cpu/config.json)"
finish
