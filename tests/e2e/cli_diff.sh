#!/bin/sh
# End-to-end: vggtop diff RUN_A RUN_B on the committed fixture run (A) and the same run with some predictions
# changed (B, tests/fixtures/metrics/diff_b_predictions.csv): the per-class CSV equals what
# tests/tools/diff_fixtures.py computed from scikit-learn's reports of the same predictions; the text lists the
# classes and pairs that changed most; a run against itself changes nothing; and the refusals (exit 2, one line).
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
FIX=tests/fixtures
# Copies: the commands lock the run directories they read (run.lock), and the checkout stays as committed.
cp -R "$FIX/train/run" "$TMP/a"
cp -R "$FIX/train/run" "$TMP/b"
cp "$FIX/metrics/diff_b_predictions.csv" "$TMP/b/predictions.csv"
A=$TMP/a
B=$TMP/b

"$VGGTOP" diff --csv "$A" "$B" >"$TMP/csv" || fail "diff --csv exited $?"
diff -u "$FIX/metrics/diff_run.csv" "$TMP/csv" || fail "diff --csv differs from scikit-learn's reports"

"$VGGTOP" diff "$A" "$B" >"$TMP/text" || fail "diff exited $?"
grep -q "^A  $A\$" "$TMP/text" && grep -q "^B  $B\$" "$TMP/text" || fail "diff does not name the runs: $(head -2 "$TMP/text")"
# The table's first row is the most improved class, its last the most worsened (the CSV's order).
first=$(sed -n 2p "$TMP/csv" | cut -d, -f1)
last=$(tail -1 "$TMP/csv" | cut -d, -f1)
grep -A1 '^ *class *prec A' "$TMP/text" | tail -1 | grep -q "^ *$first " || fail "the table does not start with $first"
grep -q "^better most: $first +0.048, " "$TMP/text" || fail "better most: $(grep better "$TMP/text")"
grep -q "^worse most:  $last -0.120, " "$TMP/text" || fail "worse most: $(grep worse "$TMP/text")"
grep -q '^accuracy  *0.683  *0.667  *-0.017$' "$TMP/text" || fail "accuracy line: $(grep ^accuracy "$TMP/text")"
# Pairs: owl -> dog went from 1 to 3 (true 3 predicted 1 in rows changed by the fixture).
grep -A1 'pairs that grew most' "$TMP/text" | grep -q '^ *owl -> dog  *1 -> 3  *+2$' || fail "grew: $(grep -A2 'grew most' "$TMP/text")"
grep -A1 'pairs that shrank most' "$TMP/text" | grep -q -- '-> .* -1$' || fail "shrank: $(grep -A2 'shrank most' "$TMP/text")"
"$VGGTOP" diff "$A" "$B" --top 1 | grep -q '^  (2 more)$' || fail "--top 1 does not say what it left out"
"$VGGTOP" diff "$A" "$B" --digits 5 | grep -q '^accuracy  *0.68333 ' || fail "--digits 5"

# JSON: the whole diff; the changes are B - A.
"$VGGTOP" diff --json "$A" "$B" >"$TMP/json" || fail "diff --json exited $?"
grep -q '"accuracy": {"a": 0.6833333333333333, "b": 0.6666666666666666, "change": -0.01666666666666672}' "$TMP/json" ||
    fail "diff --json accuracy: $(head -3 "$TMP/json")"
grep -q '{"true": "owl", "predicted": "dog", "a": 1, "b": 3, "change": 2}' "$TMP/json" || fail "diff --json pairs"

# A run against itself: nothing changed.
"$VGGTOP" diff "$A" "$A" >"$TMP/same" || fail "diff A A exited $?"
grep -q '^better most: none$' "$TMP/same" && grep -q '^worse most:  none$' "$TMP/same" || fail "diff A A names changes"
[ "$(grep -c '^  (none)$' "$TMP/same")" -eq 2 ] || fail "diff A A lists pairs"

# Another test set (one image fewer) still compares, with a note.
cp -R "$A" "$TMP/short"
sed -i '$d' "$TMP/short/predictions.csv"
sed -i 's/"n_test": *60/"n_test": 59/' "$TMP/short/config.json"
"$VGGTOP" diff "$A" "$TMP/short" >"$TMP/out" 2>"$TMP/err" || fail "diff with another test set exited $?"
grep -q 'note: the runs were evaluated on different test sets (60 and 59 images)' "$TMP/err" || fail "no note: $(cat "$TMP/err")"

# --coarse: two tiny CIFAR-100 runs (made-up pixels, superclass = fine / 5) compared by superclass; each
# superclass's recall in A and in B, counted here from predictions.csv, is the CSV's recall_a and recall_b.
made_up_cifar100 "$TMP/c100" 200 100
for r in ca cb; do
    "$VGGTOP" train --model mlp --data "$TMP/c100" --epochs 1 --lr 0.0$([ $r = ca ] && echo 1 || echo 5) \
        --threads 1 --run-dir "$TMP/$r" >"$TMP/$r.log" 2>&1 || fatal "train $r exited $? ($(tail -2 "$TMP/$r.log"))"
done
# What a one-epoch mlp predicts on made-up pixels depends on the CPU's kernels (on a Zen 4 run B got no
# superclass right): every third of B's test images is made right by hand, so both sides have hits to count.
awk -F, 'BEGIN { OFS = "," } NR > 1 && (NR % 3) == 0 { $3 = $2 } { print }' "$TMP/cb/predictions.csv" >"$TMP/cb.csv" &&
    mv "$TMP/cb.csv" "$TMP/cb/predictions.csv" || fatal "could not edit run B's predictions.csv"
"$VGGTOP" diff --coarse --csv "$TMP/ca" "$TMP/cb" >"$TMP/coarse" || fail "diff --coarse exited $?"
[ "$(wc -l <"$TMP/coarse")" -eq 21 ] || fail "diff --coarse: $(wc -l <"$TMP/coarse") lines, not 20 superclasses and a header"
"$VGGTOP" diff --coarse --json "$TMP/ca" "$TMP/cb" >"$TMP/coarse.json" || fail "diff --coarse --json exited $?"
python3 - "$TMP/ca/predictions.csv" "$TMP/cb/predictions.csv" "$TMP/coarse.json" <<'PY' || fail "diff --coarse: the recalls are not the superclass recalls counted from predictions.csv"
import csv, json, sys
def recalls(path):
    n, hit = [0] * 20, [0] * 20
    for row in csv.DictReader(open(path)):
        s = int(row["true"]) // 5
        n[s] += 1
        hit[s] += int(row["pred"]) // 5 == s
    return [h / k for h, k in zip(hit, n)]
want = recalls(sys.argv[1]), recalls(sys.argv[2])
classes = json.load(open(sys.argv[3]))["classes"]
assert sorted(c["index"] for c in classes) == list(range(20)), "not the 20 superclasses"
assert sum(want[1]) > 0, "run B got no superclass right: nothing to check"
for c in classes:
    got = c["recall"]["a"], c["recall"]["b"]
    assert got == (want[0][c["index"]], want[1][c["index"]]), (c["class"], got)
PY
"$VGGTOP" diff --coarse "$TMP/ca" "$TMP/cb" | grep -q 'per class, the most improved F1 first' || fail "diff --coarse text"

# Refusals: exit 2, one line on stderr naming the problem.
expect_usage_error "RUN_A and RUN_B" "$VGGTOP" diff "$A"
expect_usage_error "more than the 2" "$VGGTOP" diff "$A" "$B" "$A"
expect_usage_error "exclude" "$VGGTOP" diff "$A" "$B" --csv --json
expect_usage_error "--coarse: $A has no superclasses" "$VGGTOP" diff "$A" "$B" --coarse
expect_usage_error "--top" "$VGGTOP" diff "$A" "$B" --top 0
# Another task: the class names differ.
cp -R "$A" "$TMP/other"
sed -i 's/"red fox"/"badger"/' "$TMP/other/config.json"
expect_usage_error "class 2 is 'red fox' in $A and 'badger' in $TMP/other" "$VGGTOP" diff "$A" "$TMP/other"
mkdir "$TMP/nopred"
cp "$A/config.json" "$TMP/nopred/"
expect_usage_error "predictions.csv" "$VGGTOP" diff "$A" "$TMP/nopred"
"$VGGTOP" diff --help | grep -q "usage: vggtop diff RUN_A RUN_B" || fail "diff --help"
finish
