#!/bin/sh
# End-to-end (tmux): P saves the chart of every screen that has one as a PNG file in the run's figures/ folder,
# as shown, at 80x24 with NO_COLOR: the Dashboard's accuracy and loss, the Report's F1 bars and (v) its per-class
# heatmap, the Confusion matrix counts and (n) normalised, the ROC curves and (z) their zoom, the Compare chart
# of two runs, the Samples image grid; each time the status line names the file, and the file is a PNG. On a
# screen without a chart (Summary) P does nothing; a run without predictions says why nothing was saved.
. "$(dirname "$0")/lib/tui.sh"

data="$TMP/cifar-100-binary"
made_up_cifar100 "$data" 200 100
for r in a b; do
    "$VGGTOP" train --model mlp --data "$data" --epochs 2 --threads 1 --run-dir "$TMP/runs/$r" \
        >"$TMP/train-$r.log" 2>&1 || fatal "train $r exited $? ($(tail -2 "$TMP/train-$r.log"))"
done

is_png() { [ "$(head -c 8 "$1" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ]; }

s=w
tmux -L "$SOCK" new-session -d -s "$s" -x 80 -y 24 \
    "cd '$TMP' && TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 NO_COLOR=1 '$VGGTOP' watch --runs runs runs/a 2> '$TMP/$s.err'; echo \$? > '$TMP/$s.exit'; sleep 600"
tui_wait "$s" "2/2 epochs done" 15

# save SCREEN-KEYS FILE...: the keys, then P; the status line says "saved", and each FILE is a PNG.
save() {
    keys=$1
    shift
    # shellcheck disable=SC2086 # the keys are separate words
    tui_keys "$s" $keys
    sleep 0.3
    tui_keys "$s" P
    tui_wait "$s" "saved runs/a/figures/" 10
    for f in "$@"; do
        [ -s "$TMP/runs/a/figures/$f" ] || tui_fail "$s" "P did not write figures/$f"
        is_png "$TMP/runs/a/figures/$f" || tui_fail "$s" "figures/$f is not a PNG"
    done
}
save 2 accuracy.png loss.png
save 3 f1.png
save v per-class-f1.png
save 4 confusion.png
save n confusion-normalized.png
save 5 roc.png
save z roc-zoom.png
save 7 samples-1.png
# Compare: both runs on the chart.
tui_keys "$s" 6
tui_wait "$s" "last val_acc" 5
save "" compare-val_acc.png
# Summary has no chart: P says nothing and writes nothing.
tui_keys "$s" 8
n=$(ls "$TMP/runs/a/figures" | wc -l)
tui_keys "$s" P
tui_reject "$s" "saved "
[ "$(ls "$TMP/runs/a/figures" | wc -l)" -eq "$n" ] || tui_fail "$s" "P on Summary wrote a file"
[ "$(ls "$TMP/runs/a/figures" | grep -c '\.tmp')" -eq 0 ] || tui_fail "$s" "a temporary file was left in figures/"
tui_keys "$s" q
[ "$(tui_exited "$s" 30)" = 0 ] || tui_fail "$s" "vggtop did not exit 0 after q"

# A run without predictions.csv: the Confusion screen's P says which file is missing.
cp -r "$TMP/runs/b" "$TMP/nopred" && rm -f "$TMP/nopred/predictions.csv"
tui_start np 80 24 watch nopred
tui_wait np "2/2 epochs done" 15
tui_keys np 4 P
tui_wait np "no figure saved" 5
tui_keys np q
[ "$(tui_exited np 30)" = 0 ] || tui_fail np "vggtop did not exit 0 after q"
finish
