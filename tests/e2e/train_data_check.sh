#!/bin/sh
# End-to-end: a run remembers its data set. Two made-up CIFAR-100 sets of the same size sit in two folders'
# data/cifar-100-binary; a run trained in the first keeps its data set's absolute path and fingerprint in
# config.json, so `evaluate` and `train --resume` from the second folder use the first set (they used the
# folder's own, and rewrote predictions.csv from the wrong images with exit 0), and `--data` pointing at the
# other set is refused with one line naming both and --data. The same set at another place is taken; a run
# from before the fingerprint still evaluates, saying it could not be checked; the resume command a stopped
# run shows is absolute.
. "$(dirname "$0")/lib/prologue.sh"
FAIL_FAST=1
cd "$TMP" || exit 1

# Two sets of the same size and labels, their pixels random: only the images tell them apart.
made_up_cifar100 a/data/cifar-100-binary 200 50
made_up_cifar100 b/data/cifar-100-binary 200 50
ARGS="--model mlp --epochs 1 --batch-size 50 --threads 1 --seed 3"

(cd a && "$VGGTOP" train $ARGS --run-dir run >train.out 2>&1) || fail "training in a: $(tail -2 a/train.out)"
adata=$(pwd -P)/a/data/cifar-100-binary
bdata=$(pwd -P)/b/data/cifar-100-binary
grep -q "\"path\":[[:space:]]*\"$adata\"" a/run/config.json || fail "config.json lacks the absolute data path"
grep -q '"fingerprint":[[:space:]]*"[0-9a-f]\{16\}"' a/run/config.json || fail "config.json lacks the fingerprint"
cp a/run/predictions.csv before.csv

# From b, with b's own data/ beside: evaluate and resume use a's set.
cd b || exit 1
"$VGGTOP" evaluate ../a/run >eval.out 2>eval.err || fail "evaluate from b exited $?: $(cat eval.err)"
cmp -s ../before.csv ../a/run/predictions.csv || fail "evaluate from b predicted other images"
[ -s eval.err ] && fail "evaluate of a checked run says: $(cat eval.err)"

# --data naming b's set: one line naming both and --data, exit 2, nothing rewritten.
"$VGGTOP" evaluate ../a/run --data data >out 2>err; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <err)" -eq 1 ] || fail "evaluate with another set: exit $rc, $(cat err)"
grep -q "^vggtop evaluate: $bdata is not the data set this run was made with ($adata): give --data" err ||
    fail "evaluate with another set says: $(cat err)"
cmp -s ../before.csv ../a/run/predictions.csv || fail "a refused evaluate rewrote predictions.csv"
"$VGGTOP" train --resume ../a/run --epochs 2 --data data >out 2>err; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <err)" -eq 1 ] && grep -q "$bdata is not the data set this run was made with ($adata)" err ||
    fail "resume with another set: exit $rc, $(cat err)"
[ "$(wc -l <../a/run/history.csv)" -eq 2 ] || fail "a refused resume trained"
VGGTOP_DATA=$bdata "$VGGTOP" train --resume ../a/run --epochs 2 >out 2>err ||
    fail "resume from b (VGGTOP_DATA elsewhere) exited $?: $(cat err)"
[ "$(wc -l <../a/run/history.csv)" -eq 3 ] || fail "resume from b did not train epoch 2"
grep -q "\"path\":[[:space:]]*\"$adata\"" ../a/run/config.json || fail "resume from b took another data set"
cd .. || exit 1

# The same set moved: --data finds it and is taken.
mv a/data moved
cp a/run/predictions.csv before.csv
"$VGGTOP" evaluate a/run --data moved >out 2>err || fail "evaluate with the moved set exited $?: $(cat err)"
cmp -s before.csv a/run/predictions.csv || fail "the moved set predicted differently"

# A run from before the check: evaluates, and says the check could not be made.
python3 - a/run/config.json <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p)); del c["data"]["fingerprint"]; json.dump(c, open(p, "w"))
PY
"$VGGTOP" evaluate a/run --data moved >out 2>err || fail "evaluate of an old run exited $?: $(cat err)"
grep -q "could not be checked" err || fail "evaluate of an old run says: $(cat err)"

# The resume command shown for a stopped run is absolute (--resume rel/run failed anywhere else).
grep -q "continue with vggtop train --resume" a/run/progress.json && fail "a finished run offers --resume"
"$VGGTOP" train $ARGS --data moved --epochs 1000 --run-dir stopped >out 2>&1 &
pid=$!
i=0
while [ $i -lt 300 ] && ! grep -q '"training"' stopped/progress.json 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
"$VGGTOP" ctl stopped stop >/dev/null 2>&1
wait $pid
grep -q "continue with vggtop train --resume $(pwd -P)/stopped\"" stopped/progress.json ||
    fail "progress.json's resume command: $(grep message stopped/progress.json)"
finish
