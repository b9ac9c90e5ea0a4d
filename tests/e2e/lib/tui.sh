# Helpers for the front-end scripts, which drive vggtop in tmux (tests/e2e/tui_*.sh, hostile_tui.sh), sourced
# instead of the prologue:
#     . "$(dirname "$0")/lib/tui.sh"
# It sources lib/prologue.sh (VGGTOP, TMP, fail, finish...) and sets FAIL_FAST=1: a screen that is not
# as expected makes the following steps meaningless. Each script gets its own tmux server (-L $SOCK, killed
# on exit), TERM=xterm-256color and LANG=C.UTF-8.
. "$(dirname "$0")/lib/prologue.sh"
# shellcheck disable=SC2034 # read by fail (prologue.sh)
FAIL_FAST=1
command -v tmux >/dev/null || fail "tmux is not installed (make deps)"
SOCK="vggtop-e2e-$$"
at_exit 'tmux -L "$SOCK" kill-server 2>/dev/null'

# tui_start NAME WIDTH HEIGHT ARGS...: runs vggtop ARGS in a new tmux session; its exit status goes to
# $TMP/NAME.exit. With TUI_EXEC=1 vggtop replaces the pane's shell (so it alone gets the SIGHUP of a
# dropped terminal) and its pid goes to $TMP/NAME.pid.
tui_start() {
    name=$1 w=$2 h=$3
    shift 3
    env="TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8"
    if [ "${TUI_EXEC:-0}" = 1 ]; then
        cmd="cd '$TMP' && echo \$\$ > '$TMP/$name.pid' && exec env $env '$VGGTOP' $* 2> '$TMP/$name.err'"
    else
        cmd="cd '$TMP' && $env '$VGGTOP' $* 2> '$TMP/$name.err'; echo \$? > '$TMP/$name.exit'; sleep 600"
    fi
    tmux -L "$SOCK" new-session -d -s "$name" -x "$w" -y "$h" "$cmd"
}

tui_screen() { tmux -L "$SOCK" capture-pane -p -t "$1"; }

# tui_fail NAME MSG: fails (and stops) with the screen of session NAME and what vggtop wrote on stderr.
tui_fail() {
    echo "---- screen of $1:" >&2
    tui_screen "$1" >&2
    [ -s "$TMP/$1.err" ] && { echo "---- stderr of $1:" >&2; cat "$TMP/$1.err" >&2; }
    fail "$2"
    exit 1
}

# tui_wait NAME TEXT SECONDS: waits until TEXT (a fixed string) is on the screen.
tui_wait() {
    end=$(($(date +%s) + $3))
    while [ "$(date +%s)" -le "$end" ]; do
        tui_screen "$1" | grep -F -q -- "$2" && return 0
        sleep 0.2
    done
    tui_fail "$1" "waited $3 s for '$2'"
}

# tui_exited NAME SECONDS: waits until vggtop in session NAME has exited and prints its exit status (nothing
# if it is still running after SECONDS).
tui_exited() {
    end=$(($(date +%s) + $2))
    while [ ! -s "$TMP/$1.exit" ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
    cat "$TMP/$1.exit" 2>/dev/null
}

# tui_expect NAME TEXT: TEXT is on the screen now (after a short settle).
tui_expect() { tui_wait "$1" "$2" 5; }

tui_reject() {
    sleep 0.3
    tui_screen "$1" | grep -F -q -- "$2" && tui_fail "$1" "'$2' should not be on the screen"
    return 0
}

tui_keys() {
    name=$1
    shift
    tmux -L "$SOCK" send-keys -t "$name" "$@"
}

# tui_field NAME DOWNS VALUE: from the first field, goes DOWNS fields down, edits it to VALUE, back to top.
tui_field() {
    i=0
    while [ "$i" -lt "$2" ]; do tui_keys "$1" Down; i=$((i + 1)); done
    tui_keys "$1" e C-u
    tui_keys "$1" -l "$3"
    tui_keys "$1" Enter Home
}
