#!/bin/sh
# End-to-end (tmux): Compare marks two runs (x on each) and d opens the Diff screen, whose table is what
# vggtop diff prints for the same two runs: every class's F1, recall and precision in A and B and the change,
# in vggtop diff --csv's order; f shows the superclasses of two CIFAR-100 runs, again as vggtop diff --coarse
# prints them; Report's and Confusion's c show the run opened against the other marked run. The runs: the committed fixture run (A) and the same run with some predictions changed (B,
# tests/fixtures/metrics/diff_b_predictions.csv), as in cli_diff.sh, and two tiny CIFAR-100 runs.
. "$(dirname "$0")/lib/tui.sh"
FIX=tests/fixtures
runs=$TMP/runs
mkdir -p "$runs"
cp -R "$FIX/train/run" "$runs/a"
cp -R "$FIX/train/run" "$runs/b"
cp "$FIX/metrics/diff_b_predictions.csv" "$runs/b/predictions.csv"

# check_table SESSION CSV: each class row of vggtop diff --csv is a row of the screen, in the same order, with
# the same numbers at the screen's 4 decimals (F1, recall, precision: A, B, change).
check_table() {
    tui_screen "$1" >"$TMP/$1.screen"
    python3 - "$2" "$TMP/$1.screen" <<'PY' || tui_fail "$1" "the Diff screen is not vggtop diff's table"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
screen = open(sys.argv[2]).read().splitlines()
at = 0
for r in rows[:5]:
    cells = []
    for m in ("f1", "recall", "precision"):
        cells += ["%.4f" % float(r[m + "_a"]), "%.4f" % float(r[m + "_b"]), "%+.4f" % float(r[m + "_change"])]
    want = " ".join(cells)
    for i in range(at, len(screen)):
        line = screen[i]
        # The class column: 16 columns from the second (a longer name is cut).
        if line[1:17].strip() == r["class"][:16].strip() and " ".join(line[17:].split()[:9]) == want:
            at = i + 1
            break
    else:
        sys.exit("no row '%s %s' after screen line %d" % (r["class"], want, at))
PY
}

"$VGGTOP" diff --csv "$runs/a" "$runs/b" >"$TMP/ab.csv" || fail "vggtop diff exited $?"
tui_start d 100 30 --runs "$runs"
tui_wait d "Model and settings" 10
tui_keys d 6
tui_wait d "last val_acc" 5
# Home: the first run (a); x marks it A, Down and x mark b as B; the rows say so.
tui_keys d Home x
tui_expect d "marked A: $runs/a"
tui_keys d Down x
tui_expect d "marked B: $runs/b"
tui_screen d | grep -q -E '^ \[.\] +1A a ' || tui_fail d "run a is not shown as A"
tui_screen d | grep -q -E '^ \[.\] +2B b ' || tui_fail d "run b is not shown as B"
tui_keys d d
tui_wait d "Diff: 4 classes, change = B - A" 5
check_table d "$TMP/ab.csv"
tui_expect d "grew:   owl -> dog +2 (1 -> 3)"
# Tab from Sweep reaches it too, and the tabs fit at 100 columns.
tui_expect d "10Sweep 11Diff"
# This run vs that run: b opened (Compare's Enter), Report's c adds a's F1 and the change, Confusion's c shows
# b's counts minus a's.
tui_keys d 6 Home Down Enter
tui_wait d "watching finished" 5
tui_keys d 3 c
tui_expect d "vs $runs/a"
tui_screen d | grep -q -E '^ +0 cat +0\.7692 +0\.7143 +0\.7407 +14 +0\.6923 +\+0\.0484 *$' || tui_fail d "Report's vs row of cat"
tui_keys d 4 c
tui_expect d "Confusion: this run minus $runs/a, counts"
tui_expect d "owl → dog +2 (1 → 3)"
tui_keys d q
[ "$(tui_exited d 20)" = 0 ] || tui_fail d "vggtop did not exit 0 after q"

# Two tiny CIFAR-100 runs: f folds both into the 20 superclasses, as vggtop diff --coarse does.
made_up_cifar100 "$TMP/c100" 200 100
c100=$TMP/c100runs
for r in ca cb; do
    "$VGGTOP" train --model mlp --data "$TMP/c100" --epochs 1 --lr 0.0$([ $r = ca ] && echo 1 || echo 5) \
        --threads 1 --run-dir "$c100/$r" >"$TMP/$r.log" 2>&1 || fatal "train $r exited $? ($(tail -2 "$TMP/$r.log"))"
done
"$VGGTOP" diff --coarse --csv "$c100/ca" "$c100/cb" >"$TMP/coarse.csv" || fail "vggtop diff --coarse exited $?"
"$VGGTOP" diff --csv "$c100/ca" "$c100/cb" >"$TMP/fine.csv" || fail "vggtop diff exited $?"
tui_start c 100 40 --runs "$c100"
tui_wait c "Model and settings" 10
tui_keys c 6
tui_wait c "last val_acc" 5
tui_keys c Home x Down d
tui_wait c "Diff: 100 classes" 5
check_table c "$TMP/fine.csv"
tui_keys c f
tui_wait c "Diff: 20 superclasses" 5
check_table c "$TMP/coarse.csv"
tui_keys c q
[ "$(tui_exited c 20)" = 0 ] || tui_fail c "vggtop did not exit 0 after q"
finish
