#!/bin/sh
# Does mixed_bfloat16 learn as float32 does? Trains cnn on the first IMAGES Fashion-MNIST training images
# (Debian's dataset-fashion-mnist) for EPOCHS epochs at each precision with SEEDS seeds (the weights, the
# shuffling), and prints each run's training loss per epoch and final val_loss and val_acc, then each
# precision's mean final loss and the spread of the seeds (max - min), and the gap between the means.
# Issue 25's check: 3 seeds, 5,000 images, 3 epochs (the defaults; about 2 minutes on 2 cores). Needs a CPU
# with AVX512_BF16 or AMX (else vggtop refuses mixed_bfloat16). tests/e2e/nn_bf16.sh runs a smaller copy in
# make test and holds the gap to the tolerance this script's spread suggested.
#   sh tests/tools/bf16_learning.sh [SEEDS [IMAGES [EPOCHS]]]     (VGGTOP: the binary, ./vggtop by default)
set -e
SEEDS=${1:-3}
IMAGES=${2:-5000}
EPOCHS=${3:-3}
VGGTOP=${VGGTOP:-./vggtop}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
OUT=$(mktemp -d /tmp/vggtop-bf16-learning-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
for p in float32 mixed_bfloat16; do
    s=1
    while [ "$s" -le "$SEEDS" ]; do
        "$VGGTOP" train --model cnn --data "$DATA" --limit-train "$IMAGES" --epochs "$EPOCHS" --seed "$s" \
            --precision "$p" --run-dir "$OUT/$p-$s" >/dev/null
        s=$((s + 1))
    done
done
# history.csv: epoch,loss,acc,mse,val_loss,val_acc,...
for p in float32 mixed_bfloat16; do
    for h in "$OUT/$p"-*/history.csv; do
        run=$(basename "$(dirname "$h")")
        awk -F, -v run="$run" 'NR > 1 { curve = curve sprintf(" %.4f", $2); last = $2; vl = $5; va = $6 }
            END { printf "%-18s loss by epoch:%s  val_loss %.4f  val_acc %.4f\n", run, curve, vl, va;
                  printf "final %s %.6f\n", run, last > "/dev/stderr" }' "$h"
    done
done 2>"$OUT/finals"
awk '{ split($2, a, "-"); p = a[1]; n[p]++; sum[p] += $3;
       if (!(p in lo) || $3 < lo[p]) lo[p] = $3; if (!(p in hi) || $3 > hi[p]) hi[p] = $3 }
     END { for (p in n) printf "%-15s mean final loss %.4f, seed spread %.4f (%d seeds)\n", p, sum[p] / n[p],
                                hi[p] - lo[p], n[p];
           printf "gap of the means (mixed_bfloat16 - float32): %+.4f\n",
                  sum["mixed_bfloat16"] / n["mixed_bfloat16"] - sum["float32"] / n["float32"] }' "$OUT/finals"
