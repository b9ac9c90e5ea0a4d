#!/bin/sh
# End-to-end test of the front end through tmux, at 120x40 and at 80x24: set up a small run on the default
# data through the Setup form (mlp, 30 epochs, 10000/200 images; a bad value is refused on the way), start
# it, pause it so the mid-run checks do not race the training speed (which differs several times between
# BLAS kernels), resize mid-run (also below 80x24), resume, wait for the first evaluation, visit every
# screen, sort and scroll the report, search it, see its history heatmap, move the confusion heatmap's cursor, step through samples, stop the run
# (S), quit; then check the run directory. Mid-run, an earlier run is opened from Compare and the live one
# comes back.
. "$(dirname "$0")/lib/tui.sh"

scenario() {
    s=$1 w=$2 h=$3
    runs="$TMP/runs-$s"
    mkdir -p "$runs" && cp -r tests/fixtures/train/run "$runs/20200101T000000Z-old" # an earlier run to browse
    tui_start "$s" "$w" "$h" --runs "$runs"
    tui_wait "$s" "Model and settings" 10
    tui_wait "$s" "Estimate:" 30

    # The form: mlp, a refused value (explained, not accepted), then the tiny settings.
    tui_keys "$s" Right
    tui_expect "$s" "mlp ▸"
    tui_keys "$s" Down Down Down Down e C-u 0
    tui_expect "$s" "--epochs: '0' is not a whole number"
    tui_keys "$s" Enter
    tui_expect "$s" "--epochs: '0' is not a whole number"
    tui_keys "$s" Escape
    sleep 0.3
    tui_keys "$s" Home
    tui_field "$s" 4 30
    tui_field "$s" 11 10000
    tui_field "$s" 12 200
    tui_expect "$s" "Epochs          30"
    tui_expect "$s" "Limit train     10000"
    tui_expect "$s" "Limit test      200"

    # Train, and look at the dashboard while it runs.
    tui_keys "$s" Enter
    tui_wait "$s" "Loss per epoch" 10
    tui_wait "$s" "/30 " 30
    tui_keys "$s" p
    tui_wait "$s" "paused - " 20
    tui_expect "$s" "img/s"

    # While it is live (paused): q asks first; a learning-rate change; resize: smaller than 80x24 asks to
    # enlarge, back to the test's size redraws everything.
    tui_keys "$s" q
    tui_expect "$s" "A run is live. Quit and stop it (a checkpoint is saved)? y/n"
    tui_keys "$s" n
    tui_expect "$s" "not quitting"
    tui_keys "$s" +
    tui_expect "$s" "learning rate 0.02 from the next step"
    tmux -L "$SOCK" resize-window -t "$s" -x 70 -y 20
    tui_expect "$s" "enlarge the terminal to at least 80x24"
    tmux -L "$SOCK" resize-window -t "$s" -x "$w" -y "$h"
    tui_expect "$s" "Accuracy per epoch"
    tui_reject "$s" "enlarge the terminal"
    tui_expect "$s" "paused - "
    tui_keys "$s" p
    tui_expect "$s" "resumed"

    # Report (once the first epoch is evaluated): sorted by class name, the pinned averages, scrolling to
    # the end and back.
    tui_keys "$s" 3
    tui_wait "$s" "Report: 10 classes, 200 images" 90
    tui_expect "$s" "weighted avg"
    tui_keys "$s" s
    tui_expect "$s" "sorted by class"
    # Fashion-MNIST's names sorted: "Ankle boot" first, "Trouser" last.
    tui_screen "$s" | grep -A1 "precision" | grep -q "Ankle boot" || tui_fail "$s" "sorting by class does not put Ankle boot first"
    tui_keys "$s" End PgUp Down Home
    tui_keys "$s" / s h i r
    tui_expect "$s" "/shir"
    tui_keys "$s" Enter
    tui_reject "$s" "/shir"
    # The history of the evaluations so far as a class x epoch heatmap, its cursor named; back to the table.
    tui_keys "$s" v
    tui_expect "$s" "History: F1 per class and epoch"
    tui_expect "$s" "Shirt, epoch "
    tui_keys "$s" v
    tui_expect "$s" "weighted avg"

    # Another run opens while this one trains: its files are shown and the live run trains on, parked; q
    # still asks about the live run; Enter on the live run's row (the newest, last) shows it again.
    tui_keys "$s" 6 Home Enter
    tui_expect "$s" "browsing finished"
    tui_expect "$s" "live run: row 2 of 6 Compare, Enter"
    tui_keys "$s" q
    tui_expect "$s" "A run is live. Quit and stop it"
    tui_keys "$s" n
    tui_keys "$s" 6 End Enter
    tui_expect "$s" " · live "
    tui_reject "$s" "browsing"

    # Confusion: the cursor names the cell it is on.
    tui_keys "$s" 4
    tui_expect "$s" "true T-shirt/top → predicted T-shirt/top"
    tui_keys "$s" Right Right Down
    tui_expect "$s" "true Trouser → predicted Pullover"
    tui_keys "$s" n
    tui_expect "$s" "row-normalised"
    tui_expect "$s" "Most confused"

    tui_keys "$s" 5
    tui_expect "$s" "micro AUC"
    tui_keys "$s" z
    tui_expect "$s" "zoomed"

    tui_keys "$s" 7
    tui_expect "$s" "Test image 1 of 200"
    tui_keys "$s" Right
    tui_expect "$s" "Test image 2 of 200"
    tui_expect "$s" "top 5:"

    tui_keys "$s" 8
    tui_expect "$s" "Total params"
    tui_keys "$s" 9
    tui_expect "$s" "Layers: epoch "
    tui_expect "$s" "predictions"
    tui_expect "$s" "dead ReLUs at 0"
    tui_keys "$s" '?'
    tui_expect "$s" "Keys (Up/Down/PgUp/PgDn scroll"
    tui_keys "$s" x
    tui_keys "$s" 1
    tui_expect "$s" "Model and settings"

    # Stop the run (unless it has already finished all 30 epochs); Compare lists it; quit.
    tui_keys "$s" 2
    tui_keys "$s" S
    # S asks first, as q does (unless the run has finished meanwhile: then there is nothing to stop).
    if ! grep -q '"finished"' "$(ls -d "$runs"/*-mlp | head -1)/progress.json"; then
        tui_expect "$s" "Stop the run after this step and save a checkpoint? y/n"
    fi
    tui_keys "$s" y
    dir=$(ls -d "$runs"/*-mlp 2>/dev/null | head -1)
    [ -n "$dir" ] || fail "no run directory in $runs"
    end=$(($(date +%s) + 30))
    until grep -qE '"(stopped|finished)"' "$dir/progress.json" 2>/dev/null || [ "$(date +%s)" -gt "$end" ]; do sleep 0.2; done
    grep -qE '"(stopped|finished)"' "$dir/progress.json" || tui_fail "$s" "S did not stop the run within 30 s"
    tui_keys "$s" 6
    tui_expect "$s" "val_acc per epoch"
    tui_expect "$s" "1:mlp"
    tui_keys "$s" q
    [ "$(tui_exited "$s" 20)" = 0 ] || tui_fail "$s" "vggtop did not exit 0 after q"

    # The run directory holds the stopped run: at least one epoch, and a checkpoint to resume from.
    [ "$(wc -l < "$dir/history.csv")" -ge 2 ] || fail "$dir/history.csv has no epoch"
    [ -s "$dir/checkpoint.bin" ] || fail "no checkpoint.bin in $dir"
    grep -q '"mlp"' "$dir/config.json" || fail "config.json does not name mlp"
    [ "$(wc -l < "$dir/predictions.csv")" -eq 201 ] || fail "predictions.csv should have 200 rows"
    echo "$E2E_NAME: ok: front end at ${w}x${h}"
}

scenario big 120 40
scenario small 80 24
finish
