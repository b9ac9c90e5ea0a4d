#!/bin/sh
# Runs each cmocka test binary given; fails if any fails. Prints each binary's wall time and a closing
# 'N passed, N failed' line.
pass=0; fail=0
for t in "$@"; do
    start=$(date +%s%N)
    if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $t" >&2; fi
    echo "-- $t: $((($(date +%s%N) - start) / 1000000)) ms"
done
echo "unit binaries: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
