#!/bin/sh
# End-to-end test of the front end's alerts (vggtop watch --notify --on-event): a run another process trains,
# watched inside tmux, finishes; the watcher says so on its status line, its terminal gets the notification as
# OSC 9 and OSC 777 wrapped in tmux's passthrough (read raw from the pane with pipe-pane: whole sequences,
# written after curses' frame, never inside one), and the hook records the event and the run directory. A run
# that had finished before it was opened is not news: no hook runs for it. Independent of the machine's speed:
# the run is paused until the watcher shows it, then resumed.
. "$(dirname "$0")/lib/tui.sh"
trainer=
at_exit '[ -n "$trainer" ] && kill "$trainer" 2>/dev/null && wait "$trainer"'
cd "$TMP" || exit 1
ARGS="--model mlp --limit-train 600 --limit-test 100 --batch-size 50 --threads 1"

"$VGGTOP" train $ARGS --epochs 1 --run-dir old >old.log 2>&1 || fatal "the finished run exited $?"
# Long enough (6,000 images an epoch) for the pause below to land before the end on a fast, idle machine: the
# engine looks at commands.json at most every 0.2 s, and 600 images took less than that.
"$VGGTOP" train $ARGS --limit-train 6000 --epochs 3 --run-dir r >train.log 2>&1 &
trainer=$!
end=$(($(date +%s) + 30))
while [ ! -f r/progress.json ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.05; done
"$VGGTOP" ctl r pause >/dev/null 2>&1 || fatal "ctl pause exited $?"

tmux -L "$SOCK" new-session -d -s n -x 100 -y 30 \
    "cd '$TMP' && while [ ! -e raw.ready ]; do sleep 0.1; done; TERM=xterm-256color LANG=C.UTF-8 '$VGGTOP' watch \
     --notify --on-event \"sh -c 'env > \\\"\\\$0\\\"' hook.env\" r 2> n.err; echo \$? > n.exit; sleep 600"
tmux -L "$SOCK" pipe-pane -o -t n "cat > '$TMP/raw.out'"
touch raw.ready
tui_wait n "watching paused" 30
"$VGGTOP" ctl r resume >/dev/null 2>&1 || fatal "ctl resume exited $?"
tui_wait n "finished: finished 3 epochs" 60
wait "$trainer" || fail "the trainer exited $?"
trainer=
sleep 1 # the hook writes its file; pipe-pane's cat drains the last bytes
python3 - "$TMP/raw.out" <<'PY' || fail "the pane did not get the wrapped OSC 9 and OSC 777 of the finish"
import re, sys
raw = open(sys.argv[1], "rb").read()
osc9 = re.search(rb"\x1bPtmux;\x1b\x1b\]9;vggtop: finished 3 epochs, val_acc [0-9.]+ \(best [0-9.]+\)\x07\x1b\\", raw)
osc777 = re.search(rb"\x1bPtmux;\x1b\x1b\]777;notify;vggtop;finished 3 epochs, val_acc [0-9.]+ \(best [0-9.]+\)\x07\x1b\\\x07", raw)
assert osc9 and osc777 and osc9.end() <= osc777.start(), raw[-400:]
assert raw.count(b"]9;vggtop") == 1, "told more than once"
PY
grep -q '^VGGTOP_EVENT=finished$' hook.env || fail "hook: no VGGTOP_EVENT=finished in $(cat hook.env)"
grep -q '^VGGTOP_RUN_DIR=r$' hook.env && grep -q '^VGGTOP_EPOCH=3$' hook.env ||
    fail "hook: run directory or epochs: $(grep VGGTOP_ hook.env)"
tui_keys n q
[ "$(tui_exited n 10)" = 0 ] || tui_fail n "watch --notify did not quit with status 0"

# A run that ended before it was opened: nothing to tell.
tui_start o 100 30 watch --notify --on-event "\"sh -c 'echo told > old.told'\"" old
tui_wait o "watching finished" 10
sleep 2
[ -e old.told ] && fail "the hook ran for a run that had finished before it was opened"
tui_keys o q
finish
