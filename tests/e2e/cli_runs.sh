#!/bin/sh
# End-to-end: the run-reading commands against a committed run directory (tests/fixtures/train/run) and
# the outputs scikit-learn gives for it (tests/tools/train_fixture.py wrote both): report (2 and 3 digits),
# confusion --csv, roc AUCs; then history, compare, and the usage and data errors of these commands.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
FAIL_FAST=1
FIX=tests/fixtures/train
# A copy: the commands lock the run directory they read (run.lock), and the checkout stays as committed.
cp -R "$FIX/run" "$TMP/run"
RUN=$TMP/run

"$VGGTOP" report "$RUN" >"$TMP/r2" || fail "report exited $?"
diff -u "$FIX/report2.txt" "$TMP/r2" || fail "report differs from scikit-learn's"
"$VGGTOP" report "$RUN" --digits 3 >"$TMP/r3" || fail "report --digits 3 exited $?"
diff -u "$FIX/report3.txt" "$TMP/r3" || fail "report --digits 3 differs from scikit-learn's"
"$VGGTOP" confusion --csv "$RUN" >"$TMP/cm" || fail "confusion --csv exited $?"
diff -u "$FIX/confusion.csv" "$TMP/cm" || fail "confusion matrix differs from scikit-learn's"

# roc: "<class> <auc>" lines and the three averages, as the golden file lists them.
"$VGGTOP" roc "$RUN" >"$TMP/roc" || fail "roc exited $?"
awk '/^ *[0-9]+  /{print $1, $NF} /^micro AUC/{print "micro", $NF} /^macro AUC \(interpolated\)/{print "macro", $NF}
     /^macro AUC \(mean\)/{print "mean", $NF}' "$TMP/roc" >"$TMP/roc.short"
diff -u "$FIX/roc.txt" "$TMP/roc.short" || fail "roc AUCs differ from scikit-learn's"

# report --csv/--json carry the class names; confusion's text lists the largest off-diagonal cell first.
"$VGGTOP" report "$RUN" --csv | grep -q '^red fox,' || fail "report --csv lacks the class names"
"$VGGTOP" report "$RUN" --json | grep -q '"weighted avg"' || fail "report --json lacks weighted avg"
big=$(awk -F, '{for (i = 1; i <= NF; i++) if (i != NR && $i > m) m = $i} END {print m}' "$FIX/confusion.csv")
"$VGGTOP" confusion "$RUN" --top 1 | sed -n 2p | grep -q "^ *$big " || fail "confusion's first pair is not the largest ($big)"

# history and compare (three finished epochs of four; best val_acc 0.6167 at epoch 2).
"$VGGTOP" history "$RUN" >"$TMP/h" || fail "history exited $?"
grep -q '3 of 4 epochs' "$TMP/h" || fail "history header"
[ "$(grep -c '^ *[123] ' "$TMP/h")" -eq 3 ] || fail "history rows"
"$VGGTOP" history --csv "$RUN" | diff -u "$RUN/history.csv" - || fail "history --csv differs from history.csv"
"$VGGTOP" compare "$RUN" "$RUN" >"$TMP/c" || fail "compare exited $?"
grep -q '0.6167 (2)' "$TMP/c" || fail "compare: best val_acc"
# The time per epoch and in all, from history.csv's seconds column.
want=$(awk -F, 'NR > 1 { s += $9; n++ } END { printf "%.1f", s / n }' "$RUN/history.csv")
grep -q "s/epoch" "$TMP/c" && grep -q " $want " "$TMP/c" || fail "compare: no s/epoch $want: $(head -3 "$TMP/c")"
grep -q 'val_acc per epoch' "$TMP/c" || fail "compare: chart"
# The same run twice: the second curve lies on the first; the chart marks that instead of hiding the first.
grep -q '^ *&  two or more runs in the same place' "$TMP/c" || fail "compare: overlapping runs are not marked"
grep -q '^ *[0-9.]*|.*&' "$TMP/c" || fail "compare: no '&' where the runs meet"
"$VGGTOP" compare "$RUN" --metric val_loss | grep -q 'val_loss per epoch' || fail "compare --metric"

# Usage and data errors: exit 2, one line on stderr naming the problem.
expect_usage_error "RUN_DIR" "$VGGTOP" report
expect_usage_error "/nonexistent" "$VGGTOP" report /nonexistent/run
expect_usage_error "--digits" "$VGGTOP" report "$RUN" --digits 11
expect_usage_error "--bogus" "$VGGTOP" roc "$RUN" --bogus
expect_usage_error "exclude" "$VGGTOP" report "$RUN" --csv --json
expect_usage_error "--metric" "$VGGTOP" compare "$RUN" --metric speed
expect_usage_error "--coarse" "$VGGTOP" confusion "$RUN" --coarse
mkdir "$TMP/bad"
cp "$RUN/config.json" "$TMP/bad/"
expect_usage_error "predictions.csv" "$VGGTOP" report "$TMP/bad"
# A run with no finished epoch yet is left out of a comparison with a note (runs/* meets such runs), not an
# error of the whole command; with nothing left to compare it is one.
"$VGGTOP" compare "$RUN" "$TMP/bad" >"$TMP/out" 2>"$TMP/err" || fail "compare with an epoch-less run exited $?"
grep -q "note: $TMP/bad has no finished epoch yet; left out" "$TMP/err" || fail "compare: no note: $(cat "$TMP/err")"
grep -q '0.6167 (2)' "$TMP/out" || fail "compare left out the run with epochs"
grep -q "^ *[*+ox#] *$TMP/bad" "$TMP/out" && fail "compare charted the epoch-less run"
"$VGGTOP" compare "$TMP/bad" >"$TMP/out" 2>"$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "none of the runs has a finished epoch" "$TMP/err" || fail "compare of epoch-less runs only: exit $rc"
head -c 100 "$RUN/predictions.csv" >"$TMP/bad/predictions.csv"
expect_usage_error "predictions.csv: line 3" "$VGGTOP" roc "$TMP/bad"
expect_usage_error "checkpoint.bin" "$VGGTOP" evaluate "$RUN"
for cmd in evaluate report confusion roc history compare; do
    "$VGGTOP" "$cmd" --help | grep -q "usage: vggtop $cmd" || fail "$cmd --help"
done
finish
