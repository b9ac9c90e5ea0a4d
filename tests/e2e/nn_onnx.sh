#!/bin/sh
# End-to-end: `vggtop export RUN --onnx FILE` (issue 24) for every model: the file passes onnx.checker (full
# check, shapes inferred), its doc string says how to prepare the input and its metadata holds the class
# names, and OpenCV's dnn module, given the run's 20 test images prepared as the doc string says, gives the
# probabilities of the run's predictions.csv within 1e-4 relative. The data set is a made-up CIFAR-100
# binary folder of 32x32 images written here (so --resize 32 leaves them as they are and the test feeds OpenCV
# exactly what vggtop saw). Needs python3-onnx and python3-opencv (test-only tools).
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
PY=/usr/bin/python3
"$PY" -c 'import onnx, cv2, numpy' 2>/dev/null || fatal "$PY has no onnx, cv2 or numpy (python3-onnx, python3-opencv)"
cd "$TMP" || exit 1
mkdir data
"$PY" - <<'EOF' || fatal "writing the data set"
import numpy as np
rng = np.random.default_rng(24)
for name, n in (("train", 24), ("test", 20)):
    img = rng.integers(0, 256, (n, 3, 8, 8)).repeat(4, axis=2).repeat(4, axis=3)  # blocky, 32x32
    labels = rng.integers(0, 100, n)
    with open(f"data/{name}.bin", "wb") as f:
        for i in range(n):
            f.write(bytes([labels[i] // 5, labels[i]]) + img[i].astype(np.uint8).tobytes())
EOF

for model in cnn mlp vgg16 vgg19 vgg16-nopool; do
    "$VGGTOP" train --model "$model" --data data --resize 32 --epochs 1 --threads 2 --lr 0.001 --run-dir "$model" \
        >/dev/null 2>err || { fail "train $model: $(cat err)"; continue; }
    "$VGGTOP" export "$model" --onnx "$model.onnx" 2>err || { fail "export --onnx $model: $(cat err)"; continue; }
    "$PY" - "$model" <<'EOF' || fail "$model: the ONNX model disagrees"
import csv, json, sys
import cv2, numpy as np, onnx
name = sys.argv[1]
m = onnx.load(f"{name}.onnx")
onnx.checker.check_model(m, full_check=True)
meta = {p.key: p.value for p in m.metadata_props}
assert m.opset_import[0].version in range(13, 18), m.opset_import
assert "divided by 255" in m.doc_string and "NHWC" in m.doc_string, m.doc_string
names = json.loads(meta["class_names"])
assert len(names) == 100 and meta["preprocessing"] == "x / 255", meta
raw = np.fromfile("data/test.bin", np.uint8).reshape(20, 3074)
x = (raw[:, 2:].reshape(20, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float32) / np.float32(255)).copy()
net = cv2.dnn.readNetFromONNX(f"{name}.onnx")
net.setInput(x)
got = net.forward()
rows = list(csv.DictReader(open(f"{name}/predictions.csv")))
want = np.array([[float(r[f"p{c}"]) for c in range(100)] for r in rows])
err = (np.abs(got - want) / want).max()
print(f"{name}: largest relative difference {err:.3g} on {len(rows)} images")
sys.exit(0 if got.shape == want.shape == (20, 100) and err <= 1e-4 else 1)
EOF
done
"$VGGTOP" export cnn --onnx x.onnx --keras x.h5 2>/dev/null; [ $? -eq 2 ] || fail "--onnx with --keras: not exit 2"
"$VGGTOP" export cnn --onnx none/x.onnx 2>/dev/null; [ $? -ne 0 ] || fail "an ONNX file in a missing folder"
finish
