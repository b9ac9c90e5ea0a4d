#!/bin/sh
# Runs each cmocka test binary given; fails if any fails. Prints each binary's wall time and a closing
# 'N passed, N failed' line. With -j N, N binaries run at once (make unit-all runs the release, ASan and TSan
# binaries this way, two at a time: most of them use one core; make test runs them in tests/tools/run-e2e.sh's
# pools instead): each one's output is printed whole when it ends, never interleaved with another's.
. "$(dirname "$0")/test-env.sh"
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
