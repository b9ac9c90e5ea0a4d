#!/bin/sh
# End-to-end test of vggtop ctl on a sweep folder: pause (the running trial pauses, sweep.json says paused),
# more N while it runs (the plan grows atomically), resume (the trial trains on), stop (the trials stop with
# their checkpoints, status 143, --resume continues); more N with no sweep running grows the plan itself; a
# grid refuses more; a folder no sweep runs in refuses pause. Hostile: two sweep --resume at once (the second
# refuses, naming the folder), a half-written sweep.json (refused by --resume, --status and ctl, naming it), a
# command an earlier session left (not taken).
# Independent of the machine's speed: the trial has far more epochs than the test lets it train.
. "$(dirname "$0")/lib/prologue.sh"
FAIL_FAST=1
cd "$TMP" || exit 1
sweep=
at_exit '[ -n "$sweep" ] && kill "$sweep" 2>/dev/null && wait "$sweep"'
COMMON="--model mlp --limit-train 3000 --limit-test 200 --batch-size 20 --threads 1 --seed 5"

# waits up to $2 s for the shell condition $1
wait_for() {
    end=$(($(date +%s) + $2))
    until eval "$1"; do
        [ "$(date +%s)" -le "$end" ] || fatal "waited $2 s for: $1"
        sleep 0.1
    done
}

"$VGGTOP" sweep --runs rs --method random --trials 2 $COMMON --epochs 500 --lr log:1e-3:1e-1 >rs.log 2>&1 &
sweep=$!
wait_for "grep -q '^Epoch 1/' rs.log" 60
"$VGGTOP" ctl rs pause >pause.out 2>&1 || fatal "ctl pause exited $? ($(cat pause.out))"
grep -q '^rs: paused' pause.out || fail "ctl pause said: $(cat pause.out)"
grep -q '"paused":[[:space:]]*true' rs/sweep.json || fail "sweep.json does not say paused: $(cat rs/sweep.json)"
wait_for "grep -q '\"paused\"' rs/trial-001/progress.json" 30
grep -q '^Paused: no trial starts' rs.log || fail "the sweep's log does not say it paused"

"$VGGTOP" ctl rs more 2 >more.out 2>&1 || fatal "ctl more exited $? ($(cat more.out))"
grep -q '^rs: 2 more trials, 4 in all' more.out || fail "ctl more said: $(cat more.out)"
python3 -c 'import json,sys; j=json.load(open("rs/sweep.json")); sys.exit(not (j["trials"] == 4 and len(j["states"]) == 4 and j["states"][2:] == ["pending"] * 2))' ||
    fail "the plan did not grow: $(cat rs/sweep.json)"
[ -e rs/trial-002 ] && fail "a trial started while the sweep was paused"

"$VGGTOP" ctl rs resume >resume.out 2>&1 || fatal "ctl resume exited $? ($(cat resume.out))"
grep -q '^rs: resumed' resume.out || fail "ctl resume said: $(cat resume.out)"
wait_for "grep -q '\"training\"' rs/trial-001/progress.json" 30
grep -q '"paused":[[:space:]]*false' rs/sweep.json || fail "sweep.json still says paused"

"$VGGTOP" ctl rs stop >stop.out 2>&1 || fatal "ctl stop exited $? ($(cat stop.out))"
grep -q '^rs: stopping' stop.out || fail "ctl stop said: $(cat stop.out)"
wait "$sweep"; rc=$?
sweep=
[ "$rc" -eq 143 ] || fail "the stopped sweep exited $rc"
grep -q '"running"' rs/sweep.json || fail "the stopped trial is not left running for --resume: $(cat rs/sweep.json)"
[ -s rs/trial-001/checkpoint.bin ] || fail "the stopped trial has no checkpoint"

# No sweep runs: pause refuses; more grows the plan itself, for --resume.
expect_usage_error "no sweep runs in this folder" "$VGGTOP" ctl rs pause
"$VGGTOP" ctl rs more 1 >more2.out 2>&1 || fatal "offline more exited $? ($(cat more2.out))"
grep -q '^rs: 1 more trials, 5 in all; vggtop sweep --resume rs runs them' more2.out || fail "offline more: $(cat more2.out)"

# A grid refuses more (its trials are its lists' product).
"$VGGTOP" sweep --runs grid $COMMON --epochs 1 --limit-train 200 --lr 0.05,0.01 >grid.log 2>&1 || fatal "grid exited $?"
expect_usage_error "a grid's trials are every combination" "$VGGTOP" ctl grid more 2

# Two resumes at once: the second refuses while the first runs. A command left in the channel by an earlier
# session (here a stop) is not taken by the resumed sweep.
printf '{"seq": 99, "command": "stop", "n": 0}\n' >rs/commands.json
"$VGGTOP" sweep --resume rs >r1.log 2>&1 &
sweep=$!
wait_for "grep -q '^Trial 1/5 (resumed)' r1.log" 30
expect_usage_error "rs" "$VGGTOP" sweep --resume rs
"$VGGTOP" ctl rs stop >/dev/null 2>&1 || fail "ctl stop of the resumed sweep exited $?"
wait "$sweep"
sweep=

# A half-written sweep.json (cut off mid-write): refused, naming it, by every reader.
mkdir half && head -c 60 rs/sweep.json >half/sweep.json
expect_usage_error "half/sweep.json" "$VGGTOP" sweep --resume half
expect_usage_error "half/sweep.json" "$VGGTOP" sweep --status half
expect_usage_error "half/sweep.json" "$VGGTOP" ctl half more 1
finish
