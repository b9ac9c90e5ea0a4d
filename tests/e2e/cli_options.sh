#!/bin/sh
# End-to-end: the front end's options before a command. `vggtop --ascii watch RUN_DIR` used to fail with
# "unexpected argument 'watch'"; it now means `vggtop watch --ascii RUN_DIR` (here without a terminal, so
# it gets as far as saying the front end needs one). Any other word there says that a command comes first.
# watch's options may follow its RUN_DIR, as README's `vggtop watch RUN --image cat.jpg` puts them.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
FAIL_FAST=1
tmp=$TMP

"$VGGTOP" --ascii watch "$tmp" </dev/null >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] || fail "--ascii watch exited $rc: $(cat "$tmp/err")"
grep -q "unexpected argument" "$tmp/err" && fail "--ascii watch: $(cat "$tmp/err")"
grep -q "needs a terminal\|not a run directory" "$tmp/err" || fail "--ascii watch: $(cat "$tmp/err")"

for pre in "" --ascii; do
    "$VGGTOP" $pre watch "$tmp" --image "$tmp/cat.jpg" --ascii </dev/null >/dev/null 2>"$tmp/err"; rc=$?
    [ $rc -eq 2 ] || fail "$pre watch RUN --image exited $rc: $(cat "$tmp/err")"
    grep -q "needs a terminal\|not a run directory" "$tmp/err" || fail "$pre watch RUN --image: $(cat "$tmp/err")"
done

"$VGGTOP" --ascii train --model mlp >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] || fail "--ascii train exited $rc"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "--ascii train: $(cat "$tmp/err")"
grep -q "unexpected argument 'train' (a command comes first" "$tmp/err" || fail "--ascii train: $(cat "$tmp/err")"
echo "qa_cli.sh: ok"
