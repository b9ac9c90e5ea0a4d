#!/bin/sh
# End-to-end: the Samples screen of a run trained on your own images (issue 21 item 16, issue 24's Samples):
# a cnn trained on a folder of class folders written by OpenCV, opened with `vggtop watch RUN --image FILE`,
# shows that image first with the top class `vggtop predict` gives it and the folder's class names, then
# (Right) the run's validation images from the folder's cache; an image that is not one says so in its place.
. "$(dirname "$0")/lib/tui.sh"
PY=/usr/bin/python3
"$PY" -c 'import cv2, numpy' 2>/dev/null || fatal "$PY has no cv2 or numpy (python3-opencv, python3-numpy)"
cd "$TMP" || exit 1
"$PY" "$TOP/tests/tools/shapes_folder.py" shapes --classes 2 --per 12 || fatal "writing the images"
"$VGGTOP" train --model cnn --data shapes --validation-split 0.25 --epochs 1 --threads 1 --run-dir run \
    >/dev/null 2>err || fatal "train: $(cat err)"
"$VGGTOP" predict run shapes/square/004.png >pred.out 2>err || fatal "predict: $(cat err)"
top=$(sed -n 's/^  1\. \([a-z]*\) .*/\1/p' pred.out)
[ -n "$top" ] || fatal "predict says: $(cat pred.out)"

tui_start s 100 30 watch --image "$TMP/shapes/square/004.png" "$TMP/run"
tui_keys s 7
tui_wait s "Your image: $TMP/shapes/square/004.png" 10
tui_expect s "predicted: $top"
tui_expect s "top 5:"
tui_expect s "Right: the run's test images"
tui_keys s Right
tui_wait s "Test image 1 of 6" 5
tui_expect s "true:"
tui_reject s "No image:"
tui_keys s Left
tui_wait s "Your image:" 5
tui_keys s q
[ "$(tui_exited s 20)" = 0 ] || tui_fail s "vggtop watch did not exit 0 after q"

printf 'not an image' >"$TMP/bad.png"
tui_start b 100 30 watch --image "$TMP/bad.png" "$TMP/run"
tui_keys b 7
tui_wait b "No prediction: $TMP/bad.png: not a PNG or JPEG image" 10
tui_keys b q
[ "$(tui_exited b 20)" = 0 ] || tui_fail b "vggtop watch did not exit 0 after q"
finish
