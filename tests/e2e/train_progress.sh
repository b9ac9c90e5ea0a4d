#!/bin/sh
# End-to-end: how `vggtop train` shows the epoch in progress. On a terminal of 80 columns the in-place bar
# never wraps (the line with top_k_categorical_accuracy was ~128 characters: each '\r' redrew below the
# last, and the log scrolled); under mpirun with the output in a file there are no '\r' redraws (Open MPI
# gives each rank a pty, so isatty said yes: 36 redraws in 3 mlp epochs); --progress forces either.
. "$(dirname "$0")/lib/prologue.sh"
cd "$TMP" || exit 1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Fashion-MNIST's mlp: about a second per epoch, long enough for a few redraws (every 0.1 s).
ARGS="--model mlp --limit-train 20000 --limit-test 200 --epochs 2 --threads 1 --seed 5"

# A pty ends lines with "\r\n": those '\r' are no redraws.
norm() { sed 's/\r$//' "$1"; }
redraws() { norm "$1" | tr -cd '\r' | wc -c; }

# In a pty of 80 columns (script(1)), the bar and the evaluation line stay within 79 columns; the final
# epoch lines may be longer.
script -qec "stty cols 80 rows 24; '$VGGTOP' train $ARGS --run-dir tty" tty.out >/dev/null 2>&1 </dev/null ||
    fail "train in a pty exited $?: $(tail -2 tty.out)"
[ "$(redraws tty.out)" -gt 2 ] || fail "no bar redrawn in place on a terminal"
# Only the stretches that a '\r' redraws (the bar): every one is under 80 columns.
norm tty.out | tr '\n' '\001' | tr '\r' '\n' | sed 's/\x1b\[K//g' | grep -v "$(printf '\001')" |
    awk 'length($0) >= 80 { bad = 1; print "too wide (" length($0) "): " $0 > "/dev/stderr" } END { exit bad }' ||
    fail "the in-place bar is 80 columns or wider in a terminal of 80"
script -qec "stty cols 80 rows 24; '$VGGTOP' train $ARGS --progress lines --run-dir lines" lines.out >/dev/null 2>&1 </dev/null ||
    fail "train --progress lines exited $?"
[ "$(redraws lines.out)" -eq 0 ] || fail "--progress lines on a terminal redraws $(redraws lines.out) times"
grep -q ' - val_acc: ' lines.out || fail "--progress lines has no epoch line"

# mpirun -np 2 with the output in a file: epoch lines, no redraws.
mpirun --oversubscribe -np 2 "$VGGTOP" train $ARGS --run-dir mpi >mpi.out 2>&1 || fail "mpirun exited $?: $(tail -3 mpi.out)"
[ "$(redraws mpi.out)" -eq 0 ] || fail "mpirun -np 2 to a file: $(redraws mpi.out) in-place redraws"
[ "$(grep -c ' - val_acc: ' mpi.out)" -eq 2 ] || fail "mpirun -np 2: not one line per epoch: $(cat mpi.out)"
# ... unless asked for.
mpirun --oversubscribe -np 2 "$VGGTOP" train $ARGS --progress bar --run-dir mpibar >mpibar.out 2>&1 ||
    fail "mpirun --progress bar exited $?"
[ "$(redraws mpibar.out)" -gt 0 ] || fail "mpirun --progress bar drew no bar"

"$VGGTOP" train $ARGS --progress sometimes >out 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q "^vggtop train: --progress: 'sometimes' is not bar, lines or auto$" out ||
    fail "--progress sometimes: exit $rc, $(cat out)"
finish
