# The prologue of every end-to-end script (tests/e2e/<area>_*.sh), sourced first:
#     . "$(dirname "$0")/lib/prologue.sh"
# (the front-end scripts source lib/tui.sh instead, which sources this). It lives in a folder of its own so
# that tests/tools/run-e2e.sh, which runs tests/e2e/*.sh, never runs it as a test. It gives the script:
# - E2E_NAME: the script's file name (train.sh), which starts every line the helpers print;
# - TOP: the project's top folder, absolute; the script starts there (so tests/fixtures/... and
#   $TOP/tests/tools/... are found after a cd elsewhere);
# - VGGTOP: the binary under test, absolute ($VGGTOP as given, default ./vggtop), checked to be built;
# - TMP: a fresh folder /tmp/vggtop-e2e-<name>-XXXXXX, removed on exit; KEEP=1 keeps it and says where;
# - at_exit CMD: CMD runs on exit, before TMP is removed (to kill a background trainer, unmount, ...);
# - fail MSG: prints "NAME: FAIL: MSG" on stderr and counts it; the script goes on to its next check,
#   unless FAIL_FAST=1 (set by a script whose later steps build on the earlier ones, and by lib/tui.sh;
#   or by whoever runs the script, to stop every script at its first failure);
# - fatal MSG: the same, and stops the script whatever FAIL_FAST says (nothing after it can work);
# - expect_usage_error FRAGMENT CMD...: CMD exits 2 with one line on stderr that mentions FRAGMENT;
# - skip WHY: the script cannot run here (no root, no network namespaces): "NAME: SKIP: WHY" and status 77,
#   which tests/tools/run-e2e.sh counts as skipped, not failed;
# - finish: the script's last line: "NAME: all passed" and status 0, or "NAME: N check(s) failed" and 1.
# VGGTOP_DATA is unset: the scripts expect the default data set, or say which they use. HUP, INT and TERM
# exit through the same cleanup.
set -u
E2E_NAME=$(basename "$0")
TOP=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
cd "$TOP" || exit 1
VGGTOP=${VGGTOP:-./vggtop}
case $VGGTOP in /*) ;; *) VGGTOP=$TOP/${VGGTOP#./} ;; esac
[ -x "$VGGTOP" ] || { echo "$E2E_NAME: FAIL: $VGGTOP is not built (make all)" >&2; exit 1; }
unset VGGTOP_DATA
TMP=$(mktemp -d "/tmp/vggtop-e2e-${E2E_NAME%.sh}-XXXXXX") || { echo "$E2E_NAME: FAIL: no temporary folder" >&2; exit 1; }
fails=0
FAIL_FAST=${FAIL_FAST:-0}
e2e_at_exit=

at_exit() {
    e2e_at_exit="$e2e_at_exit
$1"
}

# The EXIT trap, given the script's exit status, which it keeps: the script's own cleanups in the order they
# were added, then TMP.
e2e_cleanup() {
    e2e_status=$1
    eval "$e2e_at_exit"
    if [ "${KEEP:-0}" != 0 ]; then
        echo "$E2E_NAME: kept $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$e2e_status"
}
trap 'e2e_cleanup $?' EXIT
trap 'exit 1' HUP INT TERM

fail() {
    echo "$E2E_NAME: FAIL: $*" >&2
    fails=$((fails + 1))
    [ "$FAIL_FAST" = 0 ] || exit 1
}

fatal() {
    FAIL_FAST=1
    fail "$@"
}

expect_usage_error() {
    e2e_want="$1"; shift
    "$@" >"$TMP/usage.out" 2>"$TMP/usage.err"; e2e_rc=$?
    [ "$e2e_rc" -eq 2 ] || fail "'$*' exited $e2e_rc, expected 2 ($(cat "$TMP/usage.err"))"
    [ "$(wc -l <"$TMP/usage.err")" -eq 1 ] || fail "'$*' printed $(wc -l <"$TMP/usage.err") lines on stderr"
    grep -q -- "$e2e_want" "$TMP/usage.err" || fail "'$*': '$(cat "$TMP/usage.err")' does not mention $e2e_want"
}

skip() {
    echo "$E2E_NAME: SKIP: $*"
    exit 77
}

finish() {
    if [ "$fails" -ne 0 ]; then
        echo "$E2E_NAME: $fails check(s) failed" >&2
        exit 1
    fi
    echo "$E2E_NAME: all passed"
    exit 0
}

# made_up_cifar100 DIR N_TRAIN N_TEST: a CIFAR-100-shaped binary data set in DIR (train.bin, test.bin) of random
# pixels, fine label i % 100 and superclass fine / 5, for the 100-class screens and figures.
made_up_cifar100() {
    mkdir -p "$1"
    for split in "train.bin $2" "test.bin $3"; do
        set -- "$1" $split
        i=0
        while [ "$i" -lt "$3" ]; do
            fine=$((i % 100))
            printf "$(printf '\\%03o\\%03o' $((fine / 5)) "$fine")"
            head -c 3072 /dev/urandom
            i=$((i + 1))
        done >"$1/$2"
    done
}
