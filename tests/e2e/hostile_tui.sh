#!/bin/sh
# Adversarial front-end cases (issue 15), through tmux: a damaged run beside the one being watched does not
# stop it from showing; a run still loading its data set (progress.json, no config.json yet) can be
# watched, and so can one with a damaged progress.json or config.json (the damage named); a terminal that
# cannot move the cursor is refused with one clear line; a run directory deleted while it is watched leaves the
# front end responsive.
. "$(dirname "$0")/lib/tui.sh"
mkdir -p "$TMP/runs"
"$VGGTOP" train --model mlp --limit-train 300 --limit-test 60 --epochs 1 --threads 1 --run-dir "$TMP/runs/good" \
    >/dev/null 2>&1 || { echo "FAIL: the good run exited $?" >&2; exit 1; }

# A damaged sibling: its config.json is a FIFO (which used to hang every reader) and its progress.json claims
# absurd numbers.
mkdir -p "$TMP/runs/bad"
mkfifo "$TMP/runs/bad/config.json"
cp "$TMP/runs/good/progress.json" "$TMP/runs/bad/progress.json"
tui_send() { tmux -L "$SOCK" send-keys -t "$1" "$2"; }
# tui_quit NAME WHY: q (and y when asked) ends the front end within 10 s, or the test fails saying WHY.
tui_quit() {
    tui_send "$1" q
    sleep 1
    tui_screen "$1" | grep -q "Quit" && tui_send "$1" y
    end=$(($(date +%s) + 10))
    while [ ! -s "$TMP/$1.exit" ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
    [ -s "$TMP/$1.exit" ] || tui_fail "$1" "the front end did not quit $2"
}
tui_start sib 100 30 watch runs/good
tui_wait sib "runs/good" 10
tui_send sib 6 # Compare lists the runs folder, the damaged one too
tui_wait sib "good" 10
tui_send sib 2
tui_wait sib "Dashboard" 10
tui_quit sib "beside a damaged run"

# A run still loading: progress.json only, its lock held by a live process.
mkdir -p "$TMP/runs/loading"
sed 's/"state":[^,]*/"state": "loading"/' "$TMP/runs/good/progress.json" >"$TMP/runs/loading/progress.json"
flock "$TMP/runs/loading/run.lock" sleep 30 >/dev/null 2>&1 &
holder=$!
trap 'pkill -P $holder 2>/dev/null; kill $holder 2>/dev/null; tmux -L "$SOCK" kill-server 2>/dev/null; rm -rf "$TMP"' EXIT
sleep 0.3
tui_start load 100 30 watch runs/loading
tui_wait load "loading" 10
tui_screen load | grep -q "not a run directory" && tui_fail load "a loading run was refused"
pkill -P $holder 2>/dev/null
kill $holder 2>/dev/null

# One damaged file of the watched run (issue 22): progress.json garbage, a FIFO or with numbers out of range,
# config.json with a class name over 256 bytes. The front end stays up, shows what is sound and names the file.
long=$(printf '%0300d' 0)
for damage in garbage fifo range longname; do
    cp -r "$TMP/runs/good" "$TMP/runs/d-$damage"
    d="$TMP/runs/d-$damage"
    case $damage in
    garbage) printf 'not json at all' >"$d/progress.json"; file=progress.json ;;
    fifo) rm "$d/progress.json"; mkfifo "$d/progress.json"; file=progress.json ;;
    range) sed -i 's/"pid":[^,]*/"pid": 4294967295/' "$d/progress.json"; file=progress.json ;;
    longname) sed -i "s#\"T-shirt/top\"#\"$long\"#" "$d/config.json"; file=config.json ;;
    esac
    tui_start "d$damage" 140 30 watch "runs/d-$damage"
    tui_wait "d$damage" "$file" 10
    [ -s "$TMP/d$damage.exit" ] && tui_fail "d$damage" "watch exited $(cat "$TMP/d$damage.exit") on a damaged $file"
    tui_quit "d$damage" "with a damaged $file"
done

# TERM=dumb: one line that says why and what to use instead, status 2.
tmux -L "$SOCK" new-session -d -s dumb -x 100 -y 30 \
    "cd '$TMP' && TERM=dumb '$VGGTOP' watch runs/good 2> '$TMP/dumb.err'; echo \$? > '$TMP/dumb.exit'; sleep 600"
end=$(($(date +%s) + 10))
while [ ! -s "$TMP/dumb.exit" ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
[ "$(cat "$TMP/dumb.exit" 2>/dev/null)" = 2 ] || tui_fail dumb "TERM=dumb: exit $(cat "$TMP/dumb.exit" 2>/dev/null)"
grep -q "cannot move the cursor" "$TMP/dumb.err" || tui_fail dumb "TERM=dumb: $(cat "$TMP/dumb.err")"
[ "$(grep -c . "$TMP/dumb.err")" -eq 1 ] || tui_fail dumb "TERM=dumb: more than one line"

# The watched run's directory deleted: the front end says so and still answers keys.
cp -r "$TMP/runs/good" "$TMP/runs/doomed"
tui_start doomed 100 30 watch runs/doomed
tui_wait doomed "runs/doomed" 10
rm -rf "$TMP/runs/doomed"
sleep 2
tui_send doomed 8
tui_wait doomed "Summary" 10
tui_quit doomed "after its run directory went"
echo "hostile_tui: all passed"
