#!/usr/bin/python3
"""Writes tests/fixtures/train/run/: a small run directory (config.json, history.csv, predictions.csv) made
from a seeded random case, and the outputs scikit-learn gives for it (golden files for tests/e2e/cli_runs.sh):
classification_report at 2 and 3 digits with the class names, the confusion matrix, and the per-class,
micro and macro (the seed's interpolation recipe) ROC AUCs and roc_auc_score's macro mean.

Run with Debian's python: /usr/bin/python3 tests/tools/train_fixture.py"""
import json
import os

import numpy as np
from sklearn.metrics import auc, classification_report, confusion_matrix, roc_auc_score, roc_curve

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/, this folder's parent
OUT = os.path.join(HERE, "fixtures", "train", "run")
NAMES = ["cat", "dog", "red fox", "owl"]
C, N = len(NAMES), 60

rng = np.random.default_rng(20261127)
y_true = rng.integers(0, C, N)
logits = rng.normal(size=(N, C)) + 1.5 * np.eye(C)[y_true]
probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
probs = probs.astype(np.float32)  # what the model emits; written with %.9g, so read back bit for bit
y_pred = probs.argmax(axis=1)

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "predictions.csv"), "w") as f:
    f.write("index,true,pred," + ",".join(f"p{c}" for c in range(C)) + "\n")
    for i in range(N):
        f.write(f"{i},{y_true[i]},{y_pred[i]}," + ",".join("%.9g" % float(p) for p in probs[i]) + "\n")

config = {
    "program": "vggtop", "version": "0.1.0", "created": "2026-11-27T20:00:00Z", "model": "mlp",
    "input_shape": [28, 28, 1], "classes": C, "params": 1000,
    "data": {"flag": "", "name": "fixture", "path": "/nonexistent", "labels": "fine", "resize": -1,
             "native_size": [28, 28], "augment": False, "limit_train": 0, "limit_test": 0, "n_train": 100,
             "n_test": N, "class_names": NAMES},
    "training": {"epochs": 4, "batch_size": 32,
                 "optimizer": {"name": "SGD", "lr": 0.01, "momentum": 0, "nesterov": False, "weight_decay": 0},
                 "seed": 1, "threads": 1, "runs": "runs"},
}
with open(os.path.join(OUT, "config.json"), "w") as f:
    json.dump(config, f, indent=1)
    f.write("\n")
# Three finished epochs of a run planned for four (hand-picked numbers; best val_acc at epoch 2).
with open(os.path.join(OUT, "history.csv"), "w") as f:
    f.write("epoch,loss,acc,mse,val_loss,val_acc,val_mse,lr,seconds\n")
    f.write("1,1.30000000,0.40000000,0.18000000,1.20000000,0.45000000,0.17000000,0.01,2.500\n")
    f.write("2,1.10000000,0.55000000,0.15000000,1.05000000,0.61666667,0.14000000,0.01,2.400\n")
    f.write("3,0.90000000,0.65000000,0.12000000,1.10000000,0.60000000,0.15000000,0.01,2.450\n")

GOLD = os.path.join(HERE, "fixtures", "train")
for digits in (2, 3):
    with open(os.path.join(GOLD, f"report{digits}.txt"), "w") as f:
        f.write(classification_report(y_true, y_pred, target_names=NAMES, digits=digits))
cm = confusion_matrix(y_true, y_pred, labels=range(C))
with open(os.path.join(GOLD, "confusion.csv"), "w") as f:
    for row in cm:
        f.write(",".join(str(v) for v in row) + "\n")

onehot = np.eye(C)[y_true]
p64 = probs.astype(np.float64)
fpr, tpr, aucs = [], [], []
for c in range(C):
    a, b, _ = roc_curve(onehot[:, c], p64[:, c])
    fpr.append(a)
    tpr.append(b)
    aucs.append(auc(a, b))
mf, mt, _ = roc_curve(onehot.ravel(), p64.ravel())
all_fpr = np.unique(np.concatenate(fpr))
mean_tpr = sum(np.interp(all_fpr, fpr[c], tpr[c]) for c in range(C)) / C
with open(os.path.join(GOLD, "roc.txt"), "w") as f:
    for c in range(C):
        f.write("%d %.4f\n" % (c, aucs[c]))
    f.write("micro %.4f\n" % auc(mf, mt))
    f.write("macro %.4f\n" % auc(all_fpr, mean_tpr))
    f.write("mean %.4f\n" % roc_auc_score(onehot, p64, average="macro"))
print("wrote", OUT, "and the golden files in", GOLD)
