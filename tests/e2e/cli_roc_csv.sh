#!/bin/sh
# End-to-end: `vggtop roc RUN_DIR --csv` (issue 21) writes the curves' points tidy, one row per point:
# class,fpr,tpr,threshold for each class (by name), then micro and macro (no thresholds), so the seed's ROC
# figure can be drawn elsewhere; the area under each class's points (trapezoids) is the AUC `vggtop roc`
# prints, and the first point of a class's curve is (0, 0), as sklearn's roc_curve.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
cp -R tests/fixtures/train/run "$TMP/run"
RUN=$TMP/run
"$VGGTOP" roc "$RUN" --csv >"$TMP/csv" 2>"$TMP/err" || fail "roc --csv exited $? ($(cat "$TMP/err"))"
[ "$(head -1 "$TMP/csv")" = "class,fpr,tpr,threshold" ] || fail "roc --csv header: $(head -1 "$TMP/csv")"
grep -q '^red fox,0,0,' "$TMP/csv" || fail "roc --csv: no first point (0, 0) of class 'red fox'"
grep -q '^micro,' "$TMP/csv" || fail "roc --csv: no micro rows"
grep -q '^macro,[0-9.e-]*,[0-9.e-]*,$' "$TMP/csv" || fail "roc --csv: macro rows should have an empty threshold"
"$VGGTOP" roc "$RUN" >"$TMP/txt" || fail "roc exited $?"
# Each curve's trapezoidal area from its points, to 4 decimals, against the text's AUCs.
awk -F, 'NR > 1 { if ($1 != c) { if (c != "") printf "%s %.4f\n", c, a; c = $1; a = 0 }
                  else a += ($2 - x) * ($3 + y) / 2; x = $2; y = $3 }
         END { printf "%s %.4f\n", c, a }' "$TMP/csv" >"$TMP/areas"
awk '/^ *[0-9]+  /{ n = $2; for (i = 3; i < NF; i++) n = n " " $i; print n, $NF }
     /^micro AUC/{ print "micro", $NF } /^macro AUC \(interpolated\)/{ print "macro", $NF }' "$TMP/txt" >"$TMP/aucs"
diff -u "$TMP/aucs" "$TMP/areas" || fail "roc --csv: the areas under its points differ from roc's AUCs"
# The text names the averages as the man page does.
grep -q '^macro AUC (mean): ' "$TMP/txt" || fail "roc: no 'macro AUC (mean)'"
finish
