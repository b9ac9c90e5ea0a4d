#!/bin/sh
# Whether --allreduce-precision bf16 and fp16 learn like float32: cnn on the Fashion-MNIST fixture (the default
# data set), 2 ranks under mpirun on this machine, 3 seeds per precision; prints each run's last epoch and
# per precision the mean and spread (min..max) of the final loss, val_loss and val_acc, to compare with the
# seed-to-seed spread of float32. Not a test (it takes minutes): its numbers go into docs/SCALING.md.
#     sh tests/tools/allreduce_precision.sh [EPOCHS [LIMIT_TRAIN]]
set -u
VGGTOP=${VGGTOP:-./vggtop}
EPOCHS=${1:-3}
LIMIT=${2:-4096}
out=$(mktemp -d /tmp/vggtop-allreduce-precision-XXXXXX) || exit 1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "precision seed loss val_loss val_acc seconds"
for p in float32 bf16 fp16; do
    for seed in 1 2 3; do
        mpirun --oversubscribe -np 2 "$VGGTOP" train --model cnn --limit-train "$LIMIT" --limit-test 1000 \
            --epochs "$EPOCHS" --batch-size 32 --seed "$seed" --threads 1 --allreduce-precision "$p" \
            --run-dir "$out/$p-$seed" >"$out/$p-$seed.out" 2>&1 || { cat "$out/$p-$seed.out" >&2; exit 1; }
        # history.csv: epoch,loss,acc,mse,val_loss,val_acc,val_mse,lr,seconds,...
        tail -1 "$out/$p-$seed/history.csv" | awk -F, -v p="$p" -v s="$seed" '{ printf "%s %s %.4f %.4f %.4f %.1f\n", p, s, $2, $5, $6, $9 }'
    done
done | tee "$out/table"
echo "precision: mean (min..max) of loss, val_loss, val_acc over the seeds"
awk 'NR > 0 && $1 != "precision" { for (c = 3; c <= 5; c++) { k = $1 SUBSEP c; sum[k] += $c; n[k]++;
        if (!(k in lo) || $c < lo[k]) lo[k] = $c; if (!(k in hi) || $c > hi[k]) hi[k] = $c } ; seen[$1] = ++order }
     END { split("float32 bf16 fp16", ps, " "); for (i = 1; i <= 3; i++) { p = ps[i]; line = p;
        for (c = 3; c <= 5; c++) { k = p SUBSEP c; line = line sprintf("  %.4f (%.4f..%.4f)", sum[k] / n[k], lo[k], hi[k]) }
        print line } }' "$out/table"
rm -rf "$out"
