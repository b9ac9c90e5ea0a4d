#!/bin/sh
# End-to-end test of the Sweep screen: `vggtop watch SWEEP_DIR` opens on a finished sweep's leaderboard (the
# same trial first as `vggtop sweep --status`), with a panel of val_acc per swept setting; s sorts by the
# next column, r reverses; Enter opens the selected trial's run on the Dashboard and S-Tab twice comes back;
# at 80x24 the tabs fit without their gaps; P saves the panels as sw/figures/sweep.png and d compares a trial
# with the best on the Diff screen. Then a sweep under way: its running trial is shown running and
# the leaderboard follows it to its end, its trials' ends and its own told by --notify and --on-event.
# Independent of the machine's speed: it waits for states, not times.
. "$(dirname "$0")/lib/tui.sh"
sweeper=
at_exit '[ -n "$sweeper" ] && kill "$sweeper" 2>/dev/null && wait "$sweeper"'
cd "$TMP" || exit 1
COMMON="--model mlp --limit-train 2000 --limit-test 200 --batch-size 20 --threads 1 --seed 5"

"$VGGTOP" sweep --runs sw $COMMON --epochs 2 --lr 0.05,0.0001 --momentum 0,0.5 >sw.log 2>&1 ||
    fatal "the sweep exited $? ($(tail -3 sw.log))"
first=$("$VGGTOP" sweep --status sw | sed -n 3p | awk '{print $1}')

tui_start w 100 30 watch sw
tui_wait w "grid sweep of 4 trials: 4 done, 0 running" 10
tui_expect w "sw · a sweep: Enter on a trial"
tui_expect w "best val_acc▼"
tui_expect w "val_acc by lr (log10)"
tui_expect w "val_acc by momentum"
row=$(tui_screen w | grep -A1 "best val_acc" | sed -n 2p | awk '{print $1}')
[ "$row" = "$first" ] || tui_fail w "the first row is trial $row, --status's is $first"
# s: from the best to its epoch, the state, the time, then the trial (ascending); r reverses it.
tui_keys w s s s s
tui_expect w "trial▲"
row=$(tui_screen w | grep -A1 "trial▲" | sed -n 2p | awk '{print $1}')
[ "$row" = 1 ] || tui_fail w "sorted by trial, the first row is $row"
tui_keys w r
tui_expect w "trial▼"
row=$(tui_screen w | grep -A1 "trial▼" | sed -n 2p | awk '{print $1}')
[ "$row" = 4 ] || tui_fail w "sorted by trial, reversed, the first row is $row"
# Enter on the first row (Home): its trial's run on the Dashboard.
tui_keys w Home Enter
tui_wait w "opened trial 4" 5
tui_expect w "sw/trial-004 · watching finished"
tui_expect w "2/2 epochs done"
tui_keys w BTab BTab
tui_expect w "grid sweep of 4 trials"
tmux -L "$SOCK" resize-window -t w -x 80 -y 24
tui_expect w "9Layers10Sweep"
# P: the panels as a figure, the one vggtop plot SWEEP_DIR writes (the same file, the same bytes' size class).
tui_keys w P
tui_expect w "saved sw/figures/sweep.png"
[ -s sw/figures/sweep.png ] || tui_fail w "P wrote no sw/figures/sweep.png"
# d on a trial that is not the best: it (A) against the best (B), on the Diff screen.
tui_keys w Home d
sleep 0.5
tui_screen w | grep -q "is the best" && tui_keys w Down d
tui_wait w "Diff: 10 classes, change = B - A" 5
tui_expect w "B sw/trial-00$first"
tui_keys w q
[ "$(tui_exited w 10)" = 0 ] || tui_fail w "watch did not quit with status 0"

# Live: a slower sweep; its first trial shows running, the board follows the sweep to its end.
"$VGGTOP" sweep --runs live --model mlp --limit-train 6000 --limit-test 200 --batch-size 20 --threads 1 --seed 5 \
    --epochs 5 --lr 0.05,0.01 >live.log 2>&1 &
sweeper=$!
end=$(($(date +%s) + 30))
while [ ! -f live/sweep.json ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.1; done
tui_start l 100 30 watch --notify --on-event "\"sh -c 'echo \\\"\\\$VGGTOP_EVENT \\\$VGGTOP_RUN_DIR\\\" >> live.events'\"" live
tui_wait l "1 running" 20
tui_wait l "running " 5
tui_wait l "grid sweep of 2 trials: 2 done, 0 running" 180
wait "$sweeper" || fail "the live sweep exited $? ($(tail -3 live.log))"
sweeper=
# --notify: the trials' ends seen while watching (trial 2's at least: trial 1 may have ended before the first
# look, which is not told) and the sweep's, told to the hook with the trial's run and the folder.
tui_wait l "sweep-finished: sweep live finished: 2 done" 5
sleep 1
grep -q '^finished live/trial-002$' live.events && grep -q '^sweep-finished live$' live.events ||
    fail "the hook was told: $(cat live.events 2>/dev/null)"
tui_keys l q
finish
