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
#    unit tests that run convolutions and tests/e2e/nn_bench.sh once more with oneDNN capped at AVX2
#    (ONEDNN_MAX_CPU_ISA=AVX2): the kernels an AVX2 machine runs, no Winograd. oneDNN's own verbose output
#    and the instruction set each test binary prints check that the cap held.
# One line names the paths this CPU could not run (on an AVX2 machine: the AVX-512 ones).
# VGGTOP_TEST_CPU_FLAGS, when set, stands for /proc/cpuinfo's flags in this script alone, to check its
# branches on another CPU's flags (what the tests run and check is always the real CPU's).
. "$(dirname "$0")/lib/prologue.sh"
ran=0; cores_not_run=""; onednn_not_run=""

OUT=build/release/tests
BLAS_BINS="$OUT/test_nn $OUT/test_nn_alloc $OUT/test_nn_checkpoint $OUT/test_nn_model"
# The unit tests that run oneDNN's convolutions (about 25 s on a 2-core machine).
CONV_BINS="$OUT/test_nn_conv $OUT/test_nn_bf16 $OUT/test_nn_model $OUT/test_nn $OUT/test_nn_alloc $OUT/test_nn_checkpoint \
$OUT/test_nn_pool $OUT/test_train_engine"
# shellcheck disable=SC2086
make --no-print-directory -s $BLAS_BINS $CONV_BINS || fatal "cannot build the nn tests"

flags=${VGGTOP_TEST_CPU_FLAGS-$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2)}
has() { for f in "$@"; do case " $flags " in *" $f "*) ;; *) return 1 ;; esac; done; return 0; }
# oneDNN's avx512_core, the least AVX-512 it has kernels (and Winograd) for; OpenBLAS's SkylakeX needs the same.
AVX512="avx512f avx512cd avx512bw avx512dq avx512vl"
log=$TMP/log

# ---- 1. OpenBLAS's cores --------------------------------------------------------------------------------
# core | the CPU flags its kernels need (as /proc/cpuinfo names them)
while read -r core needs; do
    # shellcheck disable=SC2086
    if ! has $needs; then
        cores_not_run="${cores_not_run:+$cores_not_run, }$core"
        continue
    fi
    for t in $BLAS_BINS; do
        OPENBLAS_CORETYPE=$core "$t" >"$log" 2>&1
        rc=$?
        got=$(sed -n 's/^OpenBLAS core: \([A-Za-z0-9_]*\).*/\1/p' "$log" | head -n 1)
        if [ "$got" != "$core" ]; then
            echo "$E2E_NAME: skip $core: this OpenBLAS build runs ${got:-nothing} when asked for it"
            continue 2
        fi
        if [ "$rc" -ne 0 ]; then
            fail "$(basename "$t") under OPENBLAS_CORETYPE=$core exited $rc:"
            grep -E 'FAILED|ERROR|Error|error' "$log" | head -n 20 >&2
        fi
    done
    echo "$E2E_NAME: the nn tests ran under OpenBLAS's $core"
    ran=$((ran + 1))
done <<EOF2
Prescott pni
Haswell avx2 fma
SkylakeX $AVX512
Cooperlake $AVX512 avx512_bf16
SapphireRapids $AVX512 avx512_bf16 avx512_fp16 amx_bf16 amx_tile
EOF2

case "$(uname -m)" in
x86_64 | i?86) [ "$ran" -gt 0 ] || fail "no OpenBLAS core could run here, not even Prescott" ;;
*) echo "$E2E_NAME: not an x86 CPU: the x86 cores do not apply" ;;
esac

# ---- 2. oneDNN capped at AVX2 ---------------------------------------------------------------------------
# oneDNN says which instruction set it dispatches to when ONEDNN_VERBOSE is set: "...,cpu,isa:Intel AVX2".
onednn_isa() {
    env "$@" ONEDNN_VERBOSE=1 "$VGGTOP" bench --model cnn --steps 1 --warmup 0 --conv onednn --threads 1 \
        --skip sgemm,data,metrics 2>&1 | sed -n 's/^onednn_verbose,info,cpu,isa://p' | head -n 1
}
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
    for t in $CONV_BINS; do
        ONEDNN_MAX_CPU_ISA=AVX2 "$t" >"$log" 2>&1
        rc=$?
        got=$(sed -n 's/^oneDNN ISA: //p' "$log" | head -n 1)
        [ "$got" = avx2 ] || fail "$(basename "$t") under ONEDNN_MAX_CPU_ISA=AVX2 ran oneDNN's ${got:-nothing}"
        if [ "$rc" -ne 0 ]; then
            fail "$(basename "$t") under ONEDNN_MAX_CPU_ISA=AVX2 exited $rc:"
            grep -E 'FAILED|ERROR|Error|error' "$log" | head -n 20 >&2
        fi
    done
    ONEDNN_MAX_CPU_ISA=AVX2 sh tests/e2e/nn_bench.sh >"$log" 2>&1 ||
        { cat "$log" >&2; fail "tests/e2e/nn_bench.sh under ONEDNN_MAX_CPU_ISA=AVX2"; }
    echo "$E2E_NAME: the convolution tests and nn_bench.sh ran with oneDNN capped at AVX2"
fi

# One line for every path this CPU could not run.
not_run="${cores_not_run:+OpenBLAS's $cores_not_run core(s)}"
not_run="$not_run${onednn_not_run:+${not_run:+; }$onednn_not_run}"
[ -n "$not_run" ] && echo "$E2E_NAME: not run, this CPU lacks their instructions: $not_run"
finish
