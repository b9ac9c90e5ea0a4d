#!/bin/sh
# End-to-end (tmux): the Compare screen at 80x24 with three runs of different models keeps every column
# on screen (the run-name column used to push the accuracies off the right edge), with its header over its
# columns, under LANG=C and NO_COLOR (ASCII drawing, no colour), and NO_COLOR in
# UTF-8 charts with distinguishable series; vggtop watch shows a run's
# read-only settings with the title whole and the parameter count as everywhere else (1,234,567), and
# the Samples screen's key hints whole.
. "$(dirname "$0")/lib/tui.sh"

runs="$TMP/runs"
for m in mlp cnn vgg16-nopool; do
    "$VGGTOP" train --model "$m" --limit-train 32 --limit-test 16 --epochs 1 --threads 1 --runs "$runs" \
        >"$TMP/train-$m.log" 2>&1 || { echo "FAIL: vggtop train --model $m:" >&2; cat "$TMP/train-$m.log" >&2; exit 1; }
done

s=cmp
tmux -L "$SOCK" new-session -d -s "$s" -x 80 -y 24 \
    "cd '$TMP' && TERM=xterm-256color LANG=C LC_ALL=C NO_COLOR=1 '$VGGTOP' --runs '$runs' 2> '$TMP/$s.err'; echo \$? > '$TMP/$s.exit'; sleep 600"
tui_wait "$s" "Model and settings" 10
tui_keys "$s" 6
tui_wait "$s" "last val_acc" 5
tui_expect "$s" "3:vgg16-nopool"
# Every run's row ends with its last val_acc (a number in [0, 1] with 4 decimals) inside the 80 columns.
rows=$(tui_screen "$s" | grep -c -E '^ \[x\] +[123] .* [01]\.[0-9]{4} +[01]\.[0-9]{4} *$')
[ "$rows" -eq 3 ] || tui_fail "$s" "$rows of 3 run rows show both accuracies"
# The header's "#" sits over the runs' numbers.
hcol=$(tui_screen "$s" | grep -E '^ +# +run' | awk '{print index($0, "#")}')
rcol=$(tui_screen "$s" | grep -E '^ \[x\] +1 ' | awk '{print index($0, "1")}')
[ "$hcol" = "$rcol" ] || tui_fail "$s" "header # at column $hcol, run number at column $rcol"
tui_keys "$s" q
wait_exit() { # NAME: vggtop in that session has exited (so the cleanup does not race its shutdown)
    end=$(($(date +%s) + 60))
    while [ ! -s "$TMP/$1.exit" ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
    [ "$(cat "$TMP/$1.exit" 2>/dev/null)" = 0 ] || tui_fail "$1" "vggtop did not exit 0 after q"
}
wait_exit "$s"

# NO_COLOR in a UTF-8 locale: the charts use the series' markers, so the legend tells loss from val_loss
# (in braille every legend mark was the same block).
tmux -L "$SOCK" new-session -d -s nc -x 80 -y 24 \
    "cd '$TMP' && TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 NO_COLOR=1 '$VGGTOP' watch $runs/*-mlp 2> '$TMP/nc.err'; echo \$? > '$TMP/nc.exit'; sleep 600"
tui_wait nc "watching finished" 10
tui_keys nc 2
tui_expect nc "* loss  o val_loss"
tui_expect nc "* acc  o val_acc"
tui_keys nc q
wait_exit nc

# vggtop watch on the mlp run: its settings at 80 columns, the title whole, the parameters with separators.
tui_start w 80 24 watch "$runs"/*-mlp
tui_wait w "watching finished" 10
tui_keys w 1
tui_expect w "The run's settings (read-only)"
tui_expect w "Model: mlp, 535,818 parameters"
# The Dashboard's controls on a finished watched run say that it has ended.
tui_keys w 2 p
tui_expect w "the run has ended: there is nothing to control"
# Samples at 80 columns: the key hints whole, and m's hint follows the mode.
tui_keys w 7
tui_expect w "Left/Right: previous/next image"
tui_expect w "m: only the misclassified"
tui_keys w m
tui_expect w "m: every image"
tui_keys w q
wait_exit w
echo "qa_compare.sh: ok"
