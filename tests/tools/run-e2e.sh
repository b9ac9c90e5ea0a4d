#!/bin/sh
# Runs the end-to-end scripts tests/e2e/*.sh against ./vggtop: all of them, or those of the areas named as
# arguments (`run-e2e.sh tui mpi` runs tui.sh, tui_*.sh and mpi.sh; `make e2e E=tui`). The scripts are named
# by area: cli_, data_, hostile_, mpi, nn_, train_, tui_. Each exits non-zero on failure, or 77 when it cannot
# run here (it says why in one line; counted as skipped). Each script's wall
# time is printed, so the slow ones are easy to find (make test has a budget of ~10 minutes).
# A script with the line `# e2e: concurrent` waits on nothing but its own processes and files (no tmux, no
# clock, no signal, no timeout): those run first, JOBS at a time (the machine's cores by default), each one's
# output printed whole when it ends. The others run after them one at a time, with the machine to themselves.
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
pass=0; fail=0; skipped=0; concurrent=; serial=
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
    if grep -qx '# e2e: concurrent' "$t"; then concurrent="$concurrent $t"; else serial="$serial $t"; fi
done
count() { # status: counts one script's exit status
    case $1 in
    0) pass=$((pass + 1)) ;;
    77) skipped=$((skipped + 1)) ;; # the script said why (lib/prologue.sh's skip)
    *) fail=$((fail + 1)) ;;
    esac
}
if [ -n "$concurrent" ]; then
    logs=$(mktemp -d /tmp/vggtop-e2e-logs-XXXXXX)
    trap 'rm -rf "$logs"' EXIT
    export logs
    # shellcheck disable=SC2016,SC2086 # expanded by the inner shell; one script a word
    printf '%s\n' $concurrent | xargs -P "$JOBS" -n 1 sh -c '
        t=$1
        log="$logs/$(basename "$t")"
        start=$(date +%s%N)
        { echo "== $t"; sh "$t" 2>&1; } >"$log"
        rc=$?
        echo "$rc" >"$log.rc"
        [ "$rc" = 0 ] || [ "$rc" = 77 ] || echo "FAILED: $t" >>"$log"
        echo "-- $t: $((($(date +%s%N) - start) / 1000000)) ms" >>"$log"
        flock "$logs/print.lock" cat "$log"' sh
    for t in $concurrent; do
        count "$(cat "$logs/$(basename "$t").rc" 2>/dev/null || echo 1)"
    done
fi
for t in $serial; do
    echo "== $t"
    start=$(date +%s%N)
    sh "$t"
    rc=$?
    count $rc
    [ "$rc" = 0 ] || [ "$rc" = 77 ] || echo "FAILED: $t" >&2
    echo "-- $t: $((($(date +%s%N) - start) / 1000000)) ms"
done
if [ $((pass + fail + skipped)) -eq 0 ]; then
    echo "e2e: no script in tests/e2e/ is named $* or $*_*" >&2
    exit 1
fi
echo "e2e: $pass passed, $fail failed$([ "$skipped" -eq 0 ] || echo ", $skipped skipped")"
[ "$fail" -eq 0 ]
