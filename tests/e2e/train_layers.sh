#!/bin/sh
# End-to-end test of layer health and per-class history: a 2-epoch cnn run writes layers.csv (each weighted
# layer by its Keras name, every epoch) and per_class.csv; vggtop layers prints an epoch's table and flags a
# layer whose gradient vanishes (made up here: block1_conv1's gradient a thousandth of the others') with the
# hint; report --epoch and --history read per_class.csv; bad requests exit 2 with one line.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
FAIL_FAST=1
cd "$TMP" || exit 1
"$VGGTOP" train --model cnn --limit-train 600 --limit-test 100 --epochs 2 --threads 1 --run-dir r >out 2>&1 ||
    fail "train exited $? ($(tail -2 out))"
[ "$(head -1 r/layers.csv)" = "epoch,layer,weight_norm,grad_norm,update_ratio,dead_relu,act_mean,act_std" ] ||
    fail "layers.csv header: $(head -1 r/layers.csv)"
for e in 1 2; do
    got=$(awk -F, -v e=$e '$1 == e { printf "%s ", $2 }' r/layers.csv)
    [ "$got" = "block1_conv1 block1_conv2 block2_conv1 block2_conv2 fc1 predictions " ] || fail "epoch $e layers: $got"
done
# every gradient norm positive, every dead share in [0, 1] (NaN for the softmax layer)
awk -F, 'NR > 1 && !($4 > 0) { exit 1 } NR > 1 && $2 != "predictions" && !($6 >= 0 && $6 <= 1) { exit 1 }' r/layers.csv ||
    fail "layers.csv values out of range"
"$VGGTOP" layers r >t 2>&1 || fail "layers exited $?"
grep -q '^epoch 2 of' t && grep -q '^fc1 ' t || fail "layers table: $(cat t)"
grep -q vanishing t && fail "a healthy run flagged as vanishing: $(cat t)"
# A vanishing first layer, by hand.
awk -F, 'BEGIN { OFS = "," } NR > 1 && $2 == "block1_conv1" && $1 == 2 { $4 = $4 / 1000 } { print }' r/layers.csv >l &&
    mv l r/layers.csv
"$VGGTOP" layers r >t 2>&1 || fail "layers exited $?"
grep -q '^block1_conv1 .*vanishing$' t || fail "block1_conv1 not flagged: $(cat t)"
[ "$(grep -c vanishing t)" -eq 1 ] || fail "more than block1_conv1 flagged: $(cat t)"
grep -q "receives almost no gradient" t || fail "no hint: $(cat t)"
"$VGGTOP" layers r --epoch 7 >t 2>err
[ $? -eq 2 ] && [ "$(grep -c . err)" -eq 1 ] || fail "--epoch 7: $(cat err)"
# per_class.csv: 10 classes a epoch; report --epoch 2 equals report.txt (the last evaluation) in its rows.
[ "$(grep -c '^2,' r/per_class.csv)" -eq 10 ] && [ "$(grep -c '^1,' r/per_class.csv)" -eq 10 ] ||
    fail "per_class.csv rows: $(wc -l <r/per_class.csv)"
"$VGGTOP" report r --epoch 2 >e2 2>&1 || fail "report --epoch 2: $(cat e2)"
for c in Trouser Bag; do
    [ "$(grep "^ *$c " e2)" = "$(grep "^ *$c " r/report.txt)" ] || fail "report --epoch 2, $c: $(grep "$c" e2) vs $(grep "$c" r/report.txt)"
done
"$VGGTOP" report r --history Bag >h 2>&1 || fail "report --history Bag: $(cat h)"
[ "$(grep -c '^ *[12] ' h)" -eq 2 ] || fail "report --history: $(cat h)"
"$VGGTOP" report r --history Unicorn >h 2>err
[ $? -eq 2 ] && grep -q "Unicorn" err || fail "report --history Unicorn: $(cat err)"
# A run without per_class.csv (written before it existed): --epoch and --history say so, exit 2.
cp -r r old && rm old/per_class.csv
for q in "--epoch 2" "--history Bag"; do
    "$VGGTOP" report old $q >h 2>err
    [ $? -eq 2 ] && [ ! -s h ] && [ "$(grep -c . err)" -eq 1 ] && grep -q per_class.csv err ||
        fail "report $q without per_class.csv: $(cat h err)"
done
finish
