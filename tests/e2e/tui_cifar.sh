#!/bin/sh
# End-to-end test of the 100-class screens at 80x24: a CIFAR-100-shaped data set made on the fly (random
# pixels, fine label i % 100, superclass fine / 5), a one-epoch headless run on it, then `vggtop watch` on
# that run: the report scrolls to its last class, the 100x100 heatmap scrolls with its cursor and folds to
# 20 superclasses, and the samples show 32x32 colour images.
. "$(dirname "$0")/lib/tui.sh"

data="$TMP/cifar-100-binary"
made_up_cifar100 "$data" 200 100

run="$TMP/run"
"$VGGTOP" train --model mlp --data "$data" --epochs 1 --limit-train 200 --limit-test 100 --run-dir "$run" \
    > "$TMP/train.log" 2>&1 || { cat "$TMP/train.log" >&2; fail "vggtop train on the made-up CIFAR-100 failed (its log above)"; }

tui_start w 80 24 watch "$run"
tui_wait w "1/1 epochs done" 15

tui_keys w 3
tui_expect w "Report: 100 classes, 100 images"
tui_expect w "apple"
tui_reject w "worm"
tui_keys w End
tui_expect w " 99 worm"
tui_reject w "  0 apple"
tui_keys w Home
tui_expect w "  0 apple"

tui_keys w 4
tui_expect w "true apple → predicted apple"
tui_keys w End
tui_expect w "true worm → predicted worm"
# scrolled: beside row labels as wide as "aquarium_fish" (13; they were cut at 12), 35 columns fit at 80x24,
# so the first shown is 99 - 34
tui_expect w "pred 65.."
tui_keys w Left Left Up
tui_expect w "true woman → predicted wolf"
tui_keys w f
tui_expect w "20 superclasses"
tui_keys w f
tui_reject w "20 superclasses"

# Keys typed with 7, before the test images are loaded, are kept (they were dropped).
tui_keys w 7 Right Right
tui_expect w "Test image 3 of 100"
tui_keys w Home
tui_expect w "Test image 1 of 100"
# Only the misclassified: counted among them (it said "1 of 100" where 1 of the misclassified was meant).
missed=$(awk -F, 'NR > 1 && $2 != $3' "$run/predictions.csv" | wc -l)
first=$(awk -F, 'NR > 1 && $2 != $3 { print $1 + 1; exit }' "$run/predictions.csv")
tui_keys w m
tui_expect w "Misclassified image 1 of $missed (test image $first of 100)"

tui_keys w q
[ "$(tui_exited w 10)" = 0 ] || tui_fail w "vggtop watch did not exit 0 after q"
# The data set moves: Samples still shows the predictions and says why there is no image; --data finds it.
mv "$data" "$data.moved"
tui_start m 80 24 watch "$run"
tui_wait m "watching finished" 10
tui_keys m 7
tui_wait m "Test image 1 of 100" 10
tui_expect m "No image:"
tui_expect m "top 5:"
tui_keys m q
tui_start d 80 24 watch --data "$data.moved" "$run"
tui_wait d "watching finished" 10
tui_keys d 7
tui_wait d "Test image 1 of 100" 10
tui_reject d "No image:"
tui_keys d q
finish
