#!/bin/sh
# Portability of nn across OpenBLAS kernels: the nn unit tests run once under each OpenBLAS core this CPU can
# execute (Prescott, Haswell, SkylakeX, Cooperlake, SapphireRapids), since the machines that build and test
# vggtop differ and OpenBLAS picks a different kernel on each. This is the one test that sets
# OPENBLAS_CORETYPE, on purpose. A core whose instructions the CPU lacks is skipped (OpenBLAS would die of
# SIGILL), and so is one this OpenBLAS build does not have (it then runs another: the binaries print which).
. "$(dirname "$0")/lib/prologue.sh"
ran=0

OUT=build/release/tests
BINS="$OUT/test_nn $OUT/test_nn_alloc $OUT/test_nn_checkpoint $OUT/test_nn_model"
# shellcheck disable=SC2086
make --no-print-directory -s $BINS || fatal "cannot build the nn tests"

flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2)
has() { for f in "$@"; do case " $flags " in *" $f "*) ;; *) return 1 ;; esac; done; return 0; }

# core | the CPU flags its kernels need (as /proc/cpuinfo names them)
while read -r core needs; do
    # shellcheck disable=SC2086
    if ! has $needs; then
        echo "$E2E_NAME: skip $core: this CPU lacks some of: $needs"
        continue
    fi
    for t in $BINS; do
        log=$TMP/log
        OPENBLAS_CORETYPE=$core "$t" >"$log" 2>&1
        rc=$?
        got=$(sed -n 's/^OpenBLAS core: \([A-Za-z0-9_]*\).*/\1/p' "$log" | head -n 1)
        if [ "$got" != "$core" ]; then
            echo "$E2E_NAME: skip $core: this OpenBLAS build runs ${got:-nothing} when asked for it"
            rm -f "$log"
            continue 2
        fi
        if [ "$rc" -ne 0 ]; then
            fail "$(basename "$t") under OPENBLAS_CORETYPE=$core exited $rc:"
            grep -E 'FAILED|ERROR|Error|error' "$log" | head -n 20 >&2
        fi
        rm -f "$log"
    done
    echo "$E2E_NAME: the nn tests ran under $core"
    ran=$((ran + 1))
done <<'EOF'
Prescott pni
Haswell avx2 fma
SkylakeX avx512f avx512cd avx512bw avx512dq avx512vl
Cooperlake avx512f avx512cd avx512bw avx512dq avx512vl avx512_bf16
SapphireRapids avx512f avx512cd avx512bw avx512dq avx512vl avx512_bf16 avx512_fp16 amx_bf16 amx_tile
EOF

case "$(uname -m)" in
x86_64 | i?86) [ "$ran" -gt 0 ] || fail "no OpenBLAS core could run here, not even Prescott" ;;
*) echo "$E2E_NAME: not an x86 CPU: the x86 cores do not apply" ;;
esac
echo "$E2E_NAME: the nn tests ran under $ran cores"
finish
