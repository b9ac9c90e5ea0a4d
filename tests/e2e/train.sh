#!/bin/sh
# End-to-end: `vggtop train` on the default data (Fashion-MNIST from Debian when there is no CIFAR-100)
# writes a complete run directory that report, confusion, roc, history, compare and evaluate read; the
# log output is Keras-style with one line per epoch; bad flags and bad checkpoints get exit 2 and one line.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
FAIL_FAST=1
cd "$TMP" || exit 1 # no ./data/cifar-100-binary here: the default data set is Fashion-MNIST

# The issue's run, smaller so the test stays quick: a cnn, 2 epochs, on the default data.
"$VGGTOP" train --model cnn --limit-train 500 --limit-test 200 --epochs 2 --threads 1 --runs runs >out 2>err ||
    fail "train exited $?: $(cat err)"
run=$(ls -d runs/*-cnn) || fail "no runs/<stamp>-cnn directory"
echo "$run" | grep -Eq '^runs/[0-9]{8}T[0-9]{6}Z-cnn$' || fail "run directory name $run"
for f in config.json history.csv progress.json checkpoint.bin predictions.csv report.txt confusion.csv; do
    [ -s "$run/$f" ] || fail "$run/$f missing or empty"
done
ls "$run" | grep -q '\.tmp\.' && fail "temporary files left in $run"

# Output: the summary, Keras lines, one per epoch (no carriage returns in a log).
grep -q 'Model: "cnn"' out || fail "no model summary"
grep -q 'Fashion-MNIST' out || fail "the data set in use is not named"
grep -q '^Epoch 1/2$' out && grep -q '^Epoch 2/2$' out || fail "no Epoch N/2 lines"
# Keras' current words: the bar counts steps (500 images in batches of 32: 16) and the time is per step.
[ "$(grep -c '^16/16 \[==============================\] - [0-9]*s [0-9]*[mu]*s/step - loss: [0-9.]* - acc: [0-9.]* - mse: [0-9.]* - top_k_categorical_accuracy: [0-9.]* - val_loss: [0-9.]* - val_acc: [0-9.]* - val_mse: [0-9.]* - val_top_k_categorical_accuracy: [0-9.]*$' out)" -eq 2 ] ||
    fail "epoch lines are not Keras-style: $(grep '^16/16' out)"
grep -q "$(printf '\r')" out && fail "carriage returns in non-terminal output"

# On a terminal the bar is redrawn in place: carriage returns, ETA, and each epoch's line over it.
if command -v script >/dev/null; then
    script -qec "'$VGGTOP' train --model cnn --limit-train 300 --limit-test 50 --epochs 1 --threads 1 --run-dir tty" \
        /dev/null >tty.out 2>&1 || fail "train on a terminal exited $?"
    grep -q "$(printf '\r')" tty.out || fail "no carriage returns on a terminal"
    grep -q ' - ETA: ' tty.out || fail "no ETA on a terminal"
    grep -q '10/10 \[==============================\] - .* - val_acc: ' tty.out || fail "no epoch line on a terminal"
fi

# The files: exact headers, one history row per epoch, one prediction per test image.
[ "$(head -1 "$run/history.csv")" = "epoch,loss,acc,mse,val_loss,val_acc,val_mse,lr,seconds,top_k_categorical_accuracy,val_top_k_categorical_accuracy" ] ||
    fail "history header"
[ "$(wc -l <"$run/history.csv")" -eq 3 ] || fail "history rows"
[ "$(head -1 "$run/predictions.csv")" = "index,true,pred,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9" ] || fail "predictions header"
[ "$(wc -l <"$run/predictions.csv")" -eq 201 ] || fail "predictions rows"
[ "$(wc -l <"$run/confusion.csv")" -eq 10 ] || fail "confusion rows"
[ "$(awk -F, '{for (i = 1; i <= NF; i++) s += $i} END {print s}' "$run/confusion.csv")" -eq 200 ] || fail "confusion total"
grep -q '"state":.*"finished"' "$run/progress.json" || fail "progress.json state"
grep -q '"name":.*"Fashion-MNIST"' "$run/config.json" || fail "config.json data set"
grep -q '"Ankle boot"' "$run/config.json" || fail "config.json class names"
grep -q '"batch_size":.*32' "$run/config.json" || fail "config.json batch size"
# val_acc of the last epoch = the share of predictions.csv rows with true == pred.
acc=$(awk -F, 'NR > 1 {n++; c += ($2 == $3)} END {printf "%.4f", c / n}' "$run/predictions.csv")
last=$(awk -F, 'END {printf "%.4f", $6}' "$run/history.csv")
[ "$acc" = "$last" ] || fail "val_acc $last in history.csv, $acc from predictions.csv"

# The readers.
"$VGGTOP" report "$run" | grep -q 'Ankle boot' || fail "report"
"$VGGTOP" report "$run" >rep && diff -u "$run/report.txt" rep >/dev/null || fail "report differs from report.txt"
"$VGGTOP" confusion "$run" | grep -q 'most confused' || fail "confusion"
"$VGGTOP" confusion --csv "$run" | diff -u "$run/confusion.csv" - >/dev/null || fail "confusion --csv vs confusion.csv"
"$VGGTOP" roc "$run" | grep -q 'micro AUC' || fail "roc"
"$VGGTOP" history "$run" | grep -q '2 of 2 epochs' || fail "history"
"$VGGTOP" compare "$run" "$run" | grep -q 'val_acc per epoch' || fail "compare"
# evaluate: the checkpoint predicts the test set again and gives the history's last val_acc.
"$VGGTOP" evaluate "$run" >ev || fail "evaluate exited $?"
grep -q "200 test images - .* - val_acc: $last " ev || fail "evaluate: $(cat ev), expected val_acc $last"
# evaluate --data: the data set at another path (a link to where the run found it) gives the same numbers;
# a --data that holds no data set is exit 2, naming it.
path=$(sed -n 's/^[[:space:]]*"path":[[:space:]]*"\(.*\)",*$/\1/p' "$run/config.json" | head -1)
[ -d "$path" ] && ln -s "$path" moved || fail "config.json names no data set folder ($path)"
"$VGGTOP" evaluate "$run" --data moved >ev2 || fail "evaluate --data exited $?"
grep -q "200 test images - .* - val_acc: $last " ev2 || fail "evaluate --data: $(cat ev2), expected val_acc $last"
"$VGGTOP" evaluate "$run" --data nowhere >/dev/null 2>ev.err; rc=$?
[ "$rc" -eq 2 ] && grep -q "nowhere" ev.err || fail "evaluate --data nowhere: exit $rc, $(cat ev.err)"

# Usage errors: exit 2, one line naming the flag.
expect_error() { # expected-fragment command...
    want="$1"; shift
    "$@" >o 2>e; rc=$?
    [ "$rc" -eq 2 ] || fail "'$*' exited $rc, expected 2 ($(cat e))"
    [ "$(wc -l <e)" -eq 1 ] || fail "'$*' printed $(wc -l <e) lines on stderr: $(cat e)"
    grep -q -- "$want" e || fail "'$*': '$(cat e)' does not mention $want"
}
expect_error "--model" "$VGGTOP" train
expect_error "--model" "$VGGTOP" train --model vgg17
expect_error "--epochs" "$VGGTOP" train --model mlp --epochs 0
expect_error "--lr" "$VGGTOP" train --model mlp --lr abc
expect_error "--batch-size" "$VGGTOP" train --model mlp --batch-size
expect_error "--colour" "$VGGTOP" train --model mlp --colour red
expect_error "extra" "$VGGTOP" train --model mlp extra
expect_error "--resize" "$VGGTOP" train --model vgg16 --resize 16
expect_error "exclude" "$VGGTOP" train --model mlp --runs a --run-dir b
expect_error "--model needs a value, not the option '--epochs'" "$VGGTOP" train --model --epochs 2
expect_error "not empty" "$VGGTOP" train --model mlp --run-dir "$(dirname "$run")"
expect_error "--data" "$VGGTOP" train --model mlp --data /nonexistent/data
# An unset variable's empty value is refused, not taken for no --data (the default data set).
expect_error "--data: '' is no path" "$VGGTOP" train --model mlp --data ""
expect_error "--resume: '' is no folder" "$VGGTOP" train --resume ""
expect_error "already holds a run" "$VGGTOP" train --model mlp --run-dir "$run"
expect_error "--resume" "$VGGTOP" train --resume /nonexistent/run
expect_error "--seed cannot change a resumed run" "$VGGTOP" train --resume "$run" --seed 99 # --lr may (train_resume_changes.sh)
expect_error "--epochs" "$VGGTOP" train --resume "$run" --epochs 1
mkdir empty
expect_error "IDX\|CIFAR\|data" "$VGGTOP" train --model mlp --data empty --run-dir r-empty
expect_error "unknown command" "$VGGTOP" trian

# Bad checkpoints: truncated, from another model, corrupted: exit 2, one line naming checkpoint.bin.
cp -r "$run" bad
head -c 1000 "$run/checkpoint.bin" >bad/checkpoint.bin
expect_error "checkpoint.bin" "$VGGTOP" evaluate bad
expect_error "checkpoint.bin" "$VGGTOP" train --resume bad --epochs 3
"$VGGTOP" train --model mlp --limit-train 64 --limit-test 20 --epochs 1 --threads 1 --run-dir other >/dev/null 2>&1 ||
    fail "mlp run failed"
# --resume of a finished run: nothing to do without --epochs; with it, more epochs on the same history.
"$VGGTOP" train --resume other >o 2>e || fail "resume of a finished run exited $?"
grep -q 'Nothing to do' o || fail "resume of a finished run: $(tail -1 o)"
"$VGGTOP" train --resume other --epochs 2 >o 2>e || fail "resume --epochs 2 exited $?: $(cat e)"
grep -q 'Resuming after epoch 1' o && grep -q '^Epoch 2/2$' o || fail "resume --epochs 2 output: $(cat o)"
[ "$(wc -l <other/history.csv)" -eq 3 ] || fail "resume --epochs 2: history has $(wc -l <other/history.csv) lines"
grep -q '"epochs":[[:space:]]*2' other/config.json || fail "resume --epochs 2: config.json not updated"
cp other/checkpoint.bin bad/checkpoint.bin
expect_error "checkpoint.bin" "$VGGTOP" evaluate bad
expect_error "checkpoint.bin" "$VGGTOP" train --resume bad --epochs 3
cp "$run/checkpoint.bin" bad/checkpoint.bin
printf 'XXXXXXXX' | dd of=bad/checkpoint.bin bs=1 seek=5000 conv=notrunc 2>/dev/null
expect_error "checkpoint.bin" "$VGGTOP" evaluate bad
printf 'NOTVGGTP' | dd of=bad/checkpoint.bin bs=1 seek=0 conv=notrunc 2>/dev/null
expect_error "checkpoint.bin" "$VGGTOP" evaluate bad

# Help lists every option.
"$VGGTOP" train --help >h || fail "train --help exited $?"
for o in model data labels epochs batch-size lr momentum nesterov weight-decay resize augment limit-train \
         limit-test seed threads runs run-dir resume help; do
    grep -q -- "--$o" h || fail "train --help does not list --$o"
done
"$VGGTOP" --help | grep -q 'train' || fail "vggtop --help"
finish
