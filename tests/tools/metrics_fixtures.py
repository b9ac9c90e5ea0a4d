#!/usr/bin/python3
"""Generates tests/fixtures/metrics/: seeded random cases and what scikit-learn says about them.

Run with Debian's python3 (sklearn 1.2.1, numpy 1.24), from the repository root:
    /usr/bin/python3 tests/tools/metrics_fixtures.py
sklearn is the reference only; vggtop never imports it. For each case it writes
  <case>.bin.gz  the inputs and the curves, little-endian:
                 int32 n, int32 C, int32 probs_format, int32 curves_full, int32 y_true[n],
                 probs: float32[n*C] (format 0) or uint16 numerators k of k / 65536 (format 1, the
                 large case: exact in float32, half the size);
                 then C+2 curves (each class one-vs-rest, then micro, then macro), each
                 int32 m, uint32 crc32 of fpr, of tpr and of thresholds (as float64 little-endian
                 bytes, NaN canonical; the macro curve has no thresholds: crc 0), and when curves_full
                 float64 fpr[m], float64 tpr[m] and (except macro) float32 thresholds[m].
                 The 100 x 10,000 case keeps only the CRCs: its curves would take megabytes.
  <case>.json    the expected numbers: classification_report texts and dicts, confusion matrices, AUCs,
                 top-1/top-5, mse, log loss, the most confused pairs.
Probabilities are float32, as the engine emits them; sklearn sees the same float32 values.
"""
import gzip
import json
import os
import struct
import sys
import warnings
import zlib

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (auc, classification_report, confusion_matrix, log_loss, roc_auc_score,
                             roc_curve, top_k_accuracy_score)

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "metrics")

CIFAR100 = ("apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly "
            "camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup "
            "dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower "
            "leopard lion lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid "
            "otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine possum rabbit raccoon ray road "
            "rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar sunflower "
            "sweet_pepper table tank telephone television tiger tractor train trout tulip turtle wardrobe whale "
            "willow_tree wolf woman worm").split()
assert len(CIFAR100) == 100


def softmax_probs(rng, n, C, y, bonus, spread=1.0, damp=()):
    """float32 (n, C) probabilities: a softmax of noisy logits that favour the true class."""
    logits = rng.normal(0.0, spread, size=(n, C))
    logits[np.arange(n), y] += bonus
    for c in damp:  # classes that must never win the argmax
        logits[:, c] -= 50.0
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def note_lines(no_pred, no_true):
    """What follows sklearn's table where it warns (UndefinedMetricWarning): a blank line, then notes in
    vggtop's own wording."""
    def noun(k):
        return "class" if k == 1 else "classes"
    lines = []
    if no_pred:
        lines.append("note: precision and F-score are ill-defined and set to 0.0 for %d %s with no predicted samples"
                     % (no_pred, noun(no_pred)))
    if no_true:
        lines.append("note: recall and F-score are ill-defined and set to 0.0 for %d %s with no true samples"
                     % (no_true, noun(no_true)))
    return "".join("\n" + l + "\n" if i == 0 else l + "\n" for i, l in enumerate(lines))


def report_case(y, pred, C, all_labels, names, digits):
    labels = list(range(C)) if all_labels else sorted(set(y.tolist()) | set(pred.tolist()))
    kwargs = {"labels": labels} if all_labels else {}
    target_names = [names[l] for l in labels] if names else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = classification_report(y, pred, digits=digits, target_names=target_names, **kwargs)
        as_dict = classification_report(y, pred, target_names=target_names, output_dict=True, **kwargs)
    warned = any(issubclass(w.category, UndefinedMetricWarning) for w in caught)
    # Count the ill-defined classes independently of sklearn, and check sklearn warned exactly then.
    pred_counts = np.bincount(pred, minlength=C)
    true_counts = np.bincount(y, minlength=C)
    no_pred = sum(1 for l in labels if pred_counts[l] == 0)
    no_true = sum(1 for l in labels if true_counts[l] == 0)
    assert warned == bool(no_pred or no_true), (warned, no_pred, no_true)
    return {"all_labels": int(all_labels), "names": int(names is not None), "digits": digits, "text": text,
            "note": note_lines(no_pred, no_true), "dict": as_dict}


def curve(y01, score):
    """sklearn's roc_curve; thresholds stay float32 (thresholds[0] = max + 1 in float32)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        fpr, tpr, thr = roc_curve(y01, score)
    assert thr.dtype == np.float32
    return fpr, tpr, thr


def crc(a):
    a = np.array(a, dtype="<f8")
    a[np.isnan(a)] = np.nan
    return zlib.crc32(a.tobytes())


def pack_curve(fpr, tpr, thr, full):
    out = struct.pack("<iIII", len(fpr), crc(fpr), crc(tpr), crc(thr) if thr is not None else 0)
    if full:
        out += np.asarray(fpr, "<f8").tobytes() + np.asarray(tpr, "<f8").tobytes()
        if thr is not None:
            out += np.asarray(thr, "<f4").tobytes()
    return out


def jnum(x):
    x = float(x)
    return None if np.isnan(x) else x


def make_case(name, y, probs, names=None, reports=((0, False, 2),), fold_k=None, rng=None, quantised=False):
    n, C = probs.shape
    assert probs.dtype == np.float32 and y.shape == (n,)
    pred = probs.argmax(axis=1)
    onehot = np.eye(C, dtype=np.int64)[y]
    full = not quantised
    blob = [struct.pack("<iiii", n, C, int(quantised), int(full)), y.astype("<i4").tobytes()]
    if quantised:
        k = probs.astype(np.float64) * 65536.0
        assert (k == np.floor(k)).all() and k.max() < 65536
        blob.append(k.astype("<u2").tobytes())
    else:
        blob.append(probs.astype("<f4").tobytes())
    exp = {"n": n, "C": C, "names": names}

    exp["reports"] = [report_case(y, pred, C, a, names if use_names else None, d) for a, use_names, d in reports]
    cm = confusion_matrix(y, pred, labels=range(C))
    exp["confusion"] = cm.ravel().tolist()
    if C <= 20:
        with np.errstate(all="ignore"):
            exp["confusion_true"] = confusion_matrix(y, pred, labels=range(C), normalize="true").ravel().tolist()
            exp["confusion_pred"] = confusion_matrix(y, pred, labels=range(C), normalize="pred").ravel().tolist()
    if fold_k:
        fmap = rng.integers(0, fold_k, size=C)
        folded = np.zeros((fold_k, fold_k), np.int64)
        np.add.at(folded, (fmap[y], fmap[pred]), 1)
        exp["fold_map"], exp["fold_k"], exp["folded"] = fmap.tolist(), fold_k, folded.ravel().tolist()

    # Most confused pairs: off-diagonal cells by count, then true, then predicted class.
    rows = cm.sum(axis=1)
    cells = [(-int(cm[t, p]), t, p) for t in range(C) for p in range(C) if t != p and cm[t, p] > 0]
    cells.sort()
    exp["pairs"] = [[t, p, -c, -c / int(rows[t])] for c, t, p in cells[:15]]

    # ROC: per class (as the seed, on the float32 column), micro on everything pooled, macro by the
    # seed's recipe over the classes whose curve is defined.
    aucs, fprs, tprs = [], [], []
    for c in range(C):
        fpr, tpr, thr = curve(onehot[:, c], probs[:, c])
        blob.append(pack_curve(fpr, tpr, thr, full))
        fprs.append(fpr)
        tprs.append(tpr)
        aucs.append(auc(fpr, tpr))
    fpr, tpr, thr = curve(onehot.ravel(), probs.ravel())
    blob.append(pack_curve(fpr, tpr, thr, full))
    exp["auc_class"] = [jnum(a) for a in aucs]
    exp["auc_micro"] = jnum(auc(fpr, tpr))
    valid = [c for c in range(C) if not np.isnan(aucs[c])]
    all_fpr = np.unique(np.concatenate([fprs[c] for c in valid]))
    mean_tpr = np.zeros_like(all_fpr)
    for c in valid:
        mean_tpr += np.interp(all_fpr, fprs[c], tprs[c])
    mean_tpr /= len(valid)
    blob.append(pack_curve(all_fpr, mean_tpr, None, full))
    exp["auc_macro_interp"] = float(auc(all_fpr, mean_tpr))
    exp["auc_macro_mean"] = float(roc_auc_score(onehot[:, valid], probs[:, valid], average="macro"))
    assert abs(exp["auc_macro_mean"] - np.mean([aucs[c] for c in valid])) < 1e-15

    # Top-k with ties going to the lower class index: the position of the true class in a stable sort
    # of the scores, highest first.
    order = np.argsort(-probs, axis=1, kind="stable")
    rank = np.argmax(order == y[:, None], axis=1)
    for k in (1, 5):
        exp["top%d" % k] = float(np.mean(rank < k))
        if 2 < C and k < C and not any(len(np.unique(r)) < C for r in probs):  # no ties: sklearn agrees
            assert exp["top%d" % k] == top_k_accuracy_score(y, probs, k=k, labels=range(C))
    assert exp["top1"] == float(np.mean(pred == y))
    p64 = probs.astype(np.float64)
    exp["mse"] = float(np.mean((onehot - p64) ** 2))
    exp["log_loss"] = float(log_loss(y, p64, labels=range(C)))

    with gzip.GzipFile(os.path.join(OUT, name + ".bin.gz"), "wb", compresslevel=9, mtime=0) as f:
        f.write(b"".join(blob))
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(exp, f, ensure_ascii=False, indent=0)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []

    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, 500)
    cases.append(("random10", y, softmax_probs(rng, 500, 10, y, 1.5), None,
                  ((0, False, 2), (1, False, 3)), 4))

    # 100 classes x 10,000 samples, probabilities quantised to k / 65536 (exact in float32, many ties
    # among the small ones), CIFAR-100's names: the longest, aquarium_fish, widens the first column.
    rng = np.random.default_rng(2)
    y = rng.integers(0, 100, 10000)
    p = softmax_probs(rng, 10000, 100, y, 3.0, spread=1.5)
    p = (np.minimum(np.floor(p.astype(np.float64) * 65536.0), 65535) / 65536.0).astype(np.float32)
    cases.append(("cifar100", y, p, CIFAR100, ((0, False, 2), (0, True, 2), (1, True, 4)), 20))

    rng = np.random.default_rng(3)
    y = rng.integers(0, 8, 300)
    cases.append(("never_predicted", y, softmax_probs(rng, 300, 8, y, 1.0, damp=(2, 5, 6)), None,
                  ((0, False, 2), (1, False, 2)), None))

    # y_true never holds 4, 9 or 11; 11 is never predicted either (absent from both).
    rng = np.random.default_rng(4)
    y = rng.choice([0, 1, 2, 3, 5, 6, 7, 8, 10], 240)
    cases.append(("absent_true", y, softmax_probs(rng, 240, 12, y, 1.0, damp=(11,)), None,
                  ((0, False, 2), (1, False, 2), (1, False, 5)), None))

    # Scores on a grid of eighths: ties everywhere, in the curves and in the argmax.
    rng = np.random.default_rng(5)
    y = rng.integers(0, 6, 400)
    p = rng.integers(0, 9, size=(400, 6)).astype(np.float64)
    p[np.arange(400), y] += rng.integers(0, 3, 400)
    cases.append(("ties", y, (np.minimum(p, 8) / 8.0).astype(np.float32), None, ((0, False, 2),), None))

    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 300)
    cases.append(("binary", y, softmax_probs(rng, 300, 2, y, 1.0), ["negative", "positive"],
                  ((0, False, 2), (0, True, 2)), None))

    rng = np.random.default_rng(7)
    names = ["cat", "a_rather_long_class_name", "épée", "x", "dog,cat \"mix\""]
    y = rng.integers(0, 5, 120)
    cases.append(("names", y, softmax_probs(rng, 120, 5, y, 0.8), names,
                  ((0, True, 0), (0, True, 2), (0, True, 3), (0, True, 30), (0, False, 20)), None))

    rng = np.random.default_rng(8)
    y = rng.integers(0, 3, 30)
    p = np.full((30, 3), 0.05, np.float32)
    p[np.arange(30), y] = 0.9
    cases.append(("perfect", y, p, None, ((0, False, 2),), None))

    for name, y, p, nm, reports, fold_k in cases:
        make_case(name, y, p, nm, reports, fold_k, np.random.default_rng(99), quantised=name == "cifar100")
        print("wrote", name, file=sys.stderr)


if __name__ == "__main__":
    main()
