#!/usr/bin/python3
"""Generates the fixtures of `vggtop diff` (two runs compared) from what scikit-learn says about them.

Run with Debian's python3 (sklearn 1.2.1, numpy 1.24), from the repository root:
    /usr/bin/python3 tests/tools/diff_fixtures.py
sklearn is the reference only; vggtop never imports it. It writes
  tests/fixtures/metrics/diff_<case>.json  for tests/test_metrics_diff.c: y_true, run A's and run B's
      predicted classes, optionally a fine -> coarse map, and the expected per-class scores of both runs
      (classification_report(output_dict=True, labels=range(C))), their changes (B - A) in the order vggtop
      sorts them (F1 change, largest first; ties by class), and the confusion pairs that grew and shrank most
      (confusion_matrix(B) - confusion_matrix(A) off the diagonal; by change, then true, then predicted class;
      the first 40 of each and how many there are).
  tests/fixtures/metrics/diff_b_predictions.csv  run B for tests/e2e/cli_diff.sh: the predictions.csv of
      tests/fixtures/train/run with the predicted class of some rows changed (probabilities kept).
  tests/fixtures/metrics/diff_run.csv  what `vggtop diff --csv A B` prints for that pair (each number the
      shortest "%.*g" that reads back to the same double, as vggtop writes them).
"""
import csv
import io
import json
import os
import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import classification_report, confusion_matrix

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(TOP, "tests", "fixtures", "metrics")
RUN = os.path.join(TOP, "tests", "fixtures", "train", "run")
PAIRS = 40


def scores(y, pred, C):
    """Per-class precision, recall, F1 and support as sklearn reports them (labels=range(C))."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        d = classification_report(y, pred, labels=list(range(C)), output_dict=True)
    return [[d[str(c)][k] for k in ("precision", "recall", "f1-score", "support")] for c in range(C)], d


def expected(y, a, b, C):
    sa, da = scores(y, a, C)
    sb, db = scores(y, b, C)
    rows = []
    for c in range(C):
        change = [sb[c][k] - sa[c][k] for k in range(3)]
        rows.append({"class": c, "a": sa[c], "b": sb[c], "change": change})
    rows.sort(key=lambda r: (-r["change"][2], r["class"]))
    cma = confusion_matrix(y, a, labels=range(C))
    cmb = confusion_matrix(y, b, labels=range(C))
    cells = [(int(cmb[t, p] - cma[t, p]), t, p) for t in range(C) for p in range(C) if t != p]
    grew = sorted((c for c in cells if c[0] > 0), key=lambda c: (-c[0], c[1], c[2]))
    shrank = sorted((c for c in cells if c[0] < 0), key=lambda c: (c[0], c[1], c[2]))

    def pairs(cs):  # the first PAIRS: what the test asks for
        return [[t, p, int(cma[t, p]), int(cmb[t, p])] for _, t, p in cs[:PAIRS]]
    acc = [da["accuracy"] if "accuracy" in da else da["micro avg"]["f1-score"],
           db["accuracy"] if "accuracy" in db else db["micro avg"]["f1-score"]]
    return {"rows": rows, "grew": pairs(grew), "shrank": pairs(shrank), "n_grew": len(grew), "n_shrank": len(shrank),
            "accuracy": acc,
            "macro_f1": [da["macro avg"]["f1-score"], db["macro avg"]["f1-score"]],
            "weighted_f1": [da["weighted avg"]["f1-score"], db["weighted avg"]["f1-score"]]}


def noisy(rng, y, C, right):
    """Predictions that are right with probability `right` (a per-class array), else a random class."""
    wrong = rng.integers(0, C, len(y))
    return np.where(rng.random(len(y)) < right[y], y, wrong)


def unit_case(name, y, a, b, C, fold=None, K=0):
    case = {"C": C, "y": y.tolist(), "a": a.tolist(), "b": b.tolist(), "expect": expected(y, a, b, C)}
    if fold is not None:
        case["map"], case["K"] = fold.tolist(), K
        case["expect_coarse"] = expected(fold[y], fold[a], fold[b], K)
    with open(os.path.join(OUT, "diff_%s.json" % name), "w") as f:
        json.dump(case, f, indent=0)
        f.write("\n")


def csv_number(x):
    """The shortest "%.*g" that reads back to the same double: vggtop's CSV numbers (0 is "0", not "0.0")."""
    for prec in range(1, 18):
        text = "%.*g" % (prec, x)
        if float(text) == x:
            return text
    return text


def e2e_case():
    """Run B from the committed fixture run: every seventh row's prediction moved to another class."""
    with open(os.path.join(RUN, "predictions.csv")) as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    C = len(header) - 3
    rng = np.random.default_rng(26)
    y = np.array([int(r[1]) for r in body])
    a = np.array([int(r[2]) for r in body])
    b = a.copy()
    for i in range(0, len(body), 7):
        b[i] = (a[i] + 1 + rng.integers(0, C - 1)) % C
        body[i][2] = str(b[i])
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(body)
    with open(os.path.join(OUT, "diff_b_predictions.csv"), "w") as f:
        f.write(out.getvalue())

    with open(os.path.join(RUN, "config.json")) as f:
        names = json.load(f)["data"]["class_names"]
    exp = expected(y, a, b, C)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["class", "precision_a", "precision_b", "precision_change", "recall_a", "recall_b", "recall_change",
                "f1_a", "f1_b", "f1_change", "support_a", "support_b"])
    for r in exp["rows"]:
        w.writerow([names[r["class"]]] + [csv_number(v) for k in range(3)
                                          for v in (r["a"][k], r["b"][k], r["change"][k])] + [int(r["a"][3]), int(r["b"][3])])
    with open(os.path.join(OUT, "diff_run.csv"), "w") as f:
        f.write(out.getvalue())


def main():
    rng = np.random.default_rng(261)
    C, n = 10, 600
    y = rng.integers(0, C, n)
    a = noisy(rng, y, C, rng.uniform(0.2, 0.8, C))
    b = noisy(rng, y, C, rng.uniform(0.2, 0.8, C))
    unit_case("random10", y, a, b, C)

    # 100 fine classes folded into 20 superclasses (a random map, every superclass used), class 7 never
    # predicted by A and class 42 absent from the test set: ill-defined scores are 0 as sklearn sets them.
    rng = np.random.default_rng(262)
    C, K, n = 100, 20, 3000
    y = rng.integers(0, C, n)
    y[y == 42] = 43
    a = noisy(rng, y, C, rng.uniform(0.1, 0.7, C))
    a[a == 7] = 8
    b = noisy(rng, y, C, rng.uniform(0.1, 0.7, C))
    fold = rng.permutation(np.arange(C) % K)
    unit_case("fine100", y, a, b, C, fold, K)

    e2e_case()


if __name__ == "__main__":
    main()
