#!/bin/sh
# Runs each cmocka test binary given; fails if any fails. Prints each binary's wall time and a closing
# 'N passed, N failed' line. With -j N, N binaries run at once (make unit-all runs the release, ASan and TSan
# binaries this way, two at a time: most of them use one core; make test runs them in tests/tools/run-e2e.sh's
# pools instead): each one's output is printed whole when it ends, never interleaved with another's.
# Other libraries' process-wide caches (fontconfig's, through PLplot's cairo driver) are not leaks of ours.
# Page faults cost microseconds each on the virtual machines make test runs on (a clean run there spent a
# third of its CPU time in the kernel, most of it faulting in memory the tests had just freed): glibc's malloc
# is asked to keep freed blocks up to 32 MB for reuse and to back its memory with transparent huge pages. The
# tests assert the same things either way; a value the caller set is kept.
: "${GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824}"
export GLIBC_TUNABLES
LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")/.." && pwd)/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
jobs=1
if [ "${1:-}" = -j ]; then
    jobs=$2
    shift 2
fi
if [ "$jobs" -le 1 ]; then
    pass=0; fail=0
    for t in "$@"; do
        start=$(date +%s%N)
        if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $t" >&2; fi
        echo "-- $t: $((($(date +%s%N) - start) / 1000000)) ms"
    done
else
    logs=$(mktemp -d /tmp/vggtop-unit-XXXXXX)
    trap 'rm -rf "$logs"' EXIT
    export logs
    # shellcheck disable=SC2016 # expanded by the inner shell
    printf '%s\n' "$@" | xargs -P "$jobs" -n 1 sh -c '
        t=$1
        log="$logs/$(printf %s "$t" | tr / _)"
        start=$(date +%s%N)
        if "$t" >"$log" 2>&1; then echo ok >"$log.rc"; else echo "FAILED: $t" >>"$log"; echo failed >"$log.rc"; fi
        echo "-- $t: $((($(date +%s%N) - start) / 1000000)) ms" >>"$log"
        flock "$logs/print.lock" cat "$log"' sh
    pass=$(cat "$logs"/*.rc 2>/dev/null | grep -c '^ok$')
    fail=$(($# - pass))
fi
echo "unit binaries: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
