#!/bin/sh
# End-to-end: `vggtop compare` (issue 21): the total time is rounded (10.775 s is 11s, it said 10s); a state
# column tells a live run (its run.lock held), a killed one (progress.json busy, nobody holds the lock) and a
# finished one apart; the best epoch is written "0.6167 (2)", not "0.6167 (  2)"; --metric takes top5 and
# val_top5, Keras' top_k_categorical_accuracy of history.csv.
. "$(dirname "$0")/lib/prologue.sh"
FIX=tests/fixtures/train/run
progress() { # DIR STATE: a progress.json of a run in STATE written by pid 1 (which is never a trainer)
    cat >"$1/progress.json" <<JSON
{"state": "$2", "message": "", "epoch": 3, "epochs": 4, "epochs_done": 3, "batch": 0, "batches": 4,
 "samples": 0, "loss": 0, "acc": 0, "mse": 0, "img_per_s": 0, "ms_per_step": 0, "elapsed": 10, "eta": 0,
 "lr": 0.01, "pid": 1}
JSON
}
for r in fin kil liv; do cp -R "$FIX" "$TMP/$r"; done
# Epoch times of 10.775 s in all; top5 and val_top5 columns as vggtop writes them today.
for r in fin kil liv; do
    cat >"$TMP/$r/history.csv" <<CSV
epoch,loss,acc,mse,val_loss,val_acc,val_mse,lr,seconds,top_k_categorical_accuracy,val_top_k_categorical_accuracy
1,1.30000000,0.40000000,0.18000000,1.20000000,0.45000000,0.17000000,0.01,3.500,0.7100,0.6900
2,1.10000000,0.55000000,0.15000000,1.05000000,0.61666667,0.14000000,0.01,3.600,0.8100,0.7900
3,0.90000000,0.65000000,0.12000000,1.10000000,0.60000000,0.15000000,0.01,3.675,0.9100,0.8900
CSV
done
progress "$TMP/fin" finished
progress "$TMP/kil" training
progress "$TMP/liv" training
# The live run: a process holds its run.lock (as the trainer does, with flock) while compare runs.
: >"$TMP/liv/run.lock"
flock "$TMP/liv/run.lock" sleep 30 &
holder=$!
at_exit "kill $holder 2>/dev/null"
sleep 0.3

"$VGGTOP" compare "$TMP/fin" "$TMP/kil" "$TMP/liv" >"$TMP/c" 2>"$TMP/err" || fail "compare exited $? ($(cat "$TMP/err"))"
head -1 "$TMP/c" | grep -q ' state ' || fail "compare: no state column: $(head -1 "$TMP/c")"
grep -q "^$TMP/fin .* finished " "$TMP/c" || fail "compare: the finished run: $(grep "$TMP/fin" "$TMP/c")"
grep -q "^$TMP/kil .* killed " "$TMP/c" || fail "compare: the killed run: $(grep "$TMP/kil" "$TMP/c")"
grep -q "^$TMP/liv .* live " "$TMP/c" || fail "compare: the live run: $(grep "$TMP/liv" "$TMP/c")"
grep -q "^$TMP/fin .* 11s$" "$TMP/c" || fail "compare: 10.775 s in all is not 11s: $(grep "$TMP/fin" "$TMP/c")"
grep -q '0.6167 (2) ' "$TMP/c" || fail "compare: the best epoch is padded: $(grep "$TMP/fin" "$TMP/c")"
grep -q '(  2)' "$TMP/c" && fail "compare: '(  2)'"

for m in top5 val_top5; do
    "$VGGTOP" compare "$TMP/fin" --metric "$m" >"$TMP/m" 2>"$TMP/err" || fail "compare --metric $m exited $? ($(cat "$TMP/err"))"
    grep -q "^$m per epoch" "$TMP/m" || fail "compare --metric $m: no chart"
done
# The chart of val_top5 spans its data (0.69 to 0.89), not the other metrics'.
grep -q '0\.89' "$TMP/m" && grep -q '0\.69' "$TMP/m" || fail "compare --metric val_top5: axis $(grep '|' "$TMP/m" | head -2)"
"$VGGTOP" compare --help | grep -q "val_top5" || fail "compare --help does not name val_top5"
finish
