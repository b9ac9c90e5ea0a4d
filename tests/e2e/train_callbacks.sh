#!/bin/sh
# End-to-end test of the callbacks: a run with ReduceLROnPlateau, EarlyStopping and ModelCheckpoint ends
# with the same history (every column but seconds, the learning rate included) whether it trains straight
# through or stops after epoch 5 and is resumed: the callbacks' state (waits, best values, cooldown) comes
# back from the history, as Keras' BackupAndRestore does not. The rate is cut at least once, so the test
# would see a lost state.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
FAIL_FAST=1
cd "$TMP" || exit 1

ARGS="--model mlp --limit-train 2000 --limit-test 300 --batch-size 50 --seed 3 --threads 1 --lr 0.05
      --reduce-lr val_loss --lr-patience 1 --lr-factor 0.5 --lr-min-delta 0.02
      --early-stop val_loss --patience 4 --min-delta 0.005 --save-best val_acc"
"$VGGTOP" train $ARGS --epochs 14 --run-dir whole >whole.out 2>&1 || fail "straight run exited $? ($(tail -2 whole.out))"
"$VGGTOP" train $ARGS --epochs 5 --run-dir split >split.out 2>&1 || fail "first half exited $?"
"$VGGTOP" train --resume split --epochs 14 >resumed.out 2>&1 || fail "resume exited $? ($(tail -2 resumed.out))"
cut -d, -f1-8 whole/history.csv >a
cut -d, -f1-8 split/history.csv >b
cmp -s a b || fail "resumed history differs: $(diff a b | head -5)"
[ "$(cut -d, -f8 whole/history.csv | sed 1d | sort -u | wc -l)" -ge 2 ] || fail "the learning rate was never cut"
grep -q "learning rate" whole.out || fail "the log does not say the rate was cut"
[ -f whole/best.bin ] || fail "no best.bin"
"$VGGTOP" evaluate whole --best >best.out 2>&1 || fail "evaluate --best: $(cat best.out)"
# best.bin is the epoch with the highest val_acc: evaluating it gives that val_acc back.
best=$(sed 1d whole/history.csv | cut -d, -f6 | sort -g | tail -1)
got=$(sed 's/.*val_acc: \([0-9.]*\).*/\1/' best.out)
awk -v a="$best" -v b="$got" 'BEGIN { exit !((a - b) ^ 2 < 1e-8) }' || fail "evaluate --best: val_acc $got, the best epoch had $best"
# predictions.json names best.bin's epoch (the first with the highest val_acc), not the last one trained.
want=$(sed 1d whole/history.csv | awk -F, -v b="$best" '$6 == b { print NR; exit }')
grep -q "\"epoch\": $want," whole/predictions.json ||
    fail "evaluate --best: predictions.json says $(cat whole/predictions.json), best.bin is of epoch $want"
# A cosine schedule ends at its minimum, 0 by default: the checkpoint's rate 0 is no damage, and the finished
# run takes more epochs (the checkpoint check refused it as "not a number in (0, 10]").
"$VGGTOP" train --model mlp --limit-train 100 --limit-test 50 --batch-size 50 --threads 1 --epochs 2 \
    --schedule cosine --run-dir cos >cos.out 2>&1 || fail "cosine run exited $? ($(tail -1 cos.out))"
"$VGGTOP" train --resume cos --epochs 3 >cos2.out 2>&1 || fail "resume of a cosine run: $(tail -1 cos2.out)"
[ "$(wc -l <cos/history.csv)" -eq 4 ] || fail "the resumed cosine run did not add its epoch"
# Early stopping is part of the state a resume replays: a run it ended trains nothing more when resumed (it
# trained one extra epoch), and says why it is over. (loss, higher is better: no epoch after the first
# improves, so patience 1 stops after epoch 2.)
"$VGGTOP" train --model mlp --limit-train 100 --limit-test 50 --batch-size 50 --threads 1 --epochs 6 \
    --early-stop loss --mode max --patience 1 --run-dir es >es.out 2>&1 || fail "early-stopped run exited $?"
n=$(wc -l <es/history.csv)
[ "$n" -lt 7 ] || fail "early stopping did not stop the run ($(tail -1 es.out))"
"$VGGTOP" train --resume es --epochs 6 >es2.out 2>&1 || fail "resume of an early-stopped run exited $?"
[ "$(wc -l <es/history.csv)" -eq "$n" ] || fail "the resumed run trained past its early stop: $(tail -2 es2.out)"
grep -q "early stopping at epoch" es2.out || fail "the resume does not say early stopping ended it: $(tail -1 es2.out)"
# Settings that exclude each other are refused with one line.
"$VGGTOP" train --model mlp --schedule step --reduce-lr val_loss >x.out 2>&1
[ $? -eq 2 ] && grep -q "exclude each other" x.out || fail "--schedule with --reduce-lr: $(cat x.out)"
finish
