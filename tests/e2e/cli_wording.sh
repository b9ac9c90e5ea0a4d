#!/bin/sh
# End-to-end: the small wording defects of issue 21 in the CLI: `vggtop --ascii watch /missing` names watch
# in its error (it said "vggtop:"); `vggtop layers` ends no line with blanks; the --conv help reads "one per
# Conv2D layer" (it said "or one a Conv2D layer"); `vggtop history` of a one-epoch run says "1 epoch"; a
# resume with fewer epochs than done names the --epochs that trains further (it said "give at least that
# many", and that many trained nothing).
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
"$VGGTOP" --ascii watch /missing >"$TMP/out" 2>"$TMP/err"; rc=$?
[ "$rc" -eq 2 ] || fail "vggtop --ascii watch /missing exited $rc"
grep -q '^vggtop watch: /missing' "$TMP/err" || fail "watch's error is not named watch: $(cat "$TMP/err")"

cp -R tests/fixtures/train/run "$TMP/run"
cat >"$TMP/run/layers.csv" <<CSV
epoch,layer,weight_norm,grad_norm,update_ratio,dead_relu,act_mean,act_std
1,dense,1.5,0.02,0.0001,0.25,0.1,0.2
1,dense_1,1.2,1e-9,1e-12,0.5,0.1,0.2
CSV
"$VGGTOP" layers "$TMP/run" >"$TMP/layers" 2>"$TMP/err" || fail "layers exited $? ($(cat "$TMP/err"))"
grep -q ' $' "$TMP/layers" && fail "layers: lines end with blanks: $(grep -n ' $' "$TMP/layers" | cat -A | head -3)"
grep -q '^dense  ' "$TMP/layers" || fail "layers: no row of dense: $(cat "$TMP/layers")"

"$VGGTOP" train --help >"$TMP/help" || fail "train --help exited $?"
# (the help wraps: read it as one line)
tr -s ' \n' '  ' <"$TMP/help" >"$TMP/help1"
grep -q "one a Conv2D" "$TMP/help1" && fail "train --help: 'or one a Conv2D layer'"
grep -q "one per Conv2D layer" "$TMP/help1" || fail "train --help: --conv does not say 'one per Conv2D layer'"
mkdir "$TMP/one"
sed 's/"epochs": 4,/"epochs": 1,/' tests/fixtures/train/run/config.json >"$TMP/one/config.json"
head -2 tests/fixtures/train/run/history.csv >"$TMP/one/history.csv"
"$VGGTOP" history "$TMP/one" >"$TMP/h" 2>"$TMP/err" || fail "history exited $? ($(cat "$TMP/err"))"
grep -q ': 1 of 1 epoch$' "$TMP/h" || fail "history of a one-epoch run: $(head -1 "$TMP/h")"
"$VGGTOP" train --model mlp --data /usr/share/datasets/fashion-mnist --limit-train 64 --limit-test 32 --epochs 2 \
    --threads 1 --run-dir "$TMP/two" >"$TMP/t" 2>&1 || fail "train exited $? ($(tail -3 "$TMP/t"))"
"$VGGTOP" train --resume "$TMP/two" --epochs 1 >"$TMP/out" 2>"$TMP/err"; rc=$?
[ "$rc" -eq 2 ] || fail "resume --epochs 1 of a 2-epoch run exited $rc"
grep -q -- "--epochs 3 or more" "$TMP/err" || fail "resume --epochs 1: $(cat "$TMP/err")"
"$VGGTOP" train --resume "$TMP/two" --epochs 3 >"$TMP/out" 2>&1 || fail "resume --epochs 3 exited $?"
[ "$(grep -c '^[0-9]' "$TMP/two/history.csv")" -eq 3 ] || fail "resume --epochs 3 did not train a third epoch"
finish
