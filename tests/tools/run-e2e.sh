#!/bin/sh
# Runs the end-to-end scripts tests/e2e/*.sh against ./vggtop: all of them, or those of the areas named as
# arguments (`run-e2e.sh tui mpi` runs tui.sh, tui_*.sh and mpi.sh; `make e2e E=tui`). The scripts are named
# by area: cli_, data_, hostile_, mpi, nn_, train_, tui_. Each exits non-zero on failure, or 77 when it cannot
# run here (it says why in one line; counted as skipped). Each script's wall
# time is printed, so the slow ones are easy to find (make test has a budget of ~10 minutes).
# A script with the line `# e2e: concurrent` waits on nothing but its own processes and files (no tmux, no
# clock, no signal, no timeout). The others (tmux, signals, timeouts, mpirun) run one at a time at normal
# priority; meanwhile the concurrent ones run JOBS at a time (the machine's cores by default) at the lowest
# priority (nice 19), on the cycles the others leave idle: most of those wait on a terminal, a clock or one
# thread, and the scheduler gives a niced process about 1.5% of a core a normal one wants. Every script's
# output goes to its log, printed whole when it ends, never interleaved with another's.
. "$(dirname "$0")/test-env.sh"
# `--unit BIN` (repeated, before the areas) adds cmocka unit binaries to the same pools, as make test does:
# one whose source (tests/NAME.c) says `unit: timed` (it asserts on the clock) runs after the one-at-a-time
# scripts, at normal priority; the others with the concurrent ones.
# `--build TARGET` (first) makes TARGET at the lowest priority while the scripts start; the unit binaries
# outside the optimised build wait for it (make test builds the sanitizer variants so).
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
concurrent=; serial=; units=; built=; timed=; build=
if [ "${1:-}" = --build ] && [ $# -ge 2 ]; then
    build=$2
    shift 2
fi
while [ "${1:-}" = --unit ] && [ $# -ge 2 ]; do
    if grep -q 'unit: timed' "tests/$(basename "$2").c" 2>/dev/null; then timed="$timed $2"
    else case $2 in */release/*) concurrent="$concurrent $2" ;; *) built="$built $2" ;; esac; fi
    units="$units $2"
    shift 2
done
scripts=0
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
    scripts=$((scripts + 1))
    if grep -qx '# e2e: concurrent' "$t"; then concurrent="$concurrent $t"; else serial="$serial $t"; fi
done
if [ "$scripts" -eq 0 ]; then
    echo "e2e: no script in tests/e2e/ is named $* or $*_*" >&2
    exit 1
fi
logs=$(mktemp -d /tmp/vggtop-e2e-logs-XXXXXX)
trap 'rm -rf "$logs"' EXIT
export logs
# One script: its output into its log, its status into the log's .rc, then the log printed under the lock.
# shellcheck disable=SC2016 # expanded by the inner shell
run_one='t=$1
log="$logs/$(printf %s "$t" | tr / _)"
start=$(date +%s%N)
case $t in
*.sh) { echo "== $t"; sh "$t" 2>&1; } >"$log" ;;
*) { echo "== $t"; "$t" 2>&1; } >"$log" ;;
esac
rc=$?
echo "$rc" >"$log.rc"
[ "$rc" = 0 ] || [ "$rc" = 77 ] || echo "FAILED: $t" >>"$log"
echo "-- $t: $((($(date +%s%N) - start) / 1000000)) ms" >>"$log"
flock "$logs/print.lock" cat "$log"'
# The build, if any, at the lowest priority: its status goes to $logs/build.rc when it ends. Until then the
# pool takes the scripts and the optimised unit binaries, then the sanitizers' binaries; the timed ones run
# after the one-at-a-time scripts.
if [ -n "$build" ]; then
    nice -n 19 sh -c '${MAKE:-make} --no-print-directory "$1" >"$logs/build.log" 2>&1; echo $? >"$logs/build.rc"' sh "$build" &
else
    echo 0 >"$logs/build.rc"
fi
built_ready() { # waits for the build; 0 if it succeeded
    while [ ! -s "$logs/build.rc" ]; do sleep 1; done
    [ "$(cat "$logs/build.rc")" = 0 ]
}
background=
if [ -n "$concurrent$built" ]; then
    # shellcheck disable=SC2086 # one item a word
    { printf '%s\n' $concurrent; built_ready >/dev/null && [ -n "$built" ] && printf '%s\n' $built; } |
        nice -n 19 xargs -P "$JOBS" -n 1 sh -c "$run_one" sh &
    background=$!
fi
for t in $serial; do
    sh -c "$run_one" sh "$t"
done
if [ -n "$timed" ] && built_ready; then
    for t in $timed; do
        sh -c "$run_one" sh "$t"
    done
fi
[ -z "$background" ] || wait "$background"
if ! built_ready; then
    build_failed=1
    echo "FAILED: make $build:"
    cat "$logs/build.log"
fi
pass=0; fail=0; skipped=0; upass=0; ufail=0
for t in $concurrent $built $serial $timed; do
    rc=$(cat "$logs/$(printf %s "$t" | tr / _).rc" 2>/dev/null || echo 1)
    case " $units " in
    *" $t "*) if [ "$rc" = 0 ]; then upass=$((upass + 1)); else ufail=$((ufail + 1)); fi; continue ;;
    esac
    case $rc in
    0) pass=$((pass + 1)) ;;
    77) skipped=$((skipped + 1)) ;; # the script said why (lib/prologue.sh's skip)
    *) fail=$((fail + 1)) ;;
    esac
done
[ -z "$units" ] || echo "unit binaries: $upass passed, $ufail failed"
echo "e2e: $pass passed, $fail failed$([ "$skipped" -eq 0 ] || echo ", $skipped skipped")"
[ "$fail" -eq 0 ] && [ "$ufail" -eq 0 ] && [ -z "${build_failed:-}" ]
