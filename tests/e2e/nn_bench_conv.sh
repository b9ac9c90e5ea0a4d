#!/bin/sh
# End-to-end test of `vggtop bench`'s convolutions (the part of tests/e2e/nn_bench.sh that runs oneDNN, so
# that tests/e2e/nn_kernels.sh runs it again with oneDNN capped at AVX2): the seed's experiment estimated
# from vgg16's row, and --conv, the backend of each Conv2D layer in the conv: line and the profile's backend
# column, and VGGTOP_CONV. Never asserts on speeds: only that the numbers are there and make sense.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
VG=$VGGTOP tmp=$TMP

# ---- the seed's experiment, estimated from vgg16's row: 10 x (50,000 / train + 10,000 / infer) seconds ------
if "$VG" bench --model vgg16 --steps 1 --warmup 0 --skip sgemm,data,metrics >"$tmp/seed" 2>"$tmp/err"; then
    awk '$1 == "vgg16" { t = $6; v = $9 }
         /^the seed.s experiment/ { total = $(NF - 11); tr = $(NF - 8) + 0; va = $(NF - 6) + 0 }
         END { want = 10 * (50000 / t + 10000 / v) / 60; wt = 10 * 50000 / t / 60
               # within 1% + 1 min: the rates are printed to a tenth, the minutes rounded
               exit !(t > 0 && v > 0 && total - want < 1 + want / 100 && want - total < 1 + want / 100 &&
                      tr - wt < 1 + wt / 100 && wt - tr < 1 + wt / 100 && va >= 0) }' "$tmp/seed" ||
        fail "seed estimate missing or not 10 x (50,000/train + 10,000/infer): $(grep -i seed "$tmp/seed")"
else
    fail "vggtop bench --model vgg16 exited $?"
fi

# ---- --conv: the backend of each Conv2D layer, in the conv: line and the profile's backend column --------
# What `--conv onednn` gives a layer depends on the CPU: oneDNN's Winograd where oneDNN has it (AVX-512 in
# oneDNN 2.x, unless ONEDNN_MAX_CPU_ISA caps it lower) on maps of 8x8 and up, as all of cnn's are (32x32,
# 16x16) from 8 input channels, else its direct convolution (always on block1_conv1, whose 3 input channels
# are too few for Winograd's products). So oneDNN is asked first: `--conv onednn:winograd` runs here, or is
# refused with a line saying Winograd needs AVX-512.
if "$VG" bench --model cnn --steps 1 --warmup 0 --conv onednn:winograd --skip sgemm,data,metrics \
    >"$tmp/wino" 2>"$tmp/err"; then
    onednn_variant=onednn:winograd
elif grep -q 'onednn:winograd .*cannot run layer block1_conv1 here (oneDNN 2.x has Winograd only with AVX-512' \
    "$tmp/err"; then
    onednn_variant=onednn:direct
else
    fail "--conv onednn:winograd neither ran nor said why not: $(head -c 300 "$tmp/err")"
    onednn_variant=onednn:direct
fi
echo "$E2E_NAME: oneDNN's $onednn_variant here"
for conv in gemm onednn; do
    if "$VG" bench --model cnn --steps 1 --warmup 0 --layers --conv "$conv" --skip sgemm,data,metrics \
        >"$tmp/conv" 2>"$tmp/err"; then
        want=$conv first=$conv
        [ "$conv" = onednn ] && want=$onednn_variant first=onednn:direct
        # Every entry one of the backend's variants (true on every CPU), and the one this CPU's branch gives.
        awk -v c="$conv" '/^  conv: / { found = 1; n = split($2, e, ","); if (n != 4) bad = 1
                                        for (i = 1; i <= n; i++) if (e[i] != c && index(e[i], c ":") != 1) bad = 1 }
                          END { exit !(found && !bad) }' "$tmp/conv" ||
            fail "--conv $conv: the conv: line does not give the four layers $conv: $(grep '^  conv: ' "$tmp/conv")"
        grep -q "^  conv: $first,$want,$want,$want (planned in [0-9.]* s)\$" "$tmp/conv" ||
            fail "--conv $conv: the conv: line does not give $first then $want: $(grep '^  conv: ' "$tmp/conv")"
        awk -v c="$conv" '$1 == "block1_conv1" && $2 == "Conv2D" && NF == 10 && index($4, c) == 1 && $5 + 0 > 0 { ok = 1 }
                          END { exit !ok }' "$tmp/conv" || fail "--conv $conv: no block1_conv1 row on $conv"
    else
        fail "vggtop bench --conv $conv exited $? ($(head -c 300 "$tmp/err"))"
    fi
done
# The winograd backend: cnn's maps (32x32, 16x16) are all 8x8 or larger, so F(4x4) on each layer.
if "$VG" bench --model cnn --steps 1 --warmup 0 --layers --conv winograd --skip sgemm,data,metrics \
    >"$tmp/conv" 2>"$tmp/err"; then
    grep -q "^  conv: winograd:f4,winograd:f4,winograd:f4,winograd:f4 (planned in" "$tmp/conv" ||
        fail "--conv winograd: the conv: line does not give F(4x4) on the four layers"
    awk '$2 == "Conv2D" && NF == 10 && $4 == "winograd:f4" && $5 + 0 > 0 && $6 + 0 > 0 { n++ } END { exit n != 4 }' \
        "$tmp/conv" || fail "--conv winograd: not four timed Conv2D rows on winograd:f4"
else
    fail "vggtop bench --conv winograd exited $? ($(head -c 300 "$tmp/err"))"
fi
VGGTOP_CONV=gemm "$VG" bench --model cnn --steps 1 --warmup 0 --skip sgemm,data,metrics >"$tmp/conv" 2>&1
grep -q '^  conv: gemm,gemm,gemm,gemm ' "$tmp/conv" || fail "VGGTOP_CONV=gemm: the conv: line does not say gemm"

finish
