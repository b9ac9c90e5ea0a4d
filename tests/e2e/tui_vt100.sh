#!/bin/sh
# End-to-end test on a vt100 (no alternate screen): after q the front end's last frame is not left on the
# terminal (it stayed, tabs, footer and all, above the shell's prompt). Then, at 80x24 in LANG=C with
# NO_COLOR, vggtop watch on a finished 3-epoch mlp run: the Report's ASCII trend marks and its class x epoch
# heatmap in the density ramp, and the Layers screen, which re-reads layers.csv when it changes (a made-up
# vanishing fc2: flagged, with what to try).
. "$(dirname "$0")/lib/tui.sh"

tmux -L "$SOCK" new-session -d -s v -x 80 -y 24 \
    "cd '$TMP' && TERM=vt100 LANG=C LC_ALL=C '$VGGTOP' --runs '$TMP/runs' 2> '$TMP/v.err'; echo \$? > '$TMP/v.exit'; sleep 600"
tui_wait v "Model and settings" 10
tui_keys v q
[ "$(tui_exited v 20)" = 0 ] || tui_fail v "vggtop did not exit 0 after q"
tui_reject v "Model and settings"
tui_reject v "Tab Next"

run="$TMP/run"
"$VGGTOP" train --model mlp --epochs 3 --limit-train 600 --limit-test 100 --threads 1 --run-dir "$run" \
    >"$TMP/train.log" 2>&1 || { cat "$TMP/train.log" >&2; fail "vggtop train failed (its log above)"; }
tmux -L "$SOCK" new-session -d -s h -x 80 -y 24 \
    "cd '$TMP' && TERM=vt100 LANG=C LC_ALL=C NO_COLOR=1 '$VGGTOP' watch '$run' 2> '$TMP/h.err'; echo \$? > '$TMP/h.exit'; sleep 600"
tui_wait h "watching finished" 10
tui_keys h 3
tui_expect h "Report: 10 classes, 100 images (epoch 3)"
# Each class's F1 with a mark: up (^), down (v) or a blank, as per_class.csv's epochs 2 and 3 say.
ups=$(awk -F, '$1 == 2 { f[$2] = $5 } $1 == 3 && $5 > f[$2] + 0.00005 { n++ } END { print n + 0 }' "$run/per_class.csv")
[ "$(tui_screen h | grep -c -E '[01]\.[0-9]{4} \^ +[0-9]+ *$')" -eq "$ups" ] || tui_fail h "not $ups classes marked ^"
tui_keys h v
tui_expect h "History: F1 per class and epoch, sorted by #"
tui_expect h "v Table"
tui_expect h "epoch            1  2  3"
tui_expect h "0 ..::--==++**##%%@@ 1"
tui_expect h "T-shirt/top, epoch 3: F1 "
tui_keys h Down Left
tui_expect h "Trouser, epoch 2: F1 "
tui_keys h m
tui_expect h "Trouser, epoch 2: recall "
tui_keys h 9
tui_expect h "Layers: epoch 3 of 3 (Left/Right), 3 layers"
tui_screen h | grep -q -E '^ fc1 +[0-9.e-]+ #+ +[0-9.]+% #+ *$' || tui_fail h "no fc1 row with its bars"
tui_reject h "vanishing  "
tui_keys h Left
tui_expect h "Layers: epoch 2 of 3"
tui_keys h Right
# fc2's epoch-3 gradient a thousandth of what it was: the screen reads the new file and flags it.
awk -F, 'BEGIN { OFS = "," } $1 == 3 && $2 == "fc2" { $4 = $4 / 1000 } { print }' "$run/layers.csv" >"$TMP/l" &&
    mv "$TMP/l" "$run/layers.csv"
tui_wait h "1 layer receives almost no gradient" 5
tui_screen h | grep -q -E '^ fc2 .* vanishing *$' || tui_fail h "fc2 is not flagged"
tui_expect h "vgg16-nopool"
tui_keys h q
[ "$(tui_exited h 20)" = 0 ] || tui_fail h "vggtop watch did not exit 0 after q"
finish
