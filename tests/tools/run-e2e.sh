#!/bin/sh
# Runs every end-to-end test script tests/e2e/*.sh against ./vggtop. Each exits non-zero on failure. Each
# script's wall time is printed, so the slow ones are easy to find (make test has a budget of ~10 minutes).
pass=0; fail=0
for t in tests/e2e/*.sh; do
    [ -f "$t" ] || continue
    echo "== $t"
    start=$(date +%s%N)
    if sh "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $t" >&2; fi
    echo "-- $t: $((($(date +%s%N) - start) / 1000000)) ms"
done
echo "e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
