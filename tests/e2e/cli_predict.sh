#!/bin/sh
# End-to-end: `vggtop predict RUN IMAGE...` (issue 24). The run's own test images written as PNG and JPEG by
# OpenCV (cv2.imwrite) give the probabilities of the run's predictions.csv: PNG exactly (float for float),
# JPEG within its compression loss. A folder gives one CSV (a folder of only sub-folders names one to give); --json gives every probability; images of another
# size, greyscale, with alpha or 16-bit samples are converted as OpenCV's imread(IMREAD_COLOR) converts them
# (each predicts as the 8-bit colour PNG of what imread made of it); hostile files (not an image, a truncated
# JPEG or PNG, a PNG declaring 100,000 x 100,000 pixels) exit 2 with one line naming the file and write nothing.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
PY=/usr/bin/python3
DATA=$TOP/tests/fixtures/data/cifar-100-python # 2 test images, 32x32x3
"$PY" -c 'import cv2, numpy' 2>/dev/null || fatal "$PY has no cv2 or numpy (python3-opencv, python3-numpy)"
cd "$TMP" || exit 1

"$VGGTOP" train --model cnn --data "$DATA" --epochs 1 --threads 1 --run-dir run >/dev/null 2>err ||
    fatal "train: $(cat err)"
mkdir images
"$PY" - "$DATA" <<'EOF' || fatal "writing the images"
import pickle, struct, sys, zlib
import cv2
import numpy as np
d = pickle.load(open(sys.argv[1] + "/test", "rb"), encoding="bytes")
x = np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
bgr = [np.ascontiguousarray(im[..., ::-1]) for im in x]  # OpenCV's channel order
for i, im in enumerate(bgr):
    assert cv2.imwrite(f"images/test{i}.png", im)
    assert cv2.imwrite(f"test{i}.jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 95])
assert cv2.imwrite("alpha.png", cv2.cvtColor(bgr[0], cv2.COLOR_BGR2BGRA))
assert cv2.imwrite("grey.png", cv2.cvtColor(bgr[0], cv2.COLOR_BGR2GRAY))
assert cv2.imwrite("deep.png", bgr[0].astype(np.uint16) * 256 + 0x33)  # 16-bit colour; imread keeps the high byte
assert cv2.imwrite("large.jpg", cv2.resize(bgr[0], (100, 80), interpolation=cv2.INTER_CUBIC))
# What imread(IMREAD_COLOR) makes of the converted files, as plain 8-bit colour PNGs to compare with.
for name in ["alpha.png", "grey.png", "deep.png"]:
    assert cv2.imwrite("as-read-" + name, cv2.imread(name, cv2.IMREAD_COLOR))
open("text.png", "w").write("not an image\n")
jpg = open("test0.jpg", "rb").read()
open("cut.jpg", "wb").write(jpg[: len(jpg) // 2])
png = open("images/test0.png", "rb").read()
open("cut.png", "wb").write(png[: len(png) // 2])
ihdr = b"IHDR" + struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
# A whole header and a first (tiny) image chunk: enough for a decoder to read the size and start.
open("huge.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr[4:]) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                             + chunk(b"IEND", b""))
EOF

# PNG: the probabilities of predictions.csv, float for float (both print a float exactly).
"$VGGTOP" predict run images/test0.png images/test1.png --json out.json 2>err || fail "predict --json: $(cat err)"
"$PY" - <<'EOF' || fail "PNG predictions differ from the run's"
import csv, json, sys
import numpy as np
mine = [json.loads(line) for line in open("out.json")]
rows = list(csv.DictReader(open("run/predictions.csv")))
for m, r in zip(mine, rows):
    want = np.array([float(r[f"p{c}"]) for c in range(100)], np.float32)
    got = np.array(m["probabilities"], np.float32)
    if not np.array_equal(got, want) or m["top"][0]["index"] != int(r["pred"]):
        sys.exit(f"{m['file']}: largest difference {np.abs(got - want).max()}")
if len(mine) != 2:
    sys.exit("not two predictions")
EOF
# A run's checkpoint file stands for the run.
"$VGGTOP" predict run/checkpoint.bin images/test0.png images/test1.png --json ck.json 2>err &&
    cmp -s out.json ck.json || fail "predict CHECKPOINT: $(cat err)"
# JPEG: within its compression loss.
"$VGGTOP" predict run test0.jpg test1.jpg --json jpg.json 2>err || fail "predict JPEG: $(cat err)"
"$PY" - <<'EOF' || fail "JPEG predictions too far from the run's"
import csv, json, sys
import numpy as np
mine = [json.loads(line) for line in open("jpg.json")]
rows = list(csv.DictReader(open("run/predictions.csv")))
for m, r in zip(mine, rows):
    want = np.array([float(r[f"p{c}"]) for c in range(100)])
    got = np.array(m["probabilities"])
    if (np.abs(got - want) > 0.1 * want).any():
        sys.exit(f"{m['file']}: largest difference {np.abs(got - want).max()}")
EOF
# A folder: one CSV, sorted; text by default, with --top.
"$VGGTOP" predict run images --csv table.csv 2>err || fail "predict FOLDER --csv: $(cat err)"
[ "$(head -1 table.csv)" = "file,class_1,p_1,class_2,p_2,class_3,p_3,class_4,p_4,class_5,p_5" ] || fail "CSV header"
[ "$(cut -d, -f1 table.csv | tail -n +2 | tr '\n' ' ')" = "images/test0.png images/test1.png " ] || fail "CSV rows"
"$VGGTOP" predict run images/test0.png --top 3 >text || fail "predict text"
[ "$(wc -l <text)" -eq 4 ] && grep -q '^  3\. ' text || fail "text output: $(cat text)"
# Converted as OpenCV would, not refused.
"$VGGTOP" predict run alpha.png grey.png deep.png large.jpg >/dev/null 2>err || fail "conversions: $(cat err)"
"$VGGTOP" predict run alpha.png images/test0.png --json a.json && "$PY" -c '
import json, sys
a, b = [json.loads(l)["probabilities"] for l in open("a.json")]
sys.exit(a != b)' || fail "alpha is not dropped"
for f in alpha.png grey.png deep.png; do
    "$VGGTOP" predict run "$f" "as-read-$f" --json conv.json 2>err && "$PY" -c '
import json, sys
a, b = [json.loads(l)["probabilities"] for l in open("conv.json")]
sys.exit(a != b)' || fail "$f is not converted as imread(IMREAD_COLOR) converts it $(cat err)"
done

# Hostile files: one line naming the file, exit 2, nothing written.
hostile() { # FILE EXPECTED-TEXT
    "$VGGTOP" predict run images/test0.png "$1" --csv never.csv >/dev/null 2>err
    rc=$?
    [ $rc -eq 2 ] || fail "$1: exit $rc, not 2 ($(cat err))"
    [ "$(wc -l <err)" -eq 1 ] && grep -q "$1: .*$2" err || fail "$1: message $(cat err)"
    [ -e never.csv ] && fail "$1: never.csv was written"
}
hostile text.png "not a PNG or JPEG"
hostile cut.jpg "truncated or damaged JPEG"
hostile cut.png "not a readable PNG"
hostile huge.png "100000x100000 pixels, more than"
hostile missing.png "no such file"
mkdir -p classes/cat && cp images/test0.png classes/cat/ # a folder of class folders: its sub-folders are named
hostile classes "sub-folders are not read: name them, e.g. classes/cat"
"$VGGTOP" predict run 2>/dev/null; [ $? -eq 2 ] || fail "no IMAGE: not exit 2"
"$VGGTOP" predict nowhere images/test0.png 2>/dev/null; [ $? -eq 2 ] || fail "no run: not exit 2"
finish
