#!/bin/sh
# Portability of nn across the kernels its libraries pick per CPU: the machines that build and test vggtop
# differ (AVX2 only, AVX-512, AVX-512 with BF16, ...), OpenBLAS and oneDNN each choose their kernels from
# the CPU they run on, and a test that passes on one machine proves nothing about the others' kernels unless
# it runs them too. Two parts:
# 1. OpenBLAS: the nn unit tests once under each OpenBLAS core this CPU can execute (Prescott, Haswell,
#    SkylakeX, Cooperlake, SapphireRapids). This is the one test that sets OPENBLAS_CORETYPE, on purpose. A
#    core whose instructions the CPU lacks is not run (OpenBLAS would die of SIGILL), and neither is one this
#    OpenBLAS build does not have (it then runs another: the binaries print which).
# 2. oneDNN: on a CPU with AVX-512, where oneDNN runs its AVX-512 kernels and its Winograd convolution, the
#    unit tests that run convolutions (test_nn_conv: its oneDNN cases; nn's own kernels ignore the cap) and
#    tests/e2e/nn_bench_conv.sh once more with oneDNN capped at AVX2 (ONEDNN_MAX_CPU_ISA=AVX2): the kernels
#    an AVX2 machine runs, no Winograd. oneDNN's own verbose output and the instruction set each test binary
#    prints check that the cap held.
# One line names the paths this CPU could not run (on an AVX2 machine: the AVX-512 ones).
# VGGTOP_TEST_CPU_FLAGS, when set, stands for /proc/cpuinfo's flags in this script alone, to check its
# branches on another CPU's flags (what the tests run and check is always the real CPU's).
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
ran=0; cores_not_run=""; onednn_not_run=""

OUT=build/release/tests
BLAS_BINS="$OUT/test_nn $OUT/test_nn_alloc $OUT/test_nn_checkpoint $OUT/test_nn_model"
# The unit tests that run oneDNN's convolutions.
CONV_BINS="$OUT/test_nn_conv $OUT/test_nn_bf16 $OUT/test_nn_model $OUT/test_nn $OUT/test_nn_alloc $OUT/test_nn_checkpoint \
$OUT/test_nn_pool $OUT/test_train_engine"
# shellcheck disable=SC2086
make --no-print-directory -s $BLAS_BINS $CONV_BINS || fatal "cannot build the nn tests"

flags=${VGGTOP_TEST_CPU_FLAGS-$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2)}
has() { for f in "$@"; do case " $flags " in *" $f "*) ;; *) return 1 ;; esac; done; return 0; }
# oneDNN's avx512_core, the least AVX-512 it has kernels (and Winograd) for; OpenBLAS's SkylakeX needs the same.
AVX512="avx512f avx512cd avx512bw avx512dq avx512vl"

# Every run below is a separate process that waits on nothing but itself, so they go two at a time (the
# machine's cores), longest first; the checks read each one's log after all have ended.
jobs=$TMP/jobs
: >"$jobs"
job() { # log VAR=value... command...: one line of the list
    echo "$*" >>"$jobs"
}
run_jobs() {
    # shellcheck disable=SC2016 # expanded by the inner shell
    xargs -P "$(nproc 2>/dev/null || echo 2)" -L 1 sh -c 'log=$1; shift; env "$@" >"$log" 2>&1; echo $? >"$log.rc"' sh \
        <"$jobs"
}
# A finished job's status and the log's lines that say what failed.
rc_of() { cat "$1.rc" 2>/dev/null || echo "no status"; }
failed_lines() { grep -E 'FAILED|ERROR|Error|error' "$1" | head -n 20 >&2; }

# ---- 2. oneDNN capped at AVX2: what to run (first, the longest) -------------------------------------------
# oneDNN says which instruction set it dispatches to when ONEDNN_VERBOSE is set: "...,cpu,isa:Intel AVX2".
onednn_isa() {
    env "$@" ONEDNN_VERBOSE=1 "$VGGTOP" bench --model cnn --steps 1 --warmup 0 --conv onednn --threads 1 \
        --skip sgemm,data,metrics 2>&1 | sed -n 's/^onednn_verbose,info,cpu,isa://p' | head -n 1
}
capped_run=0
if [ "$(uname -m)" != x86_64 ]; then
    :
elif ! has $AVX512; then
    onednn_not_run="oneDNN's AVX-512 kernels and its Winograd convolution (onednn:winograd)"
else
    isa=$(onednn_isa)
    case "$isa" in
    *AVX-512*) ;;
    *) echo "$E2E_NAME: note: oneDNN runs '$isa' here, not AVX-512 (is ONEDNN_MAX_CPU_ISA set?)" ;;
    esac
    capped=$(onednn_isa ONEDNN_MAX_CPU_ISA=AVX2)
    [ "$capped" = "Intel AVX2" ] || fail "ONEDNN_MAX_CPU_ISA=AVX2: oneDNN says it runs '$capped', not 'Intel AVX2'"
    capped_run=1
    # nn's own kernels (naive, gemm, winograd, smallmap) ignore the cap: test_nn_conv runs only its oneDNN
    # cases under it (VGGTOP_TEST_ONEDNN_ONLY; the others ran as they are in the unit tests).
    for t in $CONV_BINS; do
        only=
        [ "$(basename "$t")" = test_nn_conv ] && only=VGGTOP_TEST_ONEDNN_ONLY=1
        job "$TMP/cap-$(basename "$t")" ONEDNN_MAX_CPU_ISA=AVX2 $only "$t"
    done
    job "$TMP/cap-nn_bench_conv" ONEDNN_MAX_CPU_ISA=AVX2 sh tests/e2e/nn_bench_conv.sh
fi

# ---- 1. OpenBLAS's cores: what to run ---------------------------------------------------------------------
# core | the CPU flags its kernels need (as /proc/cpuinfo names them)
cores=
while read -r core needs; do
    # shellcheck disable=SC2086
    if ! has $needs; then
        cores_not_run="${cores_not_run:+$cores_not_run, }$core"
        continue
    fi
    cores="$cores $core"
    for t in $BLAS_BINS; do
        job "$TMP/blas-$core-$(basename "$t")" OPENBLAS_CORETYPE=$core "$t"
    done
done <<EOF2
Prescott pni
Haswell avx2 fma
SkylakeX $AVX512
Cooperlake $AVX512 avx512_bf16
SapphireRapids $AVX512 avx512_bf16 avx512_fp16 amx_bf16 amx_tile
EOF2

run_jobs

# ---- 1. OpenBLAS's cores: the checks ----------------------------------------------------------------------
for core in $cores; do
    for t in $BLAS_BINS; do
        log=$TMP/blas-$core-$(basename "$t")
        got=$(sed -n 's/^OpenBLAS core: \([A-Za-z0-9_]*\).*/\1/p' "$log" | head -n 1)
        if [ "$got" != "$core" ]; then
            echo "$E2E_NAME: skip $core: this OpenBLAS build runs ${got:-nothing} when asked for it"
            continue 2
        fi
        rc=$(rc_of "$log")
        if [ "$rc" != 0 ]; then
            fail "$(basename "$t") under OPENBLAS_CORETYPE=$core exited $rc:"
            failed_lines "$log"
        fi
    done
    echo "$E2E_NAME: the nn tests ran under OpenBLAS's $core"
    ran=$((ran + 1))
done

case "$(uname -m)" in
x86_64 | i?86) [ "$ran" -gt 0 ] || fail "no OpenBLAS core could run here, not even Prescott" ;;
*) echo "$E2E_NAME: not an x86 CPU: the x86 cores do not apply" ;;
esac

# ---- 2. oneDNN capped at AVX2: the checks -----------------------------------------------------------------
if [ "$capped_run" = 1 ]; then
    for t in $CONV_BINS; do
        log=$TMP/cap-$(basename "$t")
        got=$(sed -n 's/^oneDNN ISA: //p' "$log" | head -n 1)
        [ "$got" = avx2 ] || fail "$(basename "$t") under ONEDNN_MAX_CPU_ISA=AVX2 ran oneDNN's ${got:-nothing}"
        rc=$(rc_of "$log")
        if [ "$rc" != 0 ]; then
            fail "$(basename "$t") under ONEDNN_MAX_CPU_ISA=AVX2 exited $rc:"
            failed_lines "$log"
        fi
    done
    [ "$(rc_of "$TMP/cap-nn_bench_conv")" = 0 ] ||
        { cat "$TMP/cap-nn_bench_conv" >&2; fail "tests/e2e/nn_bench_conv.sh under ONEDNN_MAX_CPU_ISA=AVX2"; }
    echo "$E2E_NAME: the convolution tests and nn_bench_conv.sh ran with oneDNN capped at AVX2"
fi

# One line for every path this CPU could not run.
not_run="${cores_not_run:+OpenBLAS's $cores_not_run core(s)}"
not_run="$not_run${onednn_not_run:+${not_run:+; }$onednn_not_run}"
[ -n "$not_run" ] && echo "$E2E_NAME: not run, this CPU lacks their instructions: $not_run"
finish
