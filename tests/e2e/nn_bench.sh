#!/bin/sh
# End-to-end test of `vggtop bench`: a quick run on the small mlp model prints every section with the
# documented columns and positive numbers, and bad flags exit 2 with exactly one line on stderr. Its
# convolutions (oneDNN's, which tests/e2e/nn_kernels.sh runs again capped at AVX2) are nn_bench_conv.sh's.
# Never asserts on speeds: only that the numbers are there and make sense.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
VG=$VGGTOP tmp=$TMP

# ---- a quick full run ------------------------------------------------------------------------------------
if ! "$VG" bench --model mlp --steps 2 --warmup 1 --threads 1 >"$tmp/out" 2>"$tmp/err"; then
    fail "vggtop bench --model mlp --steps 2 exited $? ($(head -c 300 "$tmp/err"))"
fi
[ -s "$tmp/err" ] && fail "bench wrote to stderr: $(head -c 300 "$tmp/err")"

grep -q '^vggtop bench: OpenBLAS core [A-Za-z0-9_]* (.*), 1 threads; batch 32;' "$tmp/out" ||
    fail "no header line naming the OpenBLAS core and 1 thread"

# reference: cblas_sgemm 2048x2048x2048: X GFLOP/s (median of 5)
awk '/^reference: cblas_sgemm 2048x2048x2048: / { found = 1; if (!($4 + 0 > 0) || $5 != "GFLOP/s") bad = 1 }
     END { exit !(found && !bad) }' "$tmp/out" || fail "sgemm reference line missing or not positive"

# reference: FMA limit, N thread(s) of ISA fused multiply-adds: X GFLOP/s (best of 3), at most a generous bound
# of 64 FLOPs a cycle (two AVX-512 FMA pipes) at 6 GHz a thread, so a miscount of lanes or threads shows.
awk '/^reference: FMA limit, 1 thread of (AVX-512|AVX2\+FMA|SSE \(no FMA\)) fused multiply-adds: / {
         found = 1; g = $(NF - 4) + 0; if (!(g > 0 && g < 64 * 6) || $(NF - 3) != "GFLOP/s") bad = 1 }
     END { exit !(found && !bad) }' "$tmp/out" || fail "FMA limit line missing, not positive or past 384 GFLOP/s"

header='model         input          params GFLOP/img steps train_img/s GFLOP/s %sgemm infer_img/s GFLOP/s %sgemm peak_MiB'
grep -qxF "$header" "$tmp/out" || fail "model table header differs from: $header"

# The mlp row: 12 fields; params with thousands separators; every number positive; steps is what we asked.
awk '$1 == "mlp" {
        found++
        if (NF != 12) { print "mlp row has " NF " fields"; bad = 1 }
        if ($2 != "32x32x3") { print "mlp input is " $2; bad = 1 }
        if ($3 !~ /^[1-9][0-9]?[0-9]?(,[0-9][0-9][0-9])*$/) { print "params not like 1,730,404: " $3; bad = 1 }
        if ($5 != 2) { print "steps " $5 " != 2"; bad = 1 }
        for (i = 4; i <= 12; i++)
            if ($i !~ /^[0-9]+(\.[0-9]+)?$/ || !($i + 0 > 0)) { print "field " i " not a positive number: " $i; bad = 1 }
     }
     END { if (found != 1) { print "mlp rows: " found + 0; bad = 1 }; exit bad }' "$tmp/out" >"$tmp/awk" ||
    fail "mlp row: $(cat "$tmp/awk")"
# No other model was benched.
awk '$1 ~ /^(vgg16|vgg19|vgg16-nopool|cnn)$/ { exit 1 }' "$tmp/out" || fail "--model mlp benched other models"
grep -q '^peak_MiB: ' "$tmp/out" || fail "no line saying how peak memory is measured"

# Data: measured on the data set found (then every stage positive), or one line saying why not.
if grep -q '^data: not measured: ' "$tmp/out"; then
    echo "bench.sh: note: $(grep '^data: not measured: ' "$tmp/out")"
else
    grep -q '^data: .* train + .* test images, [0-9]*x[0-9]*x[0-9]*$' "$tmp/out" || fail "no data set line"
    for stage in 'load (data_open, default options)' 'load + bicubic resize to 32x32' \
                 'batch 32x32, x/255 (data_fill_batch)' 'batch 32x32, standardize + augment' \
                 'pipeline: load + resize + one epoch of batches'; do
        awk -v s="  $stage" 'index($0, s) == 1 { n = split(substr($0, length(s) + 1), f, " ")
                                                  if (n == 2 && f[1] + 0 > 0 && f[2] ~ /^[0-9,]+$/) ok = 1 }
                             END { exit !ok }' "$tmp/out" || fail "data stage '$stage' missing or not positive"
    done
fi

# Metrics: the 10,000 x 100 workload; every stage a number, the total positive.
grep -q '^metrics: 10,000 samples x 100 classes' "$tmp/out" || fail "no metrics line"
for stage in 'argmax + confusion matrix' 'classification report (+ text)' 'ROC curves, one per class' \
             'ROC micro average' 'ROC macro average'; do
    awk -v s="  $stage" 'index($0, s) == 1 { v = substr($0, length(s) + 1); gsub(/ /, "", v)
                                              if (v ~ /^[0-9]+\.[0-9]+$/) ok = 1 }
                         END { exit !ok }' "$tmp/out" || fail "metrics stage '$stage' missing"
done
awk '$1 == "total" && NF == 2 && $2 + 0 > 0 { ok = 1 } END { exit !ok }' "$tmp/out" || fail "metrics total not positive"
grep -q '^load average: [0-9.]* at the start, [0-9.]* at the end ([0-9]* cores)$' "$tmp/out" ||
    fail "no closing load-average line"

# ---- --skip: without the reference, the %sgemm columns say "-" -----------------------------------------
if "$VG" bench --model mlp --steps 1 --warmup 0 --skip sgemm,data,metrics >"$tmp/skip" 2>"$tmp/err"; then
    grep -q '^reference:' "$tmp/skip" && fail "--skip sgemm still ran the reference"
    grep -q '^data:\|^metrics:' "$tmp/skip" && fail "--skip data,metrics still ran them"
    awk '$1 == "mlp" && $8 == "-" && $11 == "-" { ok = 1 } END { exit !ok }' "$tmp/skip" ||
        fail "--skip sgemm: %sgemm columns are not '-'"
else
    fail "vggtop bench --skip sgemm,data,metrics exited $?"
fi

# ---- --layers: the per-layer profile lists every layer with a kernel and the whole step ------------------
if "$VG" bench --model mlp --steps 2 --warmup 0 --layers --skip sgemm,data,metrics >"$tmp/layers" 2>"$tmp/err"; then
    grep -q '^layers of mlp, batch 32: ' "$tmp/layers" || fail "--layers: no 'layers of mlp' title"
    for layer in fc1 fc2 predictions; do
        awk -v l="$layer" '$1 == l && $2 == "Dense" && NF == 10 && $4 == "-" && $5 + 0 > 0 && $6 + 0 > 0 &&
                           $9 + 0 > 0 { ok = 1 } END { exit !ok }' "$tmp/layers" ||
            fail "--layers: no timed row for $layer with its %FMA"
    done
    # --layers measures the FMA limit even when --skip sgemm leaves the sgemm reference out
    grep -q '^reference: FMA limit, ' "$tmp/layers" || fail "--layers --skip sgemm: no FMA limit"
    grep -q '^reference: cblas_sgemm' "$tmp/layers" && fail "--layers --skip sgemm ran the sgemm reference"
    grep -q '^  %FMA: .* [0-9][0-9]* GFLOP/s;' "$tmp/layers" || fail "--layers: no %FMA footnote"
    # the seed's experiment is estimated only when vgg16 was benched
    grep -q "^the seed's experiment" "$tmp/layers" && fail "--model mlp printed the seed's vgg16 estimate"
    grep -q '^  training step (model_train_step, median) *[0-9.]*$' "$tmp/layers" || fail "--layers: no step line"
else
    fail "vggtop bench --layers exited $?"
fi

# ---- a weaker kernel from OPENBLAS_CORETYPE: kept, and named in a note on a CPU with AVX-512 -------------
# The CPU's flags, not what OpenBLAS picks, decide what the note must say: Haswell's kernels are AVX2 ones.
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has() { case " $flags " in *" $1 "*) return 0 ;; esac; return 1; }
if has avx2 && has fma; then
    OPENBLAS_CORETYPE=Haswell "$VG" bench --model mlp --steps 1 --warmup 0 --threads 1 --skip sgemm,data,metrics \
        >"$tmp/hw" 2>&1 || fail "bench under OPENBLAS_CORETYPE=Haswell exited $?"
    grep -q '^vggtop bench: OpenBLAS core Haswell (from OPENBLAS_CORETYPE)' "$tmp/hw" ||
        fail "OPENBLAS_CORETYPE=Haswell was not kept: $(head -1 "$tmp/hw")"
    if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
        grep -q '^note: OpenBLAS runs its Haswell kernel, but this CPU can run SkylakeX.*unset OPENBLAS_CORETYPE' \
            "$tmp/hw" || fail "no note naming SkylakeX on an AVX-512 CPU: $(head -3 "$tmp/hw")"
    elif grep -q '^note: OpenBLAS runs' "$tmp/hw"; then
        fail "a kernel note on a CPU without AVX-512: $(grep '^note: OpenBLAS' "$tmp/hw")"
    fi
fi

# ---- --help --------------------------------------------------------------------------------------------
"$VG" bench --help >"$tmp/help" 2>&1 || fail "bench --help exited $?"
grep -q '^usage: vggtop bench' "$tmp/help" || fail "bench --help prints no usage"

# ---- bad flags: exit 2, one line on stderr naming the problem, nothing on stdout -------------------------
bad() { # expected-substring args...
    want=$1; shift
    "$VG" bench "$@" >"$tmp/bo" 2>"$tmp/be"
    rc=$?
    [ "$rc" -eq 2 ] || fail "bench $* exited $rc, want 2"
    [ "$(wc -l <"$tmp/be")" -eq 1 ] || fail "bench $*: stderr has $(wc -l <"$tmp/be") lines, want 1"
    [ -s "$tmp/bo" ] && fail "bench $*: wrote to stdout"
    grep -qF -- "$want" "$tmp/be" || fail "bench $*: stderr does not mention '$want': $(cat "$tmp/be")"
}
bad "--bogus" --bogus
bad "--model" --model nosuch
bad "--batch-size" --batch-size 0
bad "--batch-size" --batch-size 12x
bad "--steps" --steps -1
bad "--threads" --threads many
bad "--threads" --threads 300
bad "--warmup" --warmup ''
bad "--steps" --steps
bad "--skip" --skip models,everything
bad "leaves nothing to measure" --skip sgemm,models,data,metrics # printed a header and exited 0
bad "--layers profiles the models" --layers --skip models        # measured the FMA limit and stopped
bad "--dist projects the models" --dist --skip models
bad "unknown convolution backend 'cudnn'" --conv cudnn
bad "--conv" --conv gemm,fast
bad "extra" extra
bad "no-such-dir" --model mlp --skip sgemm,models,metrics --data "$tmp/no-such-dir"

if [ "$fails" -ne 0 ]; then
    echo "bench.sh: $fails check(s) failed; output was:" >&2
    cat "$tmp/out" >&2
    exit 1
fi
echo "bench.sh: ok"
