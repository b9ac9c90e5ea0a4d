#!/bin/sh
# End-to-end: training on your own images (issue 21 item 16): a folder of class folders written by OpenCV
# (cv2.imwrite, PNG and JPEG of odd sizes, a stray text file) trains an mlp and a cnn for an epoch with
# --validation-split, is cached once in the folder (the second run reads the cache), evaluates from another
# folder (config.json keeps the absolute path and the fingerprint) to the numbers training wrote, and predicts
# one of its own images by the folder's class names; `vggtop data` describes it; the samples figure reads
# the cache of the run's side; the train/test layout and
# --val-data train too; a changed folder is refused by evaluate and --resume; hostile folders (no validation
# images, a corrupt image (its name's control bytes escaped in the line), an empty class folder, a single
# class) exit 2 with one line naming what is wrong and leave no run directory. Loading holds the images once,
# not twice. One image per class is enough to train on (and `vggtop data` says "1 image").
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
PY=/usr/bin/python3
"$PY" -c 'import cv2, numpy' 2>/dev/null || fatal "$PY has no cv2 or numpy (python3-opencv, python3-numpy)"
cd "$TMP" || exit 1

# Three shapes, 24 images each, 20..59 pixels a side; even ones PNG, odd ones JPEG; a stray notes.txt.
"$PY" "$TOP/tests/tools/shapes_folder.py" shapes --classes 3 --per 24 || fatal "writing the images"

"$VGGTOP" data --data shapes --validation-split 0.25 >out 2>err || fail "data: $(cat err)"
grep -q "^format *image folder" out && grep -q "^classes *3" out && grep -q "^train *54 images" out &&
    grep -q "^test *18 images" out && grep -q "^class names *circle, square, triangle" out &&
    grep -q "1 other file ignored" out || fail "data says: $(cat out)"
[ -f shapes/.vggtop-cache-32.bin ] || fail "no cache beside the images after vggtop data"

for model in mlp cnn; do
    "$VGGTOP" train --model $model --data shapes --validation-split 0.25 --epochs 1 --threads 1 \
        --run-dir "run-$model" >"train-$model.out" 2>err || fail "train $model: $(cat err)"
    grep -q "read from the cache" "train-$model.out" || fail "train $model did not read the cache: $(head -3 "train-$model.out")"
done
"$PY" - <<'PYEOF' || fail "config.json"
import json, os, sys
c = json.load(open("run-cnn/config.json"))
d = c["data"]
if d["path"] != os.path.abspath("shapes") or len(d["fingerprint"]) != 16 or d["validation_split"] != 0.25:
    sys.exit(f"data: {d}")
if d["class_names"] != ["circle", "square", "triangle"] or d["n_train"] != 54 or d["n_test"] != 18:
    sys.exit(f"data: {d}")
if c["input_shape"] != [32, 32, 3] or c["classes"] != 3:
    sys.exit(f"shape: {c['input_shape']}, classes {c['classes']}")
PYEOF

# evaluate from elsewhere: the run finds its folder by its absolute path, and agrees with training.
cp run-cnn/predictions.csv trained.csv
mkdir elsewhere
(cd elsewhere && "$VGGTOP" evaluate ../run-cnn >../eval.out 2>../err) || fail "evaluate from elsewhere: $(cat err)"
cmp -s trained.csv run-cnn/predictions.csv || fail "evaluate's predictions differ from training's"
"$VGGTOP" report run-cnn >report.out 2>err && grep -q "triangle" report.out || fail "report lacks the class names"

# predict one of the folder's own images: the top classes are the folder's names.
"$VGGTOP" predict run-cnn shapes/square/004.png >pred.out 2>err || fail "predict: $(cat err)"
grep -Eq "^  1\. (circle|square|triangle) " pred.out || fail "predict says: $(cat pred.out)"

# Another side gets a cache of its own; the samples figure (as the Samples screen) reads the run's side's.
"$VGGTOP" train --model cnn --data shapes --validation-split 0.25 --resize 40 --epochs 1 --threads 1 \
    --run-dir run-40 >/dev/null 2>err || fail "train --resize 40: $(cat err)"
[ -f shapes/.vggtop-cache-40.bin ] || fail "no cache of side 40"
mv shapes/.vggtop-cache-32.bin cache-32.bin
"$VGGTOP" plot run-40 --what samples --out figs >/dev/null 2>err && [ -s figs/run-40-samples.png ] ||
    fail "the samples figure of a folder run: $(cat err)"
[ ! -e shapes/.vggtop-cache-32.bin ] || fail "the samples figure decoded the folder again at another side"
mv cache-32.bin shapes/.vggtop-cache-32.bin

# The train/test layout and --val-data.
mkdir -p split && cp -r shapes split/train && cp -r shapes split/test && rm split/test/*/01* # 010..019: 14 of 24 left per class
"$VGGTOP" train --model mlp --data split --epochs 1 --threads 1 --run-dir run-layout >/dev/null 2>err ||
    fail "train on DIR/train + DIR/test: $(cat err)"
grep -q '"n_test":	42' run-layout/config.json || fail "the layout's test images: $(grep n_test run-layout/config.json)"
"$VGGTOP" train --model mlp --data split/train --val-data split/test --epochs 1 --threads 1 --run-dir run-val \
    >/dev/null 2>err || fail "train --val-data: $(cat err)"
grep -q "\"val_data\":	\"$TMP/split/test\"" run-val/config.json || fail "val_data is not kept absolute"

# A changed folder is another data set: evaluate and --resume refuse it, naming --data.
cp shapes/circle/000.png shapes/circle/000-copy.png
expect_usage_error "is not the data set this run was made with" "$VGGTOP" evaluate run-mlp
expect_usage_error "is not the data set this run was made with" "$VGGTOP" train --resume run-mlp --epochs 2
rm shapes/circle/000-copy.png
"$VGGTOP" evaluate run-mlp >/dev/null 2>err || fail "evaluate after the folder came back: $(cat err)"
# A moved folder: evaluate, --resume and the samples figure say the path is the run's, not a --data the user
# gave, and how to point it.
mv shapes shapes-moved
expect_usage_error "the run's data set $TMP/shapes: No such file or directory (give --data DIR where it is now)" \
    "$VGGTOP" evaluate run-mlp
expect_usage_error "the run's data set $TMP/shapes: No such file or directory (give --data DIR" \
    "$VGGTOP" train --resume run-mlp --epochs 2
"$VGGTOP" plot run-mlp --what samples --out figs2 >/dev/null 2>err
grep -q "the run's data set $TMP/shapes: .*(give --data DIR" err || fail "the samples figure of a moved folder: $(cat err)"
"$VGGTOP" evaluate run-mlp --data shapes-moved >/dev/null 2>err || fail "evaluate --data the moved folder: $(cat err)"
mv shapes-moved shapes

# Memory: the split is made in place, not from a second copy of the images (peak RSS was twice the pixels).
# 200 images at 512x512 are 150 MiB of pixels; the 40 validation images are copied out (30 MiB).
"$PY" - "$VGGTOP" <<'PYEOF' || fail "the peak memory of loading a folder"
import os, resource, subprocess, sys
import cv2, numpy as np
r = np.random.RandomState(2)
for c in range(2):
    os.makedirs(f"mem/c{c}", exist_ok=True)
    for i in range(100):
        cv2.imwrite(f"mem/c{c}/{i:03d}.png", (r.rand(8, 8, 3) * 255).astype(np.uint8))
subprocess.run([sys.argv[1], "data", "--data", "mem", "--validation-split", "0.2", "--resize", "512"], check=True,
               stdout=subprocess.DEVNULL)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
pixels = 200 * 512 * 512 * 3
if peak > 1.4 * pixels + (40 << 20):
    sys.exit(f"peak RSS {peak >> 20} MiB for {pixels >> 20} MiB of pixels")
PYEOF
rm -r mem

# Hostile folders: one line naming what is wrong, exit 2, no run directory.
expect_usage_error "needs validation images" "$VGGTOP" train --model mlp --data shapes --run-dir bad1
printf 'not a jpeg' >shapes/square/zzz.jpg
expect_usage_error "shapes/square/zzz.jpg: not a PNG or JPEG image" "$VGGTOP" train --model mlp --data shapes \
    --validation-split 0.2 --run-dir bad2
rm shapes/square/zzz.jpg
esc=$(printf 'z\033[2J.png') # a name that would clear the terminal: the line shows it as ls does
printf 'not a png' >"shapes/square/$esc"
expect_usage_error 'shapes/square/z\\e\[2J.png: not a PNG or JPEG image' "$VGGTOP" train --model mlp --data shapes \
    --validation-split 0.2 --run-dir bad5
grep -q "$(printf '\033')" "$TMP/usage.err" && fail "the error line holds a raw escape: $(od -c "$TMP/usage.err" | head -3)"
rm "shapes/square/$esc"
mkdir shapes/empty
expect_usage_error "shapes/empty: a class folder without a PNG or JPEG file" "$VGGTOP" train --model mlp \
    --data shapes --validation-split 0.2 --run-dir bad3
rmdir shapes/empty
mkdir -p one && cp -r shapes/circle one/
expect_usage_error "one class folder (circle)" "$VGGTOP" train --model mlp --data one --validation-split 0.2 \
    --run-dir bad4
mkdir -p each/circle each/square && cp shapes/circle/000.png each/circle/ && cp shapes/square/001.jpg each/square/
"$VGGTOP" data --data each --validation-split 0.5 >out 2>err || fail "data on one image per class: $(cat err)"
grep -q "^train *1 image$" out && grep -q "^test *1 image$" out || fail "data on one image per class says: $(cat out)"
"$VGGTOP" train --model mlp --data each --validation-split 0.5 --epochs 1 --threads 1 --run-dir run-each >/dev/null \
    2>err || fail "train on one image per class: $(cat err)"
for d in bad1 bad2 bad3 bad4 bad5; do [ ! -e "$d" ] || fail "$d was left behind"; done
finish
