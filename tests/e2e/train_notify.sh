#!/bin/sh
# End-to-end test of the alerts of vggtop train (--notify, --on-event): inside tmux the notification's bytes
# reach the terminal as OSC 9 and OSC 777 wrapped in tmux's passthrough (read raw from the pane with
# pipe-pane), the log says the event, and a hook records its environment (the event, the run directory and
# the last epoch's metrics, those of history.csv); headless, the log has the line and no escape bytes; an early
# stop is told as one; a hook that hangs is killed at its limit and the run still ends well; a hook that cannot
# run is refused at once. vggtop sweep --notify --on-event tells each trial's end (finished, pruned) and the
# sweep's own.
. "$(dirname "$0")/lib/tui.sh"
cd "$TMP" || exit 1
ARGS="--model mlp --limit-train 300 --limit-test 100 --batch-size 50 --epochs 2 --threads 1"

# In tmux: the pane's raw output is piped to a file before vggtop starts (it waits for the pipe to exist).
tmux -L "$SOCK" new-session -d -s n -x 200 -y 50 \
    "cd '$TMP' && while [ ! -e raw.ready ]; do sleep 0.1; done; TERM=xterm-256color '$VGGTOP' train $ARGS \
     --run-dir r --notify --on-event \"sh -c 'env > \\\"\\\$0\\\"' hook.env\" 2> n.err; echo \$? > n.exit; sleep 600"
tmux -L "$SOCK" pipe-pane -o -t n "cat > '$TMP/raw.out'"
touch raw.ready
[ "$(tui_exited n 120)" = 0 ] || tui_fail n "train --notify in tmux exited $(cat n.exit 2>/dev/null)"
sleep 0.5 # pipe-pane's cat drains the last bytes
python3 - "$TMP/raw.out" <<'PY' || fail "the pane did not get the wrapped OSC 9 and OSC 777 of the finish"
import re, sys
raw = open(sys.argv[1], "rb").read()
osc9 = re.search(rb"\x1bPtmux;\x1b\x1b\]9;vggtop: finished 2 epochs, val_acc [0-9.]+ \(best [0-9.]+\)\x07\x1b\\", raw)
osc777 = re.search(rb"\x1bPtmux;\x1b\x1b\]777;notify;vggtop;finished 2 epochs, val_acc [0-9.]+ \(best [0-9.]+\)\x07\x1b\\\x07", raw)
assert osc9 and osc777 and osc9.end() <= osc777.start(), raw[-400:]
PY
tui_screen n | grep -q '^Event: finished: finished 2 epochs' || tui_fail n "no Event line on the screen"
grep -q '^VGGTOP_EVENT=finished$' hook.env || fail "hook: no VGGTOP_EVENT=finished in $(cat hook.env)"
grep -q '^VGGTOP_RUN_DIR=r$' hook.env && grep -q '^VGGTOP_EPOCH=2$' hook.env && grep -q '^VGGTOP_EPOCHS=2$' hook.env ||
    fail "hook: run directory or epochs: $(grep VGGTOP_ hook.env)"
want=$(tail -1 r/history.csv | cut -d, -f6)
got=$(sed -n 's/^VGGTOP_VAL_ACC=//p' hook.env)
awk -v a="$want" -v b="$got" 'BEGIN { exit !(b != "" && (a - b) ^ 2 < 1e-12) }' ||
    fail "hook: VGGTOP_VAL_ACC=$got, history.csv's last val_acc is $want"

# Headless (a log): the line, and no escape bytes in it; no terminal gets them either (none is there).
"$VGGTOP" train $ARGS --run-dir h --notify </dev/null >h.log 2>&1 || fail "headless --notify exited $?"
grep -q '^Event: finished: finished 2 epochs' h.log || fail "the log has no Event line: $(tail -3 h.log)"
tr -d '\n' <h.log | grep -q "$(printf '\033')" && fail "escape bytes in the log"

# An early stop is its own event (and the hook is told it): the engine's snapshot says why the run ended.
"$VGGTOP" train $ARGS --epochs 5 --early-stop val_loss --patience 0 --min-delta 10 --run-dir es --notify \
    --on-event "sh -c 'echo \"\$VGGTOP_EVENT \$VGGTOP_EPOCH\" > es.event'" >es.log 2>&1 || fail "early stop: exit $?"
grep -q '^Event: early-stop: stopped early after 2 of 5 epochs' es.log || fail "no early-stop event: $(tail -3 es.log)"
[ "$(cat es.event)" = "early-stop 2" ] || fail "the hook of the early stop got '$(cat es.event)'"

# A hook that hangs is killed at its limit (1 s, not the 97 s it sleeps); the run ends as it would.
start=$(date +%s)
"$VGGTOP" train $ARGS --run-dir k --on-event "sleep 97" --hook-timeout 1 >k.log 2>&1 || fail "a hanging hook: exit $?"
took=$(($(date +%s) - start))
[ "$took" -lt 60 ] || fail "a hanging hook held the run for $took s"
grep -q 'ran past its 1 s limit and was killed' k.log || fail "no line about the killed hook: $(tail -3 k.log)"
grep -q '^Finished: 2 epochs' k.log || fail "the run with a hanging hook did not finish: $(tail -3 k.log)"
pgrep -f "sleep 97" >/dev/null && fail "the hanging hook still runs"

# A hook that cannot run is refused before the run starts (exit 2, one line naming it).
"$VGGTOP" train $ARGS --run-dir x --on-event "vggtop-no-such-hook --now" >x.out 2>x.err; rc=$?
[ "$rc" -eq 2 ] && grep -q "vggtop-no-such-hook" x.err || fail "a missing hook: exit $rc, $(cat x.err)"
[ -e x ] && fail "a refused run left its directory"
"$VGGTOP" train $ARGS --run-dir x --on-event "sh -c 'open" >x.out 2>x.err; rc=$?
[ "$rc" -eq 2 ] && grep -q "open single quote" x.err || fail "an open quote: exit $rc, $(cat x.err)"

# vggtop sweep's own alerts: each trial's end (finished, pruned: a trial made worse by a tiny learning rate) and
# the sweep's, as log lines and to the hook with the trial's run directory (the folder's at the end).
"$VGGTOP" sweep --runs sw --prune median --notify --on-event "sh -c 'echo \"\$VGGTOP_EVENT \$VGGTOP_RUN_DIR\" >> sw.events'" \
    --model mlp --limit-train 2000 --limit-test 200 --batch-size 20 --epochs 3 --threads 1 --lr 0.05,0.04,0.00001 \
    </dev/null >sw.log 2>&1 || fail "sweep --notify exited $? ($(tail -3 sw.log))"
grep -q '^Event: finished: trial 1/3 (--lr 0.05) finished, best val_acc' sw.log &&
    grep -q '^Event: pruned: trial 3/3 (--lr 0.00001) pruned after' sw.log &&
    grep -q '^Event: sweep-finished: sweep sw finished: 2 done, 0 failed, 1 pruned; best trial' sw.log ||
    fail "the sweep's Event lines: $(grep Event sw.log)"
printf 'finished sw/trial-001\nfinished sw/trial-002\npruned sw/trial-003\nsweep-finished sw\n' >want.events
cmp -s want.events sw.events || fail "the sweep's hook was told: $(cat sw.events)"
tr -d '\n' <sw.log | grep -q "$(printf '\033')" && fail "escape bytes in the sweep's log"
"$VGGTOP" sweep --status sw --notify >/dev/null 2>st.err; rc=$?
[ "$rc" -eq 2 ] && grep -q "belong to --runs and --resume" st.err || fail "--status --notify: exit $rc, $(cat st.err)"
finish
