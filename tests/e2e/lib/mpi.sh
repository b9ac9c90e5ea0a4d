# Helpers of the data-parallel end-to-end scripts (mpi.sh, mpi_multihost*.sh), sourced after prologue.sh:
# - strip DIR: DIR/history.csv without the seconds column (epoch, the train and test metrics, lr, top-5);
# - close A B: whether every number of two stripped histories agrees within 1e-3, the accuracies within one
#   image of the 200 test images (0.005: a prediction whose top two or fifth and sixth classes were that close
#   may flip): for runs of a few steps, where the order of floating-point sums (one batch of 32 against
#   slices of 16, which every BLAS kernel rounds in its own way) cannot yet have grown into anything else;
# - wait_epoch_1 DIR: waits (at most 30 s) until the run has finished its first epoch (history.csv has its
#   row, so its checkpoint is written): the next moment is early in epoch 2. (progress.json, written twice a
#   second, can miss a whole epoch of these small runs.) Fails with DIR.out when it never does.
strip() { cut -d, -f1-8,10- "$1/history.csv"; }

close() {
    strip "$1" >a.csv
    strip "$2" >b.csv
    [ "$(wc -l <a.csv)" -eq "$(wc -l <b.csv)" ] || return 1
    paste -d, a.csv b.csv | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) tol[i] = $i ~ /acc/ ? 0.0051 : 1e-3; next }
        { h = NF / 2; for (i = 1; i <= h; i++) { d = $i - $(i + h); if (d < 0) d = -d; if (d > tol[i]) bad = 1 } }
        END { exit bad }'
}

wait_epoch_1() {
    i=0
    while [ $i -lt 600 ]; do
        [ -f "$1/history.csv" ] && [ "$(wc -l <"$1/history.csv")" -ge 2 ] && return 0
        sleep 0.05
        i=$((i + 1))
    done
    cat "$1.out" >&2
    fail "$1 never finished its first epoch"
}
