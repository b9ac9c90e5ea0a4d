#!/bin/sh
# Runs the end-to-end scripts tests/e2e/*.sh against ./vggtop: all of them, or those of the areas named as
# arguments (`run-e2e.sh tui mpi` runs tui.sh, tui_*.sh and mpi.sh; `make e2e E=tui`). The scripts are named
# by area: cli_, data_, hostile_, mpi, nn_, train_, tui_. Each exits non-zero on failure, or 77 when it cannot
# run here (it says why in one line; counted as skipped). Each script's wall
# time is printed, so the slow ones are easy to find (make test has a budget of ~10 minutes).
pass=0; fail=0; skipped=0
for t in tests/e2e/*.sh; do
    [ -f "$t" ] || continue
    if [ $# -gt 0 ]; then
        name=$(basename "$t" .sh)
        picked=0
        for area in "$@"; do
            case $name in "$area" | "$area"_*) picked=1 ;; esac
        done
        [ "$picked" = 1 ] || continue
    fi
    echo "== $t"
    start=$(date +%s%N)
    sh "$t"
    case $? in
    0) pass=$((pass + 1)) ;;
    77) skipped=$((skipped + 1)) ;; # the script said why (lib/prologue.sh's skip)
    *) fail=$((fail + 1)); echo "FAILED: $t" >&2 ;;
    esac
    echo "-- $t: $((($(date +%s%N) - start) / 1000000)) ms"
done
if [ $((pass + fail + skipped)) -eq 0 ]; then
    echo "e2e: no script in tests/e2e/ is named $* or $*_*" >&2
    exit 1
fi
echo "e2e: $pass passed, $fail failed$([ "$skipped" -eq 0 ] || echo ", $skipped skipped")"
[ "$fail" -eq 0 ]
