#!/bin/sh
# --precision mixed_bfloat16 from the command line. Everywhere: oneDNN capped at AVX2 (no bfloat16 kernels)
# makes train and bench refuse it with one line and exit status 2, and train leaves no run directory. Then
# this CPU's own branch, from its flags (avx512_bf16 or amx_bf16 in /proc/cpuinfo): without them the same
# refusal; with them, the learning check: cnn trains on 3,000 Fashion-MNIST images for 3 epochs at each
# precision (the same seed) and bfloat16's final training loss must be within LOSS_TOL of float32's; then
# --resume keeps mixed_bfloat16 (and refuses float32), and evaluate (float32) reads its checkpoint. The first
# layer (3 channels) runs oneDNN's bf16 convolution; with avx512_bf16 the others run the winograd backend's
# bfloat16 products (winograd:f2-bf16).
# tests/tools/bf16_learning.sh is the full check (3 seeds, 5,000 images, 3 epochs): on a 2-core Zen 5 the
# seeds spread float32's final loss over 0.017 (0.7751 to 0.7918) and mixed_bfloat16's over 0.017, the means
# were equal to 4 decimals, and each seed's bf16 loss was within 0.0005 of its float32 loss. LOSS_TOL is
# that seed spread, rounded up: bfloat16 must move the loss less than another seed does. A bf16 pass that
# learned wrongly (a lost gradient, a wrong kernel) ends far from it: untrained, the loss is ln 10 = 2.30.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
FASHION=/usr/share/datasets/fashion-mnist
LOSS_TOL=0.02

ONEDNN_MAX_CPU_ISA=AVX2 expect_usage_error "mixed_bfloat16" "$VGGTOP" bench --model cnn --precision mixed_bfloat16
ONEDNN_MAX_CPU_ISA=AVX2 expect_usage_error "mixed_bfloat16" "$VGGTOP" train --model cnn --data "$FASHION" \
    --limit-train 100 --epochs 1 --precision mixed_bfloat16 --run-dir "$TMP/capped"
[ ! -e "$TMP/capped" ] || fail "a refused mixed_bfloat16 run left $TMP/capped behind"
expect_usage_error "float32 or mixed_bfloat16" "$VGGTOP" bench --precision bfloat16

flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2)
case " $flags " in
*" avx512_bf16 "* | *" amx_bf16 "*) ;;
*)
    expect_usage_error "AVX512_BF16 or AMX" "$VGGTOP" train --model cnn --data "$FASHION" --limit-train 100 \
        --epochs 1 --precision mixed_bfloat16 --run-dir "$TMP/refused"
    echo "$E2E_NAME: this CPU has no bfloat16: its refusal checked"
    finish
    exit 0
    ;;
esac
# The whole run under a oneDNN cap below bfloat16 (ONEDNN_MAX_CPU_ISA=AVX2 make test, as on an AVX2 machine):
# refused too.
case "$(printf %s "${ONEDNN_MAX_CPU_ISA:-ALL}" | tr a-z A-Z)" in
ALL | *BF16* | *AMX* | *FP16*) capped= ;;
*) capped=1 ;;
esac
if [ -n "$capped" ]; then
    expect_usage_error "mixed_bfloat16" "$VGGTOP" train --model cnn --data "$FASHION" --limit-train 100 \
        --epochs 1 --precision mixed_bfloat16 --run-dir "$TMP/refused"
    echo "$E2E_NAME: oneDNN is capped at $ONEDNN_MAX_CPU_ISA: the refusal checked"
    finish
    exit 0
fi

for p in float32 mixed_bfloat16; do
    "$VGGTOP" train --model cnn --data "$FASHION" --limit-train 3000 --limit-test 200 --epochs 3 --seed 3 \
        --precision "$p" --run-dir "$TMP/$p" >"$TMP/$p.out" 2>&1 || fail "$p: train failed: $(tail -1 "$TMP/$p.out")"
done
grep -q '"precision":[[:space:]]*"mixed_bfloat16"' "$TMP/mixed_bfloat16/config.json" ||
    fail "config.json does not record the precision"
grep -q 'onednn:bf16' "$TMP/mixed_bfloat16.out" || fail "no layer ran onednn:bf16: $(grep Convolutions "$TMP/mixed_bfloat16.out")"
case " $flags " in
*" avx512_bf16 "*)
    grep -q 'winograd:f2-bf16' "$TMP/mixed_bfloat16.out" ||
        fail "no layer ran winograd:f2-bf16: $(grep Convolutions "$TMP/mixed_bfloat16.out")"
    ;;
esac
f32=$(tail -1 "$TMP/float32/history.csv" | cut -d, -f2)
bf16=$(tail -1 "$TMP/mixed_bfloat16/history.csv" | cut -d, -f2)
awk -v a="$f32" -v b="$bf16" -v t="$LOSS_TOL" 'BEGIN { d = b - a; exit !(d <= t && -d <= t) }' ||
    fail "final loss $bf16 at mixed_bfloat16, $f32 at float32: more than $LOSS_TOL apart"
echo "$E2E_NAME: final training loss float32 $f32, mixed_bfloat16 $bf16"

# --resume keeps the precision and refuses another; the checkpoint (float32 weights) evaluates in float32.
R=$TMP/mixed_bfloat16
expect_usage_error "precision" "$VGGTOP" train --resume "$R" --epochs 4 --precision float32
"$VGGTOP" train --resume "$R" --epochs 4 >"$TMP/resume.out" 2>&1 || fail "resume failed: $(tail -1 "$TMP/resume.out")"
grep -q 'onednn:bf16' "$TMP/resume.out" || fail "the resumed run left bfloat16: $(grep Convolutions "$TMP/resume.out")"
grep -q '"precision":[[:space:]]*"mixed_bfloat16"' "$R/config.json" || fail "resume lost the precision"
"$VGGTOP" evaluate "$R" >"$TMP/eval.out" 2>&1 || fail "evaluate of the bfloat16 run failed: $(tail -1 "$TMP/eval.out")"
finish
